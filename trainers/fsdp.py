"""Fully sharded data parallel (FSDP2) for models that do not fit on one device.

Under ``torchrun`` with ``trainer.parallel=fsdp`` a trainer shards its models with
:func:`torch.distributed.fsdp.fully_shard` instead of replicating them in DDP: each rank holds
``1/world_size`` of every parameter, gradient and optimizer moment, and a layer's full weights
exist only while that layer runs (they are all-gathered before its forward and backward passes
and freed after). What this costs the callers:

* Every forward pass of a sharded module is a collective, so every rank must run the same
  passes in the same order, measuring passes without gradients included (the trainers pad the
  ranks with fewer micro-batches with passes whose results they drop, as for DDP's backward
  passes: :func:`~agentgym.trainers.distributed.lockstep`).
* The optimizer must be built after sharding (it then holds the shards).
* Models are read from disk by rank 0 alone (:func:`load_sharded`): the other ranks build
  theirs on the meta device, and rank 0 broadcasts one tensor at a time, each rank keeping its
  shards. No GPU holds a whole model, and only rank 0's machine holds a whole copy (in CPU
  memory, while loading).
* Checkpoints stay in the single-process format, so a run can move between one process, DDP and
  FSDP: :func:`full_state_dict` and :func:`full_optimizer_state` gather whole tensors (to rank 0's
  CPU, one tensor at a time) and :func:`load_optimizer_state` cuts a whole saved state into this
  rank's shards.

Example (every rank runs this)::

    model = load_sharded(path, device_mesh("cuda"))  # rank 0 reads; shards on each GPU
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ...                                     # the same forward/backward passes on every rank
    weights = full_state_dict(model)        # whole tensors on rank 0, {} elsewhere
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentgym.trainers.distributed import current

__all__ = ["PARALLEL", "device_mesh", "full_optimizer_state", "full_state_dict", "is_sharded",
           "load_optimizer_state", "load_sharded", "shard_model"]

#: ``trainer.parallel`` settings: replicate the models (DDP) or shard them (FSDP).
PARALLEL = ("ddp", "fsdp")


def device_mesh(device_type: str):
    """A one-dimensional mesh of every rank, on ``cpu`` (gloo) or ``cuda`` (each rank's current
    device)."""
    from torch.distributed.device_mesh import init_device_mesh

    return init_device_mesh(device_type, (current().world_size,))


def shard_model(model, mesh, *, layer_classes: Iterable[str] | None = None):
    """Shard ``model`` in place over ``mesh`` (see :func:`device_mesh`), moving the shards to
    its device: each block named in ``layer_classes`` (default: the model's
    ``_no_split_modules``, the decoder layers of a transformers model) is its own FSDP unit, and
    the root holds what is left (embeddings, final norm, head).

    Returns ``model`` (whose class is now an FSDP subclass of its own; its parameters are
    ``DTensor`` shards).
    """
    from torch.distributed.fsdp import fully_shard

    names = set(layer_classes if layer_classes is not None
                else getattr(model, "_no_split_modules", None) or ())
    blocks = [m for m in model.modules() if m is not model and type(m).__name__ in names]
    for block in blocks:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def load_sharded(path, mesh, *, state: dict[str, Any] | None = None):
    """The causal LM at ``path`` (a transformers folder or hub id), sharded over ``mesh``, read
    by rank 0 alone: the other ranks build the model on the meta device (no memory), and rank 0
    broadcasts the weights, each rank keeping its shards, then every buffer (rotary tables and
    other buffers a checkpoint does not hold). Call it on every rank.

    Args:
        path: Checkpoint to load.
        mesh: From :func:`device_mesh`.
        state: Weights rank 0 loads over the checkpoint's (e.g. a trained critic's), or None.
    """
    import torch
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
    from transformers import AutoConfig, AutoModelForCausalLM

    main = current().is_main
    if main:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
        if state is not None:
            model.load_state_dict(state)
        whole = model.state_dict()  # kept alive past sharding: what rank 0 sends
    else:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(path)),
                                                     dtype=torch.float32)
        whole = {}
    shard_model(model, mesh)
    if not main:
        device = ("cpu" if mesh.device_type == "cpu"
                  else torch.device(mesh.device_type, torch.cuda.current_device()))
        model.to_empty(device=device)
    set_model_state_dict(model, whole, options=StateDictOptions(full_state_dict=True,
                                                                broadcast_from_rank0=True))
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)
    return model


def is_sharded(module) -> bool:
    """Whether ``module`` holds FSDP shards (``DTensor`` parameters)."""
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in module.parameters())


def _whole(value, keep: bool):
    """A ``DTensor``'s full value (a collective: every rank must call it) on the CPU when
    ``keep``, else ``None``; other values as they are (when ``keep``)."""
    from torch.distributed.tensor import DTensor

    if isinstance(value, DTensor):
        value = value.full_tensor()
        return value.detach().cpu() if keep else None
    if not keep:
        return None
    return value.detach() if hasattr(value, "detach") else value


def full_state_dict(module) -> dict[str, Any]:
    """``module.state_dict()`` with whole tensors, on rank 0; ``{}`` on the other ranks.

    A collective when ``module`` is sharded: call it on every rank. Tensors are gathered one at
    a time to the CPU, so no rank holds more than one whole tensor beyond its shards on its
    device. Tied parameters come back as one tensor under each of their names, as
    ``state_dict`` gives them (so ``save_pretrained`` writes them once).
    """
    keep = current().is_main
    out, seen = {}, {}
    for name, value in module.state_dict(keep_vars=True).items():  # tied: the same object
        if id(value) not in seen:  # tied weights (embeddings and head) stay one tensor
            seen[id(value)] = _whole(value, keep)
        if keep:
            out[name] = seen[id(value)]
    return out


def full_optimizer_state(optimizer) -> dict[str, Any] | None:
    """``optimizer.state_dict()`` with whole tensors (the single-process format, loadable by
    ``load_state_dict`` of an unsharded optimizer), on rank 0; ``None`` on the other ranks.

    A collective when the optimizer holds shards: call it on every rank."""
    keep = current().is_main
    saved = optimizer.state_dict()  # its per-parameter dicts are the optimizer's own: copy
    state = {index: {key: _whole(saved["state"][index][key], keep)
                     for key in sorted(saved["state"][index])}
             for index in sorted(saved["state"])}
    return {**saved, "state": state} if keep else None


def load_optimizer_state(optimizer, saved: dict[str, Any]) -> None:
    """Load ``saved`` (single-process format, whole tensors; the same on every rank) into an
    optimizer over FSDP shards: each moment is cut like its parameter."""
    import torch
    from torch.distributed.tensor import DTensor, distribute_tensor

    params = [p for group in optimizer.param_groups for p in group["params"]]

    def cut(param, value):
        if (isinstance(param, DTensor) and torch.is_tensor(value)
                and tuple(value.shape) == tuple(param.shape)):
            # every rank read the same file: cut locally, no communication
            return distribute_tensor(value.to(param.device), param.device_mesh,
                                     param.placements, src_data_rank=None)
        return value

    state = {index: {key: cut(params[index], value) for key, value in entry.items()}
             for index, entry in saved["state"].items()}
    optimizer.load_state_dict({**saved, "state": state})
