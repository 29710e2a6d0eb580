"""PAV: process advantages under a prover policy (Setlur et al., "Rewarding Progress").

A step is rewarded by how much it changes a *prover* policy's chance of success: the advantage
``A_mu(s_i, a_i) = Q_mu(s_i, a_i) - V_mu(s_i)`` of the prover ``mu``, evaluated on the policy's
own states and actions. With rewards only at the end of an episode,
``Q_mu(s_i, a_i) = gamma * V_mu(s_{i+1})`` for every step but the last, whose Q is its outcome
(1 for a won episode, 0 for a lost one; for a cut-off episode the model's Q estimate).

``V_mu`` is the shared PRM read at the last token before each action, trained (soft-label BCE)
on Monte Carlo targets from the prover's rollouts *branched from the policy's states*
(:func:`~agentgym.rewards.agentprm.branch_rollouts`): the replayed policy steps before a branch
carry no loss, every state where the prover acted does, and branches from the same state share
their targets. A prover a little different from the policy (e.g. a best-of-K version of it, or a
noisy expert) gives advantages that tell good steps from bad ones where the policy's own values
would not.

Example:
    >>> pav = PAV(gamma=0.95, branches=4)                             # doctest: +SKIP
    >>> pav.fit(policy_rollouts, prover=prover_policy)
    >>> rewards = pav.score(policy_rollouts)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agentgym.errors import ConfigError
from agentgym.rewards.agentprm import AgentPRM, AgentPRMConfig, branch_rollouts
from agentgym.rewards.learned import steps_of
from agentgym.types import Trajectory

__all__ = ["PAV", "PAVConfig", "process_advantages"]


@dataclass(kw_only=True)
class PAVConfig(AgentPRMConfig):
    """Config of :class:`PAV`: AgentPRM's fields plus the branching of the prover."""

    branches: int = 4
    """Prover rollouts from each sampled state."""
    starts_per_episode: int = 4
    """States sampled per policy episode to branch from."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.branches < 1:
            raise ConfigError("reward.branches", f"must be >= 1, got {self.branches}.", "use 4.")
        if self.starts_per_episode < 1:
            raise ConfigError("reward.starts_per_episode",
                              f"must be >= 1, got {self.starts_per_episode}.", "use 4.")


def process_advantages(v: np.ndarray, last_q: float, gamma: float) -> np.ndarray:
    """``A_i = gamma * v[i + 1] - v[i]`` for all but the last step, ``last_q - v[-1]`` there."""
    v = np.asarray(v, dtype=np.float64)
    if v.size == 0:
        return v
    q = np.empty_like(v)
    q[:-1] = gamma * v[1:]
    q[-1] = last_q
    return q - v


class PAV(AgentPRM):
    """Process advantage verifier (see the module docstring).

    Args:
        name: Key of its rewards in ``step.rewards`` (default ``pav``).
        path: Load a model saved by :meth:`save` (its settings come with it).
        **settings: :class:`PAVConfig` fields.
    """

    kind = "pav"
    config_class = PAVConfig

    def fit(self, trajectories: Sequence[Trajectory], prover=None,
            *, rollout_config=None) -> list[dict[str, float]]:
        """Branch ``prover`` rollouts from states of ``trajectories`` (the policy's) and fit
        the prover's values there; returns the losses.

        ``trajectories`` that already are prover branches (their replayed steps marked
        ``meta["prefix"]``) are used as they are when ``prover`` is ``None``.
        """
        c = self.config
        trajectories = steps_of(trajectories)
        if prover is not None:
            trajectories = branch_rollouts(prover, trajectories, branches=c.branches,
                                           starts_per_episode=c.starts_per_episode,
                                           seed=c.fit.seed, config=rollout_config)
        weights = [np.array([0.0 if s.meta.get("prefix") else 1.0 for s in t.steps])
                   for t in trajectories]
        if not any(w.any() for w in weights):
            raise ConfigError("reward.fit", "no prover steps to fit on.",
                              "pass prover=<policy>, or trajectories from branch_rollouts.")
        return self._fit(trajectories, weights, desc="pav")

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        q, v = self.values(trajectories)
        out = []
        for traj, qi, vi in zip(trajectories, q, v):
            if not traj.steps:
                out.append(np.zeros(0))
                continue
            last = traj.steps[-1]
            last_q = (1.0 if traj.success else 0.0) if last.terminated else float(qi[-1])
            out.append(process_advantages(vi, last_q, self.config.gamma))
        return out
