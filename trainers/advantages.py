"""Advantage estimators over turns: pure numpy functions, tested against hand-computed values.

Every estimator here gives one advantage per **turn** (one env step); the policy-gradient losses
spread it over the tokens of that turn's action.

- :func:`turn_gae`: generalised advantage estimation over the turns of one episode with a critic's
  values ``V(s_t)``. The value after the last turn is ``0`` when the episode terminated and the
  critic's ``V(s_T)`` of the final observation when it was truncated (the episode could have gone
  on).
- :func:`group_advantages`: critic-free baselines from episodes that share a start (same seed):
  GRPO (group mean, optionally divided by the group's std) and RLOO (leave-one-out mean).
- :func:`step_group_advantages`: GiGPO-style step groups: turns of different episodes of a group
  that saw the identical observation are compared on their discounted return-to-go.

Why none of them is biased by the episode's length
--------------------------------------------------
A baseline keeps the policy gradient unbiased only if it does not depend on the action it is
subtracted from (nor on anything that action causes). When the policy decides how long an
episode lasts, anything computed per turn index *from the episode itself* breaks this: e.g.
dividing an episode's loss by its own number of turns, or normalising each turn's return by
statistics that include the episode being scored. Here:

- GAE's baseline is ``V(s_t)``, a function of the state only.
- RLOO's baseline for episode ``i`` is the mean return of the *other* episodes of its group,
  which are independent of episode ``i``'s actions.
- GRPO's group mean includes episode ``i`` itself; its gradient is the RLOO gradient times
  ``(G - 1) / G`` (a constant scale, not a direction change). With ``scale=True`` each group is
  also divided by its std, which reweights groups (documented, off by default).
- Step groups compare a turn only with turns of *other* episodes (leave-one-episode-out), so a
  state an episode revisits never baselines itself; a turn on a state no other episode reached
  falls back to the group's leave-one-out mean return instead of getting 0.
- The losses (:mod:`agentgym.trainers.losses`) sum token terms within a turn and divide by the
  number of turns in the minibatch, a constant: no episode is weighted by its own length.

``tests/test_rl_math.py`` checks this on a task where the policy controls the episode length: the
Monte Carlo mean of each estimator matches the exact gradient, and a per-episode length-normalised
estimator visibly does not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = [
    "GROUP_METHODS",
    "discounted_sum",
    "explained_variance",
    "group_advantages",
    "step_group_advantages",
    "turn_gae",
    "whiten",
]

#: ``method`` values of :func:`group_advantages`.
GROUP_METHODS = ("grpo", "rloo")


def turn_gae(
    rewards: Sequence[float],
    values: Sequence[float],
    *,
    gamma: float,
    lam: float,
    last_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE over the turns of one episode.

    ``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)`` with ``V(s_T) = last_value``, and
    ``A_t = sum_k (gamma * lam)**k * delta_{t+k}``.

    Args:
        rewards: Reward of each turn.
        values: Critic value of the state each turn acted on.
        gamma: Discount per turn.
        lam: GAE's lambda (1: Monte Carlo returns minus V; 0: one-step TD errors).
        last_value: Value after the last turn: 0 when the episode terminated, the critic's value
            of the final observation when it was truncated.

    Returns:
        ``(advantages, returns)``, where ``returns = advantages + values`` (the critic's target).
    """
    r = np.asarray(rewards, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if r.shape != v.shape or r.ndim != 1:
        raise ValueError(f"rewards {r.shape} and values {v.shape} must be equal 1-d shapes")
    advantages = np.zeros_like(r)
    running, next_value = 0.0, float(last_value)
    for t in range(len(r) - 1, -1, -1):
        delta = r[t] + gamma * next_value - v[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = v[t]
    return advantages, advantages + v


def discounted_sum(rewards: Sequence[float], gamma: float) -> np.ndarray:
    """Return-to-go of each turn: ``G_t = sum_k gamma**k r_{t+k}``."""
    r = np.asarray(rewards, dtype=np.float64)
    out = np.zeros_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        out[t] = running
    return out


def group_advantages(
    returns: Sequence[float],
    groups: Sequence[Hashable],
    *,
    method: str = "rloo",
    scale: bool = False,
    eps: float = 1e-6,
) -> np.ndarray:
    """Episode advantages against the other episodes of the same start group.

    Args:
        returns: One return per episode.
        groups: The group of each episode (episodes of one group share their start).
        method: ``rloo``: ``R_i - mean_{j != i} R_j``; ``grpo``: ``R_i - mean_j R_j``.
        scale: Divide by the group's (population) std plus ``eps`` (GRPO's normalisation).
        eps: Added to the std.

    A group of one episode has no baseline: its advantage is 0.
    """
    if method not in GROUP_METHODS:
        raise ValueError(f"method must be one of {GROUP_METHODS}, got {method!r}")
    r = np.asarray(returns, dtype=np.float64)
    if len(groups) != len(r):
        raise ValueError(f"{len(r)} returns but {len(groups)} groups")
    out = np.zeros_like(r)
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    for idx in members.values():
        if len(idx) < 2:
            continue
        x = r[idx]
        n = len(idx)
        if method == "rloo":
            adv = x - (x.sum() - x) / (n - 1)
        else:
            adv = x - x.mean()
        if scale:
            adv = adv / (x.std() + eps)
        out[idx] = adv
    return out


def step_group_advantages(
    step_returns: Sequence[Sequence[float]],
    step_keys: Sequence[Sequence[Hashable]],
    groups: Sequence[Hashable],
    *,
    fallback: Sequence[float] | None = None,
    scale: bool = False,
    eps: float = 1e-6,
) -> list[np.ndarray]:
    """GiGPO-style step advantages: each turn against the turns of *other* episodes of its group
    that acted on the identical state.

    Args:
        step_returns: Per episode, the return-to-go of each turn (:func:`discounted_sum`).
        step_keys: Per episode, a hashable key of each turn's state (equal keys = same state).
        groups: The start group of each episode.
        fallback: Per episode, the baseline of its turns whose state no other episode of the
            group visited, e.g. the mean return of the group's other episodes (what the trainers
            pass). ``None`` gives such turns 0, as GiGPO does; that drops them from the gradient,
            a bias wherever only some actions lead to states nobody else reached.
        scale: Divide by the std of the step group's returns plus ``eps`` (not the fallback's).
        eps: Added to the std.

    An episode that visits a state several times contributes the mean of its visits as one
    member, and is left out of its own baseline.
    """
    if not len(step_returns) == len(step_keys) == len(groups):
        raise ValueError("step_returns, step_keys and groups must have one entry per episode")
    # (group, key) -> episode -> returns of that episode's visits
    visits: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for e, (rets, keys) in enumerate(zip(step_returns, step_keys)):
        if len(rets) != len(keys):
            raise ValueError(f"episode {e}: {len(rets)} returns but {len(keys)} keys")
        for ret, key in zip(rets, keys):
            visits[(groups[e], key)][e].append(float(ret))
    out = [np.zeros(len(r)) for r in step_returns]
    for e, (rets, keys) in enumerate(zip(step_returns, step_keys)):
        for t, (ret, key) in enumerate(zip(rets, keys)):
            by_episode = visits[(groups[e], key)]
            others = [np.mean(v) for other, v in by_episode.items() if other != e]
            if not others:
                if fallback is not None:
                    out[e][t] = float(ret) - float(fallback[e])
                continue
            adv = float(ret) - float(np.mean(others))
            if scale:
                members = np.array([*others, np.mean(by_episode[e])])
                adv /= members.std() + eps
            out[e][t] = adv
    return out


def whiten(values: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """``(x - mean) / (std + eps)`` over all entries (unchanged when fewer than 2)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return x.copy()
    return (x - x.mean()) / (x.std() + eps)


def explained_variance(predicted: Sequence[float], target: Sequence[float]) -> float:
    """``1 - Var(target - predicted) / Var(target)``: 1 is perfect, 0 no better than the mean,
    ``nan`` when the targets do not vary."""
    y, p = np.asarray(target, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    var = y.var()
    return float("nan") if var == 0 else float(1.0 - (y - p).var() / var)
