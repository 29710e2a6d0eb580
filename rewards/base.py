"""Step rewarders: the protocol, the env's own reward, and a weighted composite.

Rewarders score *batches of trajectories* (learned PRMs must batch, Monte Carlo targets need many
rollouts), writing one value per step. :func:`apply_rewarders` stores them on the steps under each
rewarder's name, so every term stays visible for logging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from agentgym.errors import ConfigError
from agentgym.types import Trajectory

__all__ = [
    "StepRewarder",
    "OutcomeReward",
    "OutcomeRewardConfig",
    "Composite",
    "CompositeConfig",
    "apply_rewarders",
]


@runtime_checkable
class StepRewarder(Protocol):
    """Gives every step of every trajectory a scalar reward.

    Attributes:
        name: Key under which the reward is stored in ``step.rewards``.
    """

    name: str

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """One float array per trajectory, of length ``len(trajectory.steps)``."""
        ...


@dataclass(kw_only=True)
class OutcomeRewardConfig:
    """Config of :class:`OutcomeReward`."""

    mode: str = "env"
    """``env``: the env's own step rewards; ``sparse``: 1.0 on the last step of a won episode."""

    def __post_init__(self) -> None:
        if self.mode not in ("env", "sparse"):
            raise ConfigError("reward.mode", f"{self.mode!r} is not a mode.", "use env or sparse.")


class OutcomeReward:
    """The environment's reward as a step reward.

    Args:
        mode: ``env`` keeps the env's per-step rewards (including its named sub-terms);
            ``sparse`` pays 1.0 on the last step of a won episode and 0 elsewhere.
    """

    name = "outcome"

    def __init__(self, *, mode: str = "env") -> None:
        OutcomeRewardConfig(mode=mode)
        self.mode = mode

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        out = []
        for traj in trajectories:
            if self.mode == "env":
                values = np.array([s.reward for s in traj.steps], dtype=np.float64)
            else:
                values = np.zeros(len(traj.steps), dtype=np.float64)
                if traj.success and traj.steps:
                    values[-1] = 1.0
            out.append(values)
        return out


@dataclass(kw_only=True)
class CompositeConfig:
    """Config of :class:`Composite`."""

    weights: dict[str, float] = field(default_factory=dict)
    """Weight of each rewarder by name (missing names weigh 1.0)."""
    normalize: str = "none"
    """``none``, or ``zscore``: standardise each term over the batch's steps before weighting."""

    def __post_init__(self) -> None:
        if self.normalize not in ("none", "zscore"):
            raise ConfigError(
                "reward.normalize", f"{self.normalize!r} is not allowed.", "use none or zscore."
            )


class Composite:
    """A weighted sum of rewarders that keeps every term.

    ``score`` returns the weighted sum; :func:`apply_rewarders` with a composite also writes each
    part (unweighted, under its own name) and the sum (under ``name``) onto the steps.

    Args:
        rewarders: The parts.
        weights: Weight by rewarder name; names not given weigh 1.0.
        normalize: ``zscore`` standardises each part over all steps of the batch first.
        name: Key of the combined reward.
    """

    def __init__(
        self,
        rewarders: Sequence[StepRewarder],
        *,
        weights: Mapping[str, float] | None = None,
        normalize: str = "none",
        name: str = "total",
    ) -> None:
        CompositeConfig(weights=dict(weights or {}), normalize=normalize)
        names = [r.name for r in rewarders]
        if len(set(names)) != len(names):
            raise ConfigError("reward.rewarders", f"names must be unique, got {names}.")
        unknown = set(weights or {}) - set(names)
        if unknown:
            raise ConfigError(
                "reward.weights",
                f"weights name rewarders that are not in the composite: {sorted(unknown)}.",
                f"use names among {names}.",
            )
        self.rewarders = list(rewarders)
        self.weights = {n: float((weights or {}).get(n, 1.0)) for n in names}
        self.normalize = normalize
        self.name = name

    def terms(self, trajectories: Sequence[Trajectory]) -> dict[str, list[np.ndarray]]:
        """Each part's (normalised, unweighted) per-step values, by name."""
        out = {}
        for rewarder in self.rewarders:
            values = [np.asarray(v, dtype=np.float64) for v in rewarder.score(trajectories)]
            _check_shapes(rewarder.name, values, trajectories)
            if self.normalize == "zscore":
                values = _zscore(values)
            out[rewarder.name] = values
        return out

    def combine(self, terms: Mapping[str, list[np.ndarray]]) -> list[np.ndarray]:
        """The weighted sum of ``terms``."""
        parts = list(terms.items())
        total = [np.zeros_like(v) for v in parts[0][1]] if parts else []
        for name, values in parts:
            for acc, v in zip(total, values):
                acc += self.weights[name] * v
        return total

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        return self.combine(self.terms(trajectories))


def _zscore(values: list[np.ndarray]) -> list[np.ndarray]:
    flat = np.concatenate(values) if values else np.zeros(0)
    if flat.size < 2:
        return values
    mean, std = flat.mean(), flat.std()
    return [(v - mean) / (std + 1e-8) for v in values]


def _check_shapes(name: str, values: list[np.ndarray], trajectories: Sequence[Trajectory]) -> None:
    if len(values) != len(trajectories):
        raise ValueError(f"Rewarder {name!r} returned {len(values)} arrays for {len(trajectories)}.")
    for i, (v, t) in enumerate(zip(values, trajectories)):
        if v.shape != (len(t.steps),):
            raise ValueError(
                f"Rewarder {name!r} gave shape {v.shape} for trajectory {i} of {len(t.steps)} steps."
            )


def apply_rewarders(
    trajectories: Sequence[Trajectory], rewarders: Sequence[StepRewarder]
) -> list[Trajectory]:
    """Score ``trajectories`` with each rewarder and store the values in ``step.rewards``.

    A :class:`Composite` stores each of its parts and its total. Returns the same trajectories.
    """
    for rewarder in rewarders:
        if isinstance(rewarder, Composite):
            terms = rewarder.terms(trajectories)
            named = {**terms, rewarder.name: rewarder.combine(terms)}
        else:
            values = [np.asarray(v, dtype=np.float64) for v in rewarder.score(trajectories)]
            _check_shapes(rewarder.name, values, trajectories)
            named = {rewarder.name: values}
        for name, values in named.items():
            for traj, v in zip(trajectories, values):
                for step, x in zip(traj.steps, v):
                    step.rewards[name] = float(x)
    return list(trajectories)
