"""AgentPRM: a process reward model fitted to Monte Carlo Q targets.

Every step ``i`` of a rollout that ends after ``T`` steps is one visit of the pair
``(s_i, a_i)``; its return is the outcome discounted by the steps *from that step*:
``gamma ** (T - 1 - i) * success`` (``outcome="success"``), or the discounted sum of the env's
rewards from step ``i`` on (``outcome="return"``). The target ``Q(s_i, a_i)`` is the mean return
over all visits of the same pair, where a state is the episode's history so far (task, every
observation and action before): rollouts that share a start and a prefix share their targets.
``V(s_i)`` is the mean return over all visits of the state, whatever the action.

The PRM (:mod:`agentgym.rewards.prm`) reads the action's last token for Q and the last token
before the action for V, and is trained with a soft-label binary cross-entropy on both
(``sigmoid(logit)`` against the target in [0, 1]). The step reward is ``Q(s_i, a_i)``
(``score="q"``) or the advantage ``Q(s_i, a_i) - V(s_i)`` (``score="advantage"``).

More visits per pair make better targets: :func:`branch_rollouts` starts ``K`` fresh rollouts of
the current policy from sampled steps (restoring a snapshot where the env can, else replaying
the prefix from the seed), and ``fit`` averages over all of them.

Example:
    >>> prm = AgentPRM(gamma=0.95)                                    # doctest: +SKIP
    >>> prm.fit(trajectories)                  # rollouts of the current policy
    >>> rewards = prm.score(trajectories)      # one array per trajectory
    >>> prm.save("runs/agentprm"); AgentPRM.load("runs/agentprm")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agentgym.errors import ConfigError
from agentgym.rewards.learned import (
    Example,
    LearnedConfig,
    LearnedRewarder,
    check_outcome,
    fit_model,
    steps_of,
)
from agentgym.types import Trajectory

__all__ = ["AgentPRM", "AgentPRMConfig", "branch_rollouts", "mc_targets", "discounted_returns"]

_SCORES = ("q", "advantage")


@dataclass(kw_only=True)
class AgentPRMConfig(LearnedConfig):
    """Config of :class:`AgentPRM`."""

    gamma: float = 0.95
    """Discount per step, counted from the scored step to the end of the episode."""
    score: str = "q"
    """Step reward: ``q`` (Q(s, a) in [0, 1]) or ``advantage`` (Q(s, a) - V(s))."""
    outcome: str = "success"
    """What is discounted: ``success`` (1 at the end of a won episode) or ``return`` (the env's
    rewards, each discounted from the scored step; keep them in [0, 1] for the BCE)."""
    value_weight: float = 1.0
    """Weight of the V(s) loss next to the Q(s, a) loss (0 trains Q only)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError("reward.gamma", f"must be in (0, 1], got {self.gamma}.", "use 0.95.")
        if self.score not in _SCORES:
            raise ConfigError("reward.score", f"{self.score!r} is not a score.",
                              f"use one of: {', '.join(_SCORES)}.")
        check_outcome(self.outcome)
        if self.value_weight < 0:
            raise ConfigError("reward.value_weight", f"must be >= 0, got {self.value_weight}.")


def discounted_returns(traj: Trajectory, gamma: float, outcome: str = "success") -> np.ndarray:
    """Return of each step, discounted from that step: ``G_i = sum_k gamma**(k-i) r_k``.

    ``outcome="success"`` uses ``r = 1`` on the last step of a won episode and 0 elsewhere, so
    ``G_i = gamma ** (T - 1 - i)`` when won and 0 otherwise.
    """
    n = len(traj.steps)
    if outcome == "success":
        rewards = np.zeros(n)
        if traj.success and n:
            rewards[-1] = 1.0
    else:
        rewards = np.array([s.reward for s in traj.steps], dtype=np.float64)
    out = np.zeros(n)
    running = 0.0
    for i in range(n - 1, -1, -1):
        running = rewards[i] + gamma * running
        out[i] = running
    return out


def _keys(traj: Trajectory) -> tuple[list[int], list[int]]:
    """Hashes of each step's state (history up to its observation) and state-action pair."""
    states, pairs = [], []
    h = hash((traj.env_id, str(traj.task.get("id", "")), traj.steps[0].observation["goal"])
             if traj.steps else 0)
    for step in traj.steps:
        h = hash((h, step.observation["text"]))
        states.append(h)
        h = hash((h, step.action))
        pairs.append(h)
    return states, pairs


