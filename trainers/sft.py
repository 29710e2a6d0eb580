"""Behaviour cloning (SFT) on demonstration trajectories.

Every step of every trajectory is trained on exactly as :class:`~agentgym.policies.HFPolicy`
acts on it: the prompt it renders for that step (same format, same history, same chat template,
via :func:`~agentgym.policies.hf.fit_prompt`) followed by the tokenized ``step.raw_output`` and
eos. Labels are ``-100`` on the prompt, so the loss is on the action tokens only.

Packing: when a step's prompt starts with the previous step's whole sequence (prompt, output,
eos), as with ``history_style=chat``, the step is appended to that sequence instead of starting a
new one, so one forward pass trains every action of an episode. The check is on token ids, so a
packed sequence is token for token what the policy sees at each of its steps.

The maths are pure functions (:func:`build_samples`, :func:`make_batches`, :func:`collate`,
:func:`masked_nll`, :func:`lr_factor`); :class:`SFTTrainer` is the short loop around them, with
metrics in ``out_dir/metrics.csv`` and resumable checkpoints in ``out_dir/checkpoint-<step>/``.

Data parallel (``torchrun``, see :mod:`agentgym.trainers.distributed`): every rank builds the
same samples and walks the same micro-batches; each micro-batch's samples are split among the
ranks, and each rank runs its share through a ``DistributedDataParallel`` wrapper of the model, so
``batch_size`` and ``grad_accum`` keep their meaning and an optimizer step on ``N`` ranks equals
the single-process step up to float rounding (a rank left without samples in a micro-batch runs a
zero-weight pass, so that every rank takes part in the same collectives). Rank 0's clock decides
when ``max_minutes`` is reached; rank 0 alone writes ``metrics.csv`` and the checkpoints (the
others wait for each save) and computes ``loss/eval``. With ``parallel=fsdp`` the model, its
gradients and the optimizer state are sharded over the ranks instead
(:mod:`agentgym.trainers.fsdp`); checkpoints keep the single-process format.

torch and transformers are imported when a trainer is built, never when agentgym is imported.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.hf import DTYPES, resolve_device
from agentgym.prompts import HISTORY_STYLES, ReActFormat, save_prompt_settings
from agentgym.trainers.distributed import (
    DistInfo,
    all_gather_objects,
    barrier,
    current,
    lockstep,
    no_sync,
    shard,
    wrap_ddp,
)
from agentgym.trainers.fsdp import (
    PARALLEL,
    device_mesh,
    full_optimizer_state,
    full_state_dict,
    load_optimizer_state,
    load_sharded,
)
from agentgym.trainers.sft_data import (
    IGNORE,
    Sample,
    build_samples,
    collate,
    count_labels,
    lr_factor,
    make_batches,
    masked_nll,
    step_input,
)
from agentgym.types import Trajectory

__all__ = [
    "IGNORE",
    "SFTConfig",
    "SFTTrainer",
    "Sample",
    "build_samples",
    "collate",
    "lr_factor",
    "make_batches",
    "masked_nll",
    "step_input",
]

log = logging.getLogger(__name__)

_SCHEDULES = ("cosine", "constant")
_COLUMNS = ("step", "loss/sft", "lr", "tokens", "loss/eval")


@dataclass(kw_only=True)
class SFTConfig:
    """Config of :class:`SFTTrainer`."""

    lr: float = 1e-4
    """Peak learning rate of AdamW."""
    epochs: int = 1
    """Passes over the samples (ignored when ``max_steps`` > 0)."""
    max_steps: int = 0
    """Optimizer steps to run; 0 means as many as ``epochs`` passes take."""
    max_minutes: float = 0.0
    """Stop after this much training time (and save), even before ``max_steps``; 0: no limit.
    The cosine schedule follows whichever is further along, steps or time, so it reaches its
    end at ``max_steps`` or at ``max_minutes``, whichever comes first."""
    batch_size: int = 8
    """Samples per micro-batch."""
    grad_accum: int = 1
    """Micro-batches per optimizer step."""
    max_tokens: int = 1024
    """Longest sample (prompt + target); old history turns are dropped first to fit."""
    history_turns: int = 8
    """Past turns shown in each prompt (as ``policy.history_turns`` at acting time)."""
    think: bool = True
    """Prompts ask for a ``Thought:`` line (as ``policy.think`` at acting time)."""
    history_style: str = "inline"
    """``inline`` or ``chat`` history (see :mod:`agentgym.prompts`); ``chat`` packs episodes."""
    max_admissible: int = 50
    """Most admissible actions listed in each prompt; 0 lists none."""
    goal_every_turn: bool = False
    """``chat`` history: restate the goal in every user message."""
    goal_position: str = "before"
    """Where user messages state the goal: ``before`` or ``after`` the observation."""
    successful_only: bool = False
    """Train only on steps of successful trajectories."""
    schedule: str = "cosine"
    """``cosine`` (linear warmup then cosine decay to 0) or ``constant`` (warmup then flat)."""
    warmup_steps: int = 0
    """Optimizer steps of linear warmup from 0 to ``lr``."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    clip_grad: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    seed: int = 0
    """Seed of the data order and of torch's random stream."""
    bucket: int = 8
    """Batches per length bucket: samples are sorted by length within ``bucket`` batches."""
    save_every: int = 0
    """Save a checkpoint every this many optimizer steps; 0 only saves at the end."""
    eval_every: int = 0
    """Compute ``loss/eval`` on the eval trajectories every this many steps; 0 disables."""
    log_every: int = 1
    """Write a metrics row every this many optimizer steps."""
    out_dir: str = "runs/sft"
    """Folder for ``metrics.csv`` and ``checkpoint-<step>/`` folders."""
    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ..."""
    dtype: str = "auto"
    """Autocast dtype: ``auto`` (bfloat16 on cuda, float32 on cpu) or a dtype name; weights
    and optimizer state stay float32."""
    progress: bool = True
    """Show a tqdm progress bar."""
    parallel: str = "ddp"
    """Under ``torchrun``: ``ddp`` (a whole model per rank) or ``fsdp`` (the model, gradients
    and optimizer state sharded over the ranks, for models that do not fit one device)."""

    def prompt_format(self) -> ReActFormat:
        """The prompt format the policy is trained (and will act) with."""
        return ReActFormat(think=self.think, history_turns=self.history_turns,
                           history_style=self.history_style, max_admissible=self.max_admissible,
                           goal_every_turn=self.goal_every_turn,
                           goal_position=self.goal_position)

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "grad_accum", "max_tokens", "log_every", "bucket")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"trainer.{name}", f"must be >= 1, got {getattr(self, name)}.")
        not_negative = ("max_steps", "max_minutes", "history_turns", "warmup_steps", "weight_decay",
                        "clip_grad", "save_every", "eval_every", "max_admissible")
        for name in not_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"trainer.{name}", f"must be >= 0, got {getattr(self, name)}.")
        if not self.lr > 0:
            raise ConfigError("trainer.lr", f"must be > 0, got {self.lr}.", "try 1e-5 to 1e-3.")
        if self.history_style not in HISTORY_STYLES:
            raise ConfigError("trainer.history_style", f"{self.history_style!r} is not a style.",
                              f"use one of: {', '.join(HISTORY_STYLES)}.")
        if self.schedule not in _SCHEDULES:
            raise ConfigError("trainer.schedule", f"{self.schedule!r} is not a schedule.",
                              f"use one of: {', '.join(_SCHEDULES)}.")
        if self.parallel not in PARALLEL:
            raise ConfigError("trainer.parallel", f"{self.parallel!r} is not allowed.",
                              f"use one of: {', '.join(PARALLEL)}.")
        if self.dtype not in DTYPES:
            raise ConfigError("trainer.dtype", f"{self.dtype!r} is not a dtype.",
                              f"use one of: {', '.join(DTYPES)}.")
        if not self.out_dir:
            raise ConfigError("trainer.out_dir", "must not be empty.", "give a folder path.")


# --- the trainer -------------------------------------------------------------------------------


class SFTTrainer:
    """Behaviour cloning of a transformers causal LM on demonstration trajectories.

    Each optimizer step sums the token NLL over ``grad_accum`` micro-batches and divides by the
    step's number of target tokens, so the loss is the same whatever the accumulation split.
    ``train(resume=True)`` continues from the newest ``checkpoint-<step>`` in ``out_dir``
    (weights, optimizer, scheduler, RNG states and data position) and gives the same losses as
    an uninterrupted run.

    Under ``torchrun`` build it and call :meth:`train` on every rank with the same arguments
    (see the module docstring): the ranks share each step's work, rank 0 writes the files.

    Args:
        model_path: Checkpoint folder (or hub id) loaded with ``from_pretrained``.
        trajectories: Demonstrations.
        config: Training settings.
        eval_trajectories: Held-out demonstrations for ``loss/eval``.
    """

    def __init__(
        self,
        model_path: str | Path,
        trajectories: Sequence[Trajectory],
        config: SFTConfig | None = None,
        *,
        eval_trajectories: Sequence[Trajectory] | None = None,
    ) -> None:
        from transformers import AutoTokenizer

        self.config = c = config or SFTConfig()
        self.model_path = str(model_path)
        self.out_dir = Path(c.out_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.format = c.prompt_format()
        kw = {"max_tokens": c.max_tokens, "successful_only": c.successful_only}
        self.samples = build_samples(trajectories, self.tokenizer, self.format, **kw)
        if not self.samples:
            raise ConfigError("trainer.trajectories", "no training samples (no steps).",
                              "pass trajectories with steps (e.g. from `agentgym collect`).")
        self.eval_samples = (build_samples(eval_trajectories, self.tokenizer, self.format, **kw)
                             if eval_trajectories else [])
        self.pad_id = (self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
                       else self.tokenizer.eos_token_id)
        per_epoch = math.ceil(len(self.samples) / c.batch_size)
        self.total_steps = c.max_steps or math.ceil(per_epoch * c.epochs / c.grad_accum)
        self.device, self.autocast_dtype = _device_and_dtype(c)
        self.dist = current()
        self.sharded = self.dist.distributed and c.parallel == "fsdp"

    # --- data order ----------------------------------------------------------------------------

    def _micro_batches(self, position: int):
        """Micro-batches (lists of samples) from global position ``position`` on, forever."""
        c, lengths = self.config, [len(s) for s in self.samples]
        per_epoch = math.ceil(len(self.samples) / c.batch_size)
        epoch, offset = divmod(position, per_epoch)
        while True:
            batches = make_batches(lengths, c.batch_size, seed=c.seed, epoch=epoch, bucket=c.bucket)
            for b in batches[offset:]:
                yield [self.samples[i] for i in b]
            epoch, offset = epoch + 1, 0

    # --- the loop ------------------------------------------------------------------------------

    def train(self, *, resume: bool = False) -> Path:
        """Run to ``total_steps`` optimizer steps; returns the final checkpoint folder."""
        from tqdm.auto import tqdm

        c, main = self.config, self.dist.is_main
        if main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        last = latest_checkpoint(self.out_dir) if resume else None
        self._seconds = 0.0
        model, optimizer, scheduler = self._build(last or self.model_path)
        runner = self._data_parallel(model)
        state: dict[str, Any] = {"step": 0, "position": 0, "tokens": 0, "seconds": 0.0}
        if last is not None:
            state = self._restore(last, optimizer, scheduler)
            self._seconds = state["seconds"]
            log.info("resuming from %s (step %d)", last, state["step"])
        else:
            _seed_everything(c.seed)
        metrics = _Metrics(self.out_dir, keep_until=state["step"]) if main else _NoMetrics()
        data = self._micro_batches(state["position"])
        bar = tqdm(total=self.total_steps, initial=state["step"],
                   disable=not c.progress or not main, desc="sft")
        final = None
        while state["step"] < self.total_steps and not self._out_of_time(state):
            started = time.perf_counter()
            micro = [next(data) for _ in range(c.grad_accum)]
            loss, tokens = self._optimizer_step(runner, optimizer, micro)
            state["seconds"] += time.perf_counter() - started
            if self.dist.distributed:  # the step's sums over the ranks; rank 0's clock rules
                parts = all_gather_objects((loss, tokens, state["seconds"]))
                loss, tokens = sum(p[0] for p in parts), sum(p[1] for p in parts)
                state["seconds"] = parts[0][2]
            self._seconds = state["seconds"]
            scheduler.step()  # after the clock moved: a time budget can end the cosine
            state["step"] += 1
            state["position"] += len(micro)
            state["tokens"] += tokens
            step = state["step"]
            row: dict[str, Any] = {"step": step, "loss/sft": loss, "tokens": state["tokens"],
                                   "lr": optimizer.param_groups[0]["lr"]}
            # a sharded model's forward passes need every rank: then all of them evaluate
            if (c.eval_every and self.eval_samples and step % c.eval_every == 0
                    and (main or self.sharded)):
                row["loss/eval"] = self.evaluate(model)
            last_step = step == self.total_steps or self._out_of_time(state)
            if step % c.log_every == 0 or last_step:
                metrics.write(row)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            if last_step or (c.save_every and step % c.save_every == 0):
                final = self._save(model, optimizer, scheduler, state)
            if step < self.total_steps and last_step:
                log.info("stopping at step %d of %d: trainer.max_minutes=%g reached", step,
                         self.total_steps, c.max_minutes)
        bar.close()
        metrics.close()
        return final or (last if last is not None else self.out_dir)

    @property
    def _time_used(self) -> float:
        """Share of ``max_minutes`` spent so far (0 without a time budget)."""
        minutes = self.config.max_minutes
        return self._seconds / (60 * minutes) if minutes else 0.0

    def _out_of_time(self, state: dict[str, Any]) -> bool:
        minutes = self.config.max_minutes
        return bool(minutes) and state["seconds"] >= 60 * minutes

    def _optimizer_step(self, model, optimizer, micro) -> tuple[float, int]:
        """One optimizer step over the micro-batches ``micro``; returns this process's part of
        the step's loss and of its tokens (all of them in a single process)."""
        import torch

        n_labels = max(1, sum(count_labels(b) for b in micro))
        total, tokens = 0.0, 0
        for samples, weight, sync in self._passes(micro):
            batch = {k: v.to(self.device) for k, v in collate(samples, self.pad_id).items()}
            with contextlib.nullcontext() if sync else no_sync([model]):
                with torch.autocast(self.device.type, dtype=self.autocast_dtype,
                                    enabled=self.autocast_dtype != torch.float32):
                    logits = model(input_ids=batch["input_ids"],
                                   attention_mask=batch["attention_mask"]).logits
                loss = masked_nll(logits, batch["labels"], reduction="sum") / n_labels
                (loss * weight).backward()
            if weight:
                total += loss.item()
                tokens += int(batch["attention_mask"].sum())
        if self.config.clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.clip_grad)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return total, tokens

    def _passes(self, micro: list[list[Sample]]) -> list[tuple[list[Sample], float, bool]]:
        """This process's forward/backward passes of an optimizer step: (samples, loss weight,
        whether the backward pass syncs the gradients).

        In a single process: each micro-batch, weight 1. Under torch.distributed: this rank's
        shard of each micro-batch, weight ``world_size`` (DDP averages the ranks' gradients while
        the step's loss is their sum), padded with zero-weight passes to the most any rank has
        (every rank can count them, holding every micro-batch); only the last pass syncs."""
        if not self.dist.distributed:
            return [(samples, 1.0, True) for samples in micro]
        world = self.dist.world_size
        plans = [[part for samples in micro
                  if (part := shard(samples, DistInfo(rank=r, world_size=world)))]
                 for r in range(world)]
        return [(part, float(world), last) if part is not None else (micro[0][:1], 0.0, last)
                for part, last in lockstep(plans[self.dist.rank], max(map(len, plans)))]

    def evaluate(self, model) -> float:
        """Mean per-token NLL of the eval samples."""
        import torch

        total, count = 0.0, 0
        model.eval()
        with torch.no_grad():
            for start in range(0, len(self.eval_samples), self.config.batch_size):
                part = self.eval_samples[start:start + self.config.batch_size]
                batch = {k: v.to(self.device) for k, v in collate(part, self.pad_id).items()}
                logits = model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"]).logits
                total += masked_nll(logits, batch["labels"], reduction="sum").item()
                count += count_labels(part)
        model.train()
        return total / max(1, count)

    # --- building, saving, restoring -----------------------------------------------------------

    def _build(self, path: str | Path):
        import torch
        from transformers import AutoModelForCausalLM

        if self.sharded:  # read by rank 0, each rank given its shards
            model = load_sharded(path, device_mesh(self.device.type))
        else:
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
            model.to(self.device)
        model.train()
        c = self.config
        optimizer = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)

        def factor(step: int) -> float:
            return lr_factor(step, warmup_steps=c.warmup_steps, total_steps=self.total_steps,
                             schedule=c.schedule, time_used=self._time_used)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return model, optimizer, scheduler

    def _data_parallel(self, model):
        """``model`` wrapped in ``DistributedDataParallel`` under torch.distributed (its
        constructor gives every rank rank 0's weights), else ``model`` itself (a sharded model
        syncs its own gradients)."""
        return model if self.sharded else wrap_ddp(model, self.device)

    def _save(self, model, optimizer, scheduler, state: dict[str, int]) -> Path:
        """Write ``checkpoint-<step>`` (rank 0 only; under torch.distributed the others wait)."""
        folder = self.out_dir / f"checkpoint-{state['step']}"
        weights = optimizer_state = None
        if self.sharded:  # whole tensors gathered to rank 0 (every rank joins)
            weights, optimizer_state = full_state_dict(model), full_optimizer_state(optimizer)
        if self.dist.is_main:
            self._write_checkpoint(folder, model, optimizer, scheduler, state, weights,
                                   optimizer_state)
        barrier()
        return folder

    def _write_checkpoint(self, folder: Path, model, optimizer, scheduler,
                          state: dict[str, int], weights: dict | None = None,
                          optimizer_state: dict | None = None) -> None:
        import torch

        model.save_pretrained(str(folder), state_dict=weights)
        self.tokenizer.save_pretrained(str(folder))
        save_prompt_settings(folder, self.format)  # so policies act with the trained prompt
        torch.save({
            **state,
            "optimizer": (optimizer_state if optimizer_state is not None
                          else optimizer.state_dict()),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_states(),
            "config": asdict(self.config),
        }, folder / "trainer_state.pt")
        log.info("saved %s", folder)

    def _restore(self, folder: Path, optimizer, scheduler) -> dict[str, int]:
        import torch

        saved = torch.load(folder / "trainer_state.pt", weights_only=False)
        if self.sharded:
            load_optimizer_state(optimizer, saved["optimizer"])
        else:
            optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        _set_rng_states(saved["rng"])
        state = {k: int(saved[k]) for k in ("step", "position", "tokens")}
        state["seconds"] = float(saved.get("seconds", 0.0))
        return state


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The ``checkpoint-<step>`` folder with the highest step and a ``trainer_state.pt``."""
    found = []
    for p in Path(out_dir).glob("checkpoint-*"):
        suffix = p.name.removeprefix("checkpoint-")
        if suffix.isdigit() and (p / "trainer_state.pt").exists():
            found.append((int(suffix), p))
    return max(found)[1] if found else None


class _Metrics:
    """Rows appended to ``metrics.csv`` (and to TensorBoard when it is installed).

    On resume, rows after the restored step (written before an interruption) are dropped.
    """

    def __init__(self, out_dir: Path, *, keep_until: int) -> None:
        self.path = out_dir / "metrics.csv"
        rows = []
        if keep_until and self.path.exists():
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= keep_until]
        self.file = self.path.open("w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=_COLUMNS)
        self.writer.writeheader()
        self.writer.writerows(rows)
        self.file.flush()
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out_dir / "tb"))
        except Exception:  # tensorboard is optional: no writer, no noise
            self.tb = None

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow({k: row.get(k, "") for k in _COLUMNS})
        self.file.flush()
        if self.tb is not None:
            for k, v in row.items():
                if k != "step":
                    self.tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


class _NoMetrics:
    """What ranks other than 0 write: nothing."""

    def write(self, row: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def _device_and_dtype(c: SFTConfig):
    import torch

    device, dtype = resolve_device(c.device, c.dtype)
    return torch.device(device), getattr(torch, dtype)


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _rng_states() -> dict[str, Any]:
    import torch

    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.random.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _set_rng_states(states: dict[str, Any]) -> None:
    import torch

    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.random.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
