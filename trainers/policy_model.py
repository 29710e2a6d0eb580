"""What the RL trainers share about the policy they train: loading it, saving it, its optimizer.

:class:`PolicyModelTrainer` loads a causal-LM checkpoint in float32 on the configured device
(autocast to bfloat16 on cuda by default), with its tokenizer and the prompt format it acts with;
:meth:`~PolicyModelTrainer.save_policy` writes a folder that loads back as a policy
(``policy=hf policy.path=...``) and as a trainer that continues with the same optimizer state.

Under ``torchrun`` (see :mod:`agentgym.trainers.distributed`) :meth:`~PolicyModelTrainer._ddp`
wraps a model in :class:`~torch.nn.parallel.DistributedDataParallel` for the backward passes, or
the models are sharded (:mod:`agentgym.trainers.fsdp`), and
:meth:`~PolicyModelTrainer.save_policy` writes on rank 0 only, in the single-process format
either way.
"""

from __future__ import annotations

import functools
from pathlib import Path

from agentgym.policies.hf import resolve_device
from agentgym.prompts import checkpoint_format, save_prompt_settings
from agentgym.trainers.distributed import barrier, current, wrap_ddp
from agentgym.trainers.fsdp import (
    device_mesh,
    full_optimizer_state,
    full_state_dict,
    is_sharded,
    load_optimizer_state,
    load_sharded,
)

__all__ = ["OPTIMIZER_FILE", "PolicyModelTrainer", "last_hidden_module"]

OPTIMIZER_FILE = "optimizer.pt"
"""The optimizer state saved next to a trained policy."""


class PolicyModelTrainer:
    """Base of the trainers that update a policy model (PPO, online DPO)."""

    def _load_policy(self, model_path: str | Path, device: str, dtype: str, *,
                     sharded: bool = False) -> None:
        """Set ``model_path``, ``device``, ``autocast_dtype``, ``tokenizer``, ``format``,
        ``pad_id``, ``mesh`` (``None`` unless ``sharded``) and ``model`` (float32 weights,
        train mode; sharded over ``mesh`` when ``sharded``, see
        :func:`~agentgym.trainers.fsdp.load_sharded`)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_path = str(model_path)
        device, dtype = resolve_device(device, dtype)
        self.device, self.autocast_dtype = torch.device(device), getattr(torch, dtype)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.format = checkpoint_format(self.model_path)
        self.pad_id = (self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
                       else self.tokenizer.eos_token_id)
        self.mesh = device_mesh(self.device.type) if sharded else None
        if sharded:
            self.model = load_sharded(self.model_path, self.mesh)
        else:
            self.model = AutoModelForCausalLM.from_pretrained(
                self.model_path, dtype=torch.float32).to(self.device)

    def _restore_optimizer(self) -> None:
        """Load ``self.optimizer``'s state when the checkpoint was saved by a trainer (cut into
        this rank's shards when the model is sharded)."""
        import torch

        saved = Path(self.model_path) / OPTIMIZER_FILE
        if not saved.exists():
            return
        state = torch.load(saved, weights_only=False)
        if is_sharded(self.model):
            load_optimizer_state(self.optimizer, state)
        else:
            self.optimizer.load_state_dict(state)

    def _ddp(self, module, *, find_unused: bool = False):
        """``module`` wrapped in ``DistributedDataParallel`` when more than one process trains,
        else ``module`` (:func:`~agentgym.trainers.distributed.wrap_ddp`)."""
        return wrap_ddp(module, self.device, find_unused=find_unused)

    def save_policy(self, folder: str | Path) -> Path:
        """The policy (HF folder + prompt settings) and the optimizer state.

        Under ``torch.distributed`` call it on every rank: rank 0 writes, the others wait for it.
        """
        folder = Path(folder)
        state = self._gathered_state()
        if current().is_main:
            self._write_policy(folder, *state)
        barrier()
        return folder

    def _gathered_state(self) -> tuple[dict | None, dict | None]:
        """The policy's weights and the optimizer state as whole tensors on rank 0, gathered
        from the shards (a collective: every rank calls it); ``(None, None)`` when the model is
        not sharded (then they are read from the model and the optimizer as they are)."""
        if not is_sharded(self.model):
            return None, None
        return full_state_dict(self.model), full_optimizer_state(self.optimizer)

    def _write_policy(self, folder: Path, weights: dict | None = None,
                      optimizer_state: dict | None = None) -> None:
        """Write the policy folder (whatever the rank), from ``weights`` and
        ``optimizer_state`` when given (see :meth:`_gathered_state`)."""
        import torch

        self.model.save_pretrained(str(folder), state_dict=weights)
        self.tokenizer.save_pretrained(str(folder))
        save_prompt_settings(folder, self.format)
        torch.save(optimizer_state if optimizer_state is not None
                   else self.optimizer.state_dict(), folder / OPTIMIZER_FILE)


def last_hidden_module(model):
    """A :class:`torch.nn.Module` around the causal LM ``model`` (sharing its parameters) whose
    output is the last hidden state ``(N, L, H)`` only: a DDP wrapper of it (with
    ``find_unused_parameters``) sees exactly the parameters a value head on it trains, not an
    untied ``lm_head`` whose logits nobody reads."""
    return _last_hidden_class()(model)


@functools.cache
def _last_hidden_class() -> type:
    import torch  # made on first use: no torch when agentgym is imported

    class LastHidden(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              output_hidden_states=True).hidden_states[-1]

    return LastHidden
