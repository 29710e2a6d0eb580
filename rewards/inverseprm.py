"""InversePRM: a process reward learned from demonstrations alone, with no outcome label.

The model is a Q function (the shared PRM, read at each action's last token). The reward of a
transition ``(s, a, s')`` is ``r(s, a) = Q(s, a) - gamma * Q(s', a')`` with ``a'`` the policy's
action in ``s'``, and ``Q(s', .) = 0`` after the episode's last step. ``r`` is trained as the
logit of a classifier (logistic loss) that tells expert transitions (positives, from the
demonstrations) from the policy's (negatives: the current policy's rollouts and every earlier
batch handed to :meth:`InversePRM.fit`). Call ``fit`` again after each policy update with the new
policy's rollouts: the negatives accumulate and training continues from the current model.

For the demonstrations, ``a'`` is sampled from the ``policy`` given to ``fit``; without one, the
demonstration's own next action stands in (then ``r`` telescopes along expert episodes). For
the policy's rollouts ``a'`` is the rollout's own next action, which the policy chose. Scoring a
trajectory uses its own next actions too.

Example:
    >>> irl = InversePRM()                                            # doctest: +SKIP
    >>> irl.fit(demonstrations, policy_rollouts, policy=policy)
    >>> rewards = irl.score(policy_rollouts)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.rewards.learned import Example, LearnedConfig, LearnedRewarder, fit_model, steps_of
from agentgym.rewards.prm import Chunk
from agentgym.types import Trajectory

__all__ = ["InversePRM", "InversePRMConfig", "transition_rewards"]


@dataclass(kw_only=True)
class InversePRMConfig(LearnedConfig):
    """Config of :class:`InversePRM`."""

    gamma: float = 0.95
    """Discount in ``r = Q(s, a) - gamma * Q(s', a')``."""
    max_negatives: int = 0
    """Most policy trajectories kept (the newest); 0 keeps every batch ever given."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError("reward.gamma", f"must be in [0, 1], got {self.gamma}.", "use 0.95.")
        if self.max_negatives < 0:
            raise ConfigError("reward.max_negatives", f"must be >= 0, got {self.max_negatives}.")


def transition_rewards(q: np.ndarray, q_next: np.ndarray, gamma: float) -> np.ndarray:
    """``r_i = q_i - gamma * q_next_i`` where ``q_next_i = Q(s_{i+1}, a'_{i+1})`` (0 at the end)."""
    return np.asarray(q, dtype=np.float64) - gamma * np.asarray(q_next, dtype=np.float64)


class InversePRM(LearnedRewarder):
    """Inverse PRM (see the module docstring).

    Args:
        name: Key of its rewards in ``step.rewards`` (default ``inverseprm``).
        path: Load a model saved by :meth:`save` (its settings come with it).
        **settings: :class:`InversePRMConfig` fields.
    """

    kind = "inverseprm"
    config_class = InversePRMConfig
    trained_with = ("gamma",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.negatives: list[Trajectory] = []

    def fit(
        self,
        demonstrations: Sequence[Trajectory],
        policy_trajectories: Sequence[Trajectory] = (),
        *,
        policy=None,
    ) -> list[dict[str, float]]:
        """One round: add ``policy_trajectories`` to the negatives and train; returns losses.

        Args:
            demonstrations: Expert trajectories (positives).
            policy_trajectories: The current policy's rollouts (negatives, kept for later rounds).
            policy: Samples ``a'`` in the demonstrations' next states (any
                :class:`~agentgym.policies.Policy`); without it the demonstrations' own next
                actions are used.
        """
        import torch

        c = self.config
        demonstrations = steps_of(demonstrations)
        self.negatives += [t for t in policy_trajectories if t.steps]
        if c.max_negatives:
            self.negatives = self.negatives[-c.max_negatives:]
        if not self.negatives:
            raise ConfigError("reward.fit", "InversePRM needs policy trajectories (negatives).",
                              "pass the current policy's rollouts as policy_trajectories.")
        prm = self._model_for([*demonstrations, *self.negatives])
        examples = [self._example(prm, t, 1.0, policy) for t in demonstrations]
        examples += [self._example(prm, t, 0.0, None) for t in self.negatives]
        bce = torch.nn.functional.binary_cross_entropy_with_logits

        def loss_fn(batch, outputs):
            total, count = 0.0, 0
            for ex, out in zip(batch, outputs):
                q = out[1, : ex.n_steps, 0]
                q_next = torch.zeros_like(q)
                if "next" in ex.targets:  # a' sampled: the extra chunks' positions
                    q_next[:-1] = out[1, ex.n_steps:, 0]
                else:
                    q_next[:-1] = q[1:]
                r = q - c.gamma * q_next
                total = total + bce(r, torch.full_like(r, ex.targets["label"]), reduction="sum")
                count += ex.n_steps
            return total / max(1, count)

        return fit_model(prm, examples, loss_fn, c.fit, desc="inverseprm")

    def _example(self, prm, traj: Trajectory, label: float, policy) -> Example:
        """The episode's chunks; with ``policy``, one more chunk per step scoring ``a'``."""
        chunks = prm.encode_episode(traj)
        n = len(traj.steps)
        if policy is None or n < 2:
            return Example(chunks=chunks, n_steps=n, targets={"label": label})
        inputs = [traj.agent_input(i) for i in range(1, n)]
        sampled = [out.action for out in policy.act(inputs)]
        extra: list[Chunk] = []
        for k, (inp, action) in enumerate(zip(inputs, sampled)):
            chunk = prm.encode_candidates(inp, [action])[0]
            chunk.steps = [n + k]  # positions n .. 2n - 2 of the example's outputs
            extra.append(chunk)
        return Example(chunks=chunks + extra, n_steps=n,
                       targets={"label": label, "next": sampled}, width=2 * n - 1)

    def q_values(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """``Q(s_i, a_i)`` (the model's logit) per step."""
        return [o[1, :, 0].astype(np.float64) for o in self.outputs(trajectories)]

    def score(self, trajectories: Sequence[Trajectory], *, policy=None) -> list[np.ndarray]:
        """``r_i = Q(s_i, a_i) - gamma * Q(s_{i+1}, a')`` per step, with ``a'`` the
        trajectory's own next action, or ``policy``'s action in ``s_{i+1}`` when given (as in
        training on demonstrations: score expert data that way to compare like with like)."""
        trajectories = list(trajectories)
        q = self.q_values(trajectories)
        if policy is None:
            nexts = [qi[1:] for qi in q]
        else:
            prm = self._model()
            nexts = []
            for traj in trajectories:
                inputs = [traj.agent_input(i) for i in range(1, len(traj.steps))]
                sampled = [out.action for out in policy.act(inputs)] if inputs else []
                nexts.append(prm.score_candidates(inputs, sampled)[:, 0].astype(np.float64))
        out = []
        for qi, nxt in zip(q, nexts):
            q_next = np.zeros_like(qi)
            q_next[:-1] = nxt
            out.append(transition_rewards(qi, q_next, self.config.gamma))
        return out
