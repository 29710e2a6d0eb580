"""What the learned step rewarders share: training settings, the training loop, saving.

Each learned rewarder (AgentPRM, InversePRM, SPA, the checklist judge) is a
:class:`LearnedRewarder`: it owns a :class:`~agentgym.rewards.prm.ProcessRewardModel`, builds it
on its first ``fit`` (a tiny model when ``model.path`` is null), and saves it as a Hugging Face
folder plus ``agentgym_reward.json`` (which rewarder, with which settings), from which
``load(path)`` rebuilds the rewarder. Its loss is a function of the head's outputs on each
example's steps, handed to :func:`fit_model`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agentgym.errors import ConfigError
from agentgym.rewards.prm import Chunk, PRMModelConfig, ProcessRewardModel
from agentgym.types import Trajectory

__all__ = [
    "Example",
    "FitConfig",
    "LearnedConfig",
    "LearnedRewarder",
    "OUTCOMES",
    "check_outcome",
    "fit_model",
    "read_reward_meta",
    "steps_of",
    "write_reward_meta",
]

log = logging.getLogger(__name__)

REWARD_META = "agentgym_reward.json"
"""File next to a saved PRM naming the rewarder that wrote it and its settings."""


@dataclass(kw_only=True)
class FitConfig:
    """How a PRM is trained (the same fields for every learned rewarder)."""

    epochs: float = 3.0
    """Passes over the fitting data (fractions allowed)."""
    max_steps: int = 0
    """Stop after this many optimizer steps; 0 runs ``epochs``."""
    max_minutes: float = 0.0
    """Stop after this much training time; 0 means no limit."""
    batch_size: int = 8
    """Examples (episodes, or episode-item pairs) per optimizer step."""
    lr: float = 1e-3
    """Peak learning rate (AdamW). For a pretrained backbone try 1e-5."""
    warmup_steps: int = 10
    """Linear warmup, then a cosine decay to 0."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    clip_grad: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    batch_tokens: int = 16384
    """Most tokens (padding included) in one forward pass; longer batches are split."""
    seed: int = 0
    """Seed of the data order and the tiny model's initialisation."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self) -> None:
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError("reward.fit.epochs", "give epochs > 0 or max_steps > 0.", "use 3.")
        for name in ("max_steps", "max_minutes", "warmup_steps", "weight_decay", "clip_grad"):
            if getattr(self, name) < 0:
                raise ConfigError(f"reward.fit.{name}", f"must be >= 0, got {getattr(self, name)}.")
        for name in ("batch_size", "batch_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"reward.fit.{name}", f"must be >= 1, got {getattr(self, name)}.")
        if not self.lr > 0:
            raise ConfigError("reward.fit.lr", f"must be > 0, got {self.lr}.", "try 1e-3.")


@dataclass(kw_only=True)
class LearnedConfig:
    """Fields every learned rewarder's config has; sections given as mappings become configs."""

    model: PRMModelConfig = field(default_factory=PRMModelConfig)
    """The PRM's backbone and input layout."""
    fit: FitConfig = field(default_factory=FitConfig)
    """Training settings."""

    def __post_init__(self) -> None:
        if isinstance(self.model, Mapping):
            self.model = PRMModelConfig(**self.model)
        if isinstance(self.fit, Mapping):
            self.fit = FitConfig(**self.fit)


OUTCOMES = ("success", "return")
"""What a rewarder's targets are made of: ``success`` (1 or 0) or ``return`` (env rewards)."""


def check_outcome(outcome: str) -> None:
    """A clear error when ``outcome`` is not one of :data:`OUTCOMES`."""
    if outcome not in OUTCOMES:
        raise ConfigError("reward.outcome", f"{outcome!r} is not an outcome.",
                          f"use one of: {', '.join(OUTCOMES)}.")


# --- the training loop ------------------------------------------------------------------------


