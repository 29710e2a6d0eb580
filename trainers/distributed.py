"""Data-parallel training under ``torchrun``: the few helpers the trainers share.

The trainers run as ordinary ``torch.distributed`` programs: ``torchrun`` starts one process per
device and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`init_distributed` reads them and joins the process group (``gloo`` on CPU, ``nccl`` on
CUDA); the models are wrapped in :class:`torch.nn.parallel.DistributedDataParallel`, which
averages their gradients. Everything here is a no-op in a single process (no ``torchrun``, or no
initialised process group), so library code calls these helpers unconditionally.

Example::

    info = init_distributed()                     # DistInfo(rank=0, world_size=1) without torchrun
    trainer = PPOTrainer(path, config)            # wraps its models in DDP when world_size > 1
    metrics = trainer.update(shard(trajectories, info))
    trainer.save(out)                             # rank 0 writes, the others wait
    destroy()
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from agentgym.errors import ConfigError

__all__ = ["BACKENDS", "DistInfo", "all_gather_objects", "all_reduce_mean", "all_reduce_sum",
           "barrier", "broadcast_object", "current", "destroy", "distributed", "init_distributed",
           "is_distributed", "lockstep", "no_sync", "shard", "wrap_ddp"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Process-group backends: ``gloo`` (CPU, also works with CUDA tensors) and ``nccl`` (CUDA).
BACKENDS = ("gloo", "nccl")
_LAUNCH = ("launch with `torchrun --nproc_per_node=N ...` (or `python -m torch.distributed.run`), "
           "which sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT")


@dataclass(frozen=True, kw_only=True)
class DistInfo:
    """Where this process stands in a data-parallel job."""

    rank: int = 0
    """Global rank of this process, ``0 <= rank < world_size``."""
    world_size: int = 1
    """Number of processes in the job."""
    local_rank: int = 0
    """Rank on this machine (the CUDA device index it uses)."""

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the process that writes files and logs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DistInfo:
        """Read ``torchrun``'s variables; a single process when ``WORLD_SIZE`` is not set.

        Raises:
            ConfigError: A partial or inconsistent set of variables (e.g. ``WORLD_SIZE`` without
                ``RANK``, or ``RANK >= WORLD_SIZE``).
        """
        env = os.environ if environ is None else environ
        if "WORLD_SIZE" not in env:
            if "RANK" in env:
                raise ConfigError("WORLD_SIZE", f"RANK={env['RANK']} is set but WORLD_SIZE is "
                                  "not.", _LAUNCH + "; or unset RANK to run one process.")
            return cls()
        world = _int_var(env, "WORLD_SIZE")
        if world < 1:
            raise ConfigError("WORLD_SIZE", f"must be >= 1, got {world}.", _LAUNCH + ".")
        if world == 1 and "RANK" not in env:
            return cls()
        for name in ("RANK", "LOCAL_RANK"):
            if name not in env:
                raise ConfigError(name, f"WORLD_SIZE={world} is set but {name} is not.",
                                  _LAUNCH + "; or unset WORLD_SIZE to run one process.")
        rank, local = _int_var(env, "RANK"), _int_var(env, "LOCAL_RANK")
        if not 0 <= rank < world:
            raise ConfigError("RANK", f"must be in [0, {world}) with WORLD_SIZE={world}, got "
                              f"{rank}.", _LAUNCH + ".")
        if not 0 <= local <= rank:
            raise ConfigError("LOCAL_RANK", f"must be in [0, RANK={rank}], got {local}.",
                              _LAUNCH + ".")
        return cls(rank=rank, world_size=world, local_rank=local)


def _int_var(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {env[name]!r}.", _LAUNCH + ".") from None


def is_distributed() -> bool:
    """Whether a process group with more than one process is initialised."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def current() -> DistInfo:
    """This process's place in the initialised process group (single process when none)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def init_distributed(backend: str | None = None, *, device: str = "auto",
                     timeout_s: float | None = None) -> DistInfo:
    """Join the process group ``torchrun`` set up; a no-op without ``torchrun``.

    Args:
        backend: ``gloo`` or ``nccl``; ``None`` picks ``nccl`` when the job runs on CUDA and
            ``gloo`` otherwise.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``: the device the trainers use
            (as their ``device`` setting). On CUDA each process takes ``cuda:LOCAL_RANK``.
        timeout_s: Collective timeout (torch's default when ``None``).

    Returns:
        This process's :class:`DistInfo` (``world_size == 1`` when not launched by torchrun, and
        then no process group is created).

    Raises:
        ConfigError: Bad launch variables, an unknown backend, or ``nccl`` without CUDA.
    """
    import torch
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return current()
    info = DistInfo.from_env()
    if not info.distributed:
        return info
    if not dist.is_available():
        raise ConfigError("backend", "this torch build has no torch.distributed.",
                          "install a torch build with distributed support.")
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise ConfigError(name, f"WORLD_SIZE={info.world_size} is set but {name} is not.",
                              _LAUNCH + ".")
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    backend = backend or ("nccl" if cuda else "gloo")
    if backend not in BACKENDS:
        raise ConfigError("backend", f"{backend!r} is not allowed.",
                          f"use one of: {', '.join(BACKENDS)}.")
    if backend == "nccl" and not (cuda and torch.cuda.is_available()
                                  and dist.is_nccl_available()):
        raise ConfigError("backend", "nccl needs CUDA devices and a torch build with NCCL.",
                          "use backend=gloo (CPU), or run on CUDA devices.")
    if cuda and torch.cuda.is_available():  # one device per process: cuda:LOCAL_RANK
        torch.cuda.set_device(info.local_rank)
    kwargs: dict[str, Any] = {"timeout": timedelta(seconds=timeout_s)} if timeout_s else {}
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size,
                            **kwargs)
    log.info("rank %d of %d joined the %s process group", info.rank, info.world_size, backend)
    return info


def destroy() -> None:
    """Leave the process group (no-op when none is initialised).

    Objects still holding communicators (FSDP states and device meshes live in reference
    cycles) are collected first: left to the interpreter's exit, they are freed after the
    process group and can abort the process ("terminate called without an active exception").
    """
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


@contextlib.contextmanager
def distributed(backend: str | None = None, *, device: str = "auto") -> Iterator[DistInfo]:
    """:func:`init_distributed` for a ``with`` block, then :func:`destroy`."""
    info = init_distributed(backend, device=device)
    try:
        yield info
    finally:
        destroy()


def shard(items: Sequence[T], info: DistInfo | None = None) -> list[T]:
    """This rank's contiguous share of ``items``.

    Shard sizes differ by at most one (the first ``len(items) % world_size`` ranks get one more),
    and the shards concatenated in rank order give back ``items``, so an update on the shards is
    an update on the whole list.

    Args:
        items: What to split (the same list on every rank).
        info: The rank to cut for (default: :func:`current`).
    """
    info = info or current()
    base, extra = divmod(len(items), info.world_size)
    start = info.rank * base + min(info.rank, extra)
    return list(items[start:start + base + (info.rank < extra)])


def lockstep(steps: Sequence[T], count: int) -> list[tuple[T | None, bool]]:
    """This rank's ``steps`` padded with ``None`` to ``count`` (the most any rank has), each with
    whether it is the last one.

    Every DDP backward pass is a collective, so every rank must run as many: a rank runs a
    zero-weight pass for each ``None``, and accumulates gradients without syncing (:func:`no_sync`)
    in all but the last pass.
    """
    if count < len(steps):
        raise ValueError(f"count={count} is below this rank's {len(steps)} steps")
    padded: list[T | None] = [*steps, *[None] * (count - len(steps))]
    return [(step, i == count - 1) for i, step in enumerate(padded)]


@contextlib.contextmanager
def no_sync(modules: Iterable[Any] | None) -> Iterator[None]:
    """``DistributedDataParallel.no_sync`` of every DDP wrapper in ``modules`` at once (``None``
    entries and plain modules are skipped): backward passes accumulate without syncing."""
    with contextlib.ExitStack() as stack:
        for module in modules or ():
            if hasattr(module, "no_sync"):
                stack.enter_context(module.no_sync())
        yield


def wrap_ddp(module, device, *, find_unused: bool = False):
    """``module`` in ``DistributedDataParallel`` when more than one process trains (its backward
    passes then average the gradients over the ranks), else ``module`` itself.

    The wrapper shares ``module``'s parameters; its constructor copies rank 0's values to every
    rank. Buffers (rotary tables, ...) are constants in the trainers, so they are not broadcast.
    ``device`` is the :class:`torch.device` the module is on (on CUDA, its index is the DDP
    device).
    """
    if not is_distributed():
        return module
    import torch
    from torch.nn.parallel import DistributedDataParallel

    ids = None
    if device.type == "cuda":
        ids = [device.index if device.index is not None else torch.cuda.current_device()]
    return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False,
                                   find_unused_parameters=find_unused)


def barrier() -> None:
    """Wait until every rank gets here (no-op in a single process)."""
    import torch.distributed as dist

    if is_distributed():
        dist.barrier()


def broadcast_object(obj: T, src: int = 0) -> T:
    """``src``'s ``obj`` on every rank (any picklable object; ``obj`` itself in one process)."""
    import torch.distributed as dist

    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj``, in rank order (``[obj]`` in one process)."""
    import torch.distributed as dist

    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(metrics: Mapping[str, float]) -> dict[str, float]:
    """Each key summed over the ranks that have it (same result, same order, on every rank)."""
    out: dict[str, float] = {}
    for part in all_gather_objects(dict(metrics)):
        for key, value in part.items():
            out[key] = out.get(key, 0.0) + float(value)
    return out


def all_reduce_mean(metrics: Mapping[str, float]) -> dict[str, float]:
    """Each key averaged over the ranks that have it (same result on every rank)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for part in all_gather_objects(dict(metrics)):
        for key, value in part.items():
            sums[key] = sums.get(key, 0.0) + float(value)
            counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}