def mc_targets(
    trajectories: Sequence[Trajectory], gamma: float, *, outcome: str = "success"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Monte Carlo ``(Q targets, V targets)``: one array per trajectory, one value per step.

    Q of a step is the mean discounted return over every visit of its (history, action) pair in
    ``trajectories``; V the mean over every visit of its history, whatever the action.
    """
    returns = [discounted_returns(t, gamma, outcome) for t in trajectories]
    keys = [_keys(t) for t in trajectories]
    sums: dict[int, list[float]] = {}
    for (states, pairs), g in zip(keys, returns):
        for key in (*states, *pairs):
            sums.setdefault(key, [0.0, 0.0])
        for k, value in zip(states, g):
            sums[k][0] += value
            sums[k][1] += 1
        for k, value in zip(pairs, g):
            sums[k][0] += value
            sums[k][1] += 1
    q = [np.array([sums[k][0] / sums[k][1] for k in pairs]) for _, pairs in keys]
    v = [np.array([sums[k][0] / sums[k][1] for k in states]) for states, _ in keys]
    return q, v


def branch_rollouts(
    policy,
    trajectories: Sequence[Trajectory],
    *,
    branches: int = 4,
    starts_per_episode: int = 2,
    seed: int = 0,
    config=None,
) -> list[Trajectory]:
    """``branches`` fresh rollouts of ``policy`` from ``starts_per_episode`` random steps of
    each trajectory (see :meth:`~agentgym.rollout.RolloutEngine.run_branches`).

    Trajectories of several envs are grouped by env id and env kwargs. Returns the branches.
    """
    from agentgym.rollout import RolloutConfig, RolloutEngine

    rng = np.random.default_rng(seed)
    by_env: dict[tuple[str, str], list[tuple[Trajectory, int]]] = {}
    for traj in trajectories:
        if len(traj.steps) < 2:
            continue
        count = min(starts_per_episode, len(traj.steps) - 1)
        for i in sorted(rng.choice(np.arange(1, len(traj.steps)), size=count, replace=False)):
            key = (traj.env_id, repr(sorted(traj.env_kwargs.items())))
            by_env.setdefault(key, []).append((traj, int(i)))
    out: list[Trajectory] = []
    for (env_id, _), starts in by_env.items():
        kwargs = starts[0][0].env_kwargs
        with RolloutEngine(env_id, env_kwargs=kwargs,
                           config=config or RolloutConfig(progress=False)) as engine:
            out += engine.run_branches(policy, starts, branches=branches)
    return out


class AgentPRM(LearnedRewarder):
    """Monte Carlo process reward model (see the module docstring).

    Args:
        name: Key of its rewards in ``step.rewards`` (default ``agentprm``).
        path: Load a PRM saved by :meth:`save` (its settings come with it).
        **settings: :class:`AgentPRMConfig` fields (``gamma``, ``score``, ``model``, ``fit``...).
    """

    kind = "agentprm"
    config_class = AgentPRMConfig
    trained_with = ("gamma", "outcome", "value_weight")

    def fit(self, trajectories: Sequence[Trajectory]) -> list[dict[str, float]]:
        """Fit the PRM to the Monte Carlo targets of ``trajectories``; returns the losses.

        The first call builds the model (a tiny one from these trajectories when
        ``model.path`` is null); later calls continue training it. Add
        :func:`branch_rollouts` of the current policy to ``trajectories`` for more visits per
        state-action pair.
        """
        trajectories = steps_of(trajectories)
        return self._fit(trajectories, [np.ones(len(t.steps)) for t in trajectories])

    def _fit(self, trajectories: Sequence[Trajectory], weights: Sequence[np.ndarray],
             desc: str = "agentprm") -> list[dict[str, float]]:
        """Soft-label BCE on Q (action positions) and V (state positions), step-weighted."""
        import torch

        c = self.config
        prm = self._model_for(trajectories)
        q, v = mc_targets(trajectories, c.gamma, outcome=c.outcome)
        examples = [Example(chunks=prm.encode_episode(t), n_steps=len(t.steps),
                            targets={"q": qi, "v": vi, "w": wi})
                    for t, qi, vi, wi in zip(trajectories, q, v, weights) if wi.any()]
        bce = torch.nn.functional.binary_cross_entropy_with_logits

        def loss_fn(batch, outputs):
            total, count = 0.0, 0.0
            for ex, out in zip(batch, outputs):
                tq, tv, w = (torch.as_tensor(ex.targets[k], dtype=out.dtype, device=out.device)
                             for k in ("q", "v", "w"))
                total = total + (w * bce(out[1, :, 0], tq.clamp(0, 1), reduction="none")).sum()
                if c.value_weight:
                    total = total + c.value_weight * (
                        w * bce(out[0, :, 0], tv.clamp(0, 1), reduction="none")).sum()
                count += float(w.sum())
            return total / max(1.0, count)

        return fit_model(prm, examples, loss_fn, c.fit, desc=desc)

    def values(self, trajectories: Sequence[Trajectory]) -> tuple[list[np.ndarray],
                                                                   list[np.ndarray]]:
        """Predicted ``(Q(s_i, a_i), V(s_i))`` per step, in [0, 1]."""
        outs = self.outputs(trajectories)
        return [_sigmoid(o[1, :, 0]) for o in outs], [_sigmoid(o[0, :, 0]) for o in outs]

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        q, v = self.values(trajectories)
        if self.config.score == "q":
            return q
        return [qi - vi for qi, vi in zip(q, v)]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