def fit_model(
    prm: ProcessRewardModel,
    examples: Sequence[Any],
    loss_fn: Callable[[Sequence[Any], Sequence[Any]], Any],
    config: FitConfig,
    *,
    desc: str = "fit",
) -> list[dict[str, float]]:
    """Train ``prm`` on ``examples`` with ``loss_fn``; returns the per-step losses.

    Each example has ``chunks`` (its :class:`Chunk` list) and ``n_steps``; ``loss_fn(batch,
    outputs)`` gets the batch's examples and, for each, the ``(2, n_steps, num_labels)`` output
    tensor (state and action positions) and returns the mean loss of the batch. AdamW, linear
    warmup then cosine to 0, gradient clipping, a progress bar; stops at ``epochs``,
    ``max_steps`` or ``max_minutes``, whichever comes first.
    """
    import torch
    from tqdm.auto import tqdm

    from agentgym.trainers.sft_data import lr_factor

    if not examples:
        raise ConfigError("reward.fit", "no examples to fit on.", "collect trajectories first.")
    model = prm.model
    model.train()
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = config.max_steps or max(1, math.ceil(per_epoch * config.epochs))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    rng = np.random.default_rng(config.seed)
    history: list[dict[str, float]] = []
    started, order, cursor = time.perf_counter(), [], 0
    bar = tqdm(total=total, desc=desc, disable=not config.progress)
    for step in range(total):
        used = (time.perf_counter() - started) / (60 * config.max_minutes) \
            if config.max_minutes else 0.0
        if used >= 1.0:
            log.info("%s: stopping at step %d of %d (max_minutes reached)", desc, step, total)
            break
        factor = lr_factor(step, warmup_steps=config.warmup_steps, total_steps=total,
                           schedule="cosine", time_used=used)
        for group in optimizer.param_groups:
            group["lr"] = config.lr * factor
        if cursor + config.batch_size > len(order):
            order, cursor = rng.permutation(len(examples)).tolist(), 0
        batch = [examples[k] for k in order[cursor:cursor + config.batch_size]]
        cursor += config.batch_size
        chunks = [c for ex in batch for c in ex.chunks]
        outs = prm.forward(chunks, batch_tokens=config.batch_tokens)
        outputs, at = [], 0
        for ex in batch:
            outputs.append(prm.step_outputs(ex.chunks, outs[at:at + len(ex.chunks)],
                                            ex.width or ex.n_steps))
            at += len(ex.chunks)
        loss = loss_fn(batch, outputs)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
        optimizer.step()
        history.append({"step": step + 1, "loss": float(loss.item()), "lr": config.lr * factor})
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    model.eval()
    return history


@dataclass
class Example:
    """One fitting example: an episode's chunks plus the targets a loss reads.

    The loss sees a ``(2, width, num_labels)`` output tensor: slot ``k`` holds the outputs of
    the chunk positions whose step index is ``k`` (the episode's steps are ``0 .. n_steps - 1``;
    extra chunks may fill slots after them, as InversePRM's sampled next actions do).
    """

    chunks: list[Chunk]
    n_steps: int
    targets: dict[str, Any] = field(default_factory=dict)
    width: int = 0
    """Output slots; 0 means ``n_steps``."""


def write_reward_meta(path: str | Path, kind: str, settings: dict[str, Any]) -> None:
    """Write ``agentgym_reward.json`` (the rewarder's name and settings) into ``path``."""
    Path(path, REWARD_META).write_text(json.dumps({"rewarder": kind, **settings}, indent=2))


def read_reward_meta(path: str | Path, kind: str) -> dict[str, Any]:
    """Settings in ``path/agentgym_reward.json``; a clear error when it is not a ``kind`` PRM."""
    file = Path(path, REWARD_META)
    if not file.exists():
        raise ConfigError("reward.path", f"{str(path)!r} has no {REWARD_META}.",
                          f"give a folder written by the {kind} rewarder's save().")
    meta = json.loads(file.read_text())
    if meta.get("rewarder") != kind:
        raise ConfigError("reward.path", f"{str(path)!r} holds a {meta.get('rewarder')!r} "
                          f"reward model, not {kind!r}.", f"load it with {meta.get('rewarder')}.")
    return {k: v for k, v in meta.items() if k != "rewarder"}


