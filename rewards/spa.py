"""SPA: stepwise progress attribution.

A progress estimator (the shared PRM, :mod:`agentgym.rewards.prm`) gives each step a
contribution ``c_i`` from what the agent had seen and done up to and including that step. It is
fitted so that the contributions of an episode add up to the episode's outcome:
``loss = (sum_i c_i - R) ** 2`` averaged over episodes, with ``R`` = 1 for a won episode and 0
otherwise (``outcome="success"``) or the episode's total env reward (``outcome="return"``).
Nothing else constrains the single steps: the redistribution of the delayed reward over them is
what the estimator learns across many episodes.

The step reward is ``c_i + grounding_weight * g_i`` where ``g_i`` is 1 when the env executed the
action (``info["valid_action"]``) and 0 otherwise: the grounding term rewards acting within what
the environment allows.

Example:
    >>> spa = SPA(grounding_weight=0.5)                               # doctest: +SKIP
    >>> spa.fit(trajectories); spa.score(trajectories)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agentgym.rewards.learned import (
    Example,
    LearnedConfig,
    LearnedRewarder,
    check_outcome,
    fit_model,
    steps_of,
)
from agentgym.types import Trajectory

__all__ = ["SPA", "SPAConfig", "episode_outcome", "grounding"]



@dataclass(kw_only=True)
class SPAConfig(LearnedConfig):
    """Config of :class:`SPA`."""

    grounding_weight: float = 0.5
    """Weight ``w`` of the grounding term (1 per executed action) in the step reward."""
    outcome: str = "success"
    """What the contributions add up to: ``success`` (1 or 0) or ``return`` (sum of rewards)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_outcome(self.outcome)


def episode_outcome(traj: Trajectory, outcome: str = "success") -> float:
    """``R`` of an episode: 1.0 / 0.0 by success, or the sum of its env rewards."""
    if outcome == "success":
        return 1.0 if traj.success else 0.0
    return float(sum(s.reward for s in traj.steps))


def grounding(traj: Trajectory) -> np.ndarray:
    """1.0 for each step whose action the env executed (``info["valid_action"]``), else 0.0."""
    return np.array([1.0 if s.valid else 0.0 for s in traj.steps])


class SPA(LearnedRewarder):
    """Stepwise progress attribution (see the module docstring).

    Args:
        name: Key of its rewards in ``step.rewards`` (default ``spa``).
        path: Load an estimator saved by :meth:`save` (its settings come with it).
        **settings: :class:`SPAConfig` fields.
    """

    kind = "spa"
    config_class = SPAConfig
    trained_with = ("outcome",)

    def fit(self, trajectories: Sequence[Trajectory]) -> list[dict[str, float]]:
        """Fit the contributions of each episode to its outcome; returns the losses."""
        import torch

        c = self.config
        trajectories = steps_of(trajectories)
        prm = self._model_for(trajectories)
        examples = [Example(chunks=prm.encode_episode(t), n_steps=len(t.steps),
                            targets={"R": episode_outcome(t, c.outcome)}) for t in trajectories]

        def loss_fn(batch, outputs):
            sums = torch.stack([out[1, :, 0].sum() for out in outputs])
            target = torch.tensor([ex.targets["R"] for ex in batch], dtype=sums.dtype,
                                  device=sums.device)
            return ((sums - target) ** 2).mean()

        return fit_model(prm, examples, loss_fn, c.fit, desc="spa")

    def contributions(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """The estimator's per-step contributions ``c_i``."""
        return [o[1, :, 0].astype(np.float64) for o in self.outputs(trajectories)]

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        w = self.config.grounding_weight
        return [c + w * grounding(t)
                for c, t in zip(self.contributions(trajectories), trajectories)]