class LearnedRewarder:
    """Base of the rewarders that own a trained :class:`ProcessRewardModel`.

    Subclasses set ``kind`` (the name saved with the model), ``config_class`` (a dataclass with
    ``model`` and ``fit`` fields) and ``num_labels``, and implement ``fit`` and ``score``.

    Args:
        name: Key of its rewards in ``step.rewards``.
        path: Load a rewarder saved by :meth:`save`; its settings come with it. ``settings``
            given here replace them, except the model's and ``trained_with``'s.
        **settings: Fields of ``config_class``.
    """

    kind: ClassVar[str] = ""
    config_class: ClassVar[type] = object
    num_labels: ClassVar[int] = 1
    trained_with: ClassVar[tuple[str, ...]] = ()
    """Settings that defined the training targets: a loaded model keeps its saved values
    (``model`` always does, except its device and dtype)."""

    def __init__(self, *, name: str | None = None, path: str | None = None, **settings: Any):
        self.name = name or self.kind
        self.prm: ProcessRewardModel | None = None
        if path:
            saved = read_reward_meta(path, self.kind)
            runtime = {k: v for k, v in dict(settings.pop("model", None) or {}).items()
                       if k in ("device", "dtype")}
            saved["model"] = {**saved.get("model", {}), **runtime, "path": str(path)}
            for key in self.trained_with:
                if key in settings and settings[key] != saved.get(key):
                    log.warning("reward.%s=%r ignored: the model in %s was trained with %r",
                                key, settings[key], path, saved.get(key))
                    settings.pop(key)
            if isinstance(settings.get("fit"), Mapping):
                settings["fit"] = {**saved.get("fit", {}), **settings["fit"]}
            self.config = self.config_class(**{**saved, **settings})
            self.prm = ProcessRewardModel.load(path, config=self.config.model)
        else:
            self.config = self.config_class(**settings)

    def _model_for(self, trajectories: Sequence[Trajectory]) -> ProcessRewardModel:
        """The model, built on the first call (a tiny one trains its tokenizer on these)."""
        if self.prm is None:
            self.prm = ProcessRewardModel.build(self.config.model, num_labels=self.num_labels,
                                                trajectories=trajectories,
                                                seed=self.config.fit.seed)
        return self.prm

    def _model(self) -> ProcessRewardModel:
        if self.prm is None:
            raise ConfigError("reward", f"the {self.kind} model has not been fitted or loaded.",
                              "call fit(...) first, or give path=<folder written by save()>.")
        return self.prm

    def outputs(self, trajectories: Sequence[Trajectory], *,
                goal: str | None = None) -> list[np.ndarray]:
        """Head outputs ``(2, n_steps, num_labels)`` per trajectory (state, action positions)."""
        prm = self._model()
        encoded = [prm.encode_episode(t, goal=goal) for t in trajectories]
        return prm.score_episodes(encoded, [len(t.steps) for t in trajectories],
                                  batch_tokens=self.config.fit.batch_tokens)

    def save(self, path: str | Path) -> Path:
        """Save the model (Hugging Face format) and the settings to ``path``."""
        path = self._model().save(path)
        write_reward_meta(path, self.kind, asdict(self.config))
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any):
        """A rewarder saved by :meth:`save` (``overrides`` replace saved settings)."""
        return cls(path=str(path), **overrides)


def steps_of(trajectories: Sequence[Trajectory]) -> list[Trajectory]:
    """The trajectories that have steps; a clear error when there are none."""
    kept = [t for t in trajectories if t.steps]
    if not kept:
        raise ConfigError("reward.fit", "no trajectories with steps to fit on.",
                          "collect rollouts first (agentgym collect).")
    return kept
