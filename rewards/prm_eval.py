"""Meta-evaluation of step rewarders: do they prefer the expert's action?

:func:`build_preference_set` walks states of an env that has an oracle: the states along the
oracle's own episodes and, when a policy is given, along the policy's episodes too. At each state
the *chosen* action is the oracle's and the *rejected* ones are up to ``alternatives`` other
admissible actions, drawn at random (seeded). Where a state lists no admissible actions (an open
action space, e.g. the web), they are drawn from the env's ``info["candidate_actions"]`` for
that state (plausible actions on the page: its links, buttons, boxes and options). An action
that leads to the same next observation as the oracle's (the Search button and Enter in the same
box, say) is not a worse action, so it is left out of the rejected ones (where the env has
snapshots: each state is replayed and every candidate tried from it).
:func:`evaluate_rewarder` scores every candidate in its state's full context and reports, as
WebRewardBench does:

* **MRR** - mean over states of ``1 / rank`` of the chosen action among all candidates
  (ties count against the chosen one: a rewarder that gives every action the same score gets
  the worst rank);
* **step accuracy** - share of states where the chosen action scores strictly above every
  rejected one;
* **trajectory accuracy** - share of episodes where that holds at every state.

:func:`best_of_n_success` adds the downstream view: the success rate of a sampling policy that
acts the best of ``N`` candidates by the rewarder, for each ``N``.

From the shell: ``agentgym prm-eval reward.name=agentprm reward.path=runs/agentprm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.base import OraclePolicy
from agentgym.policies.best_of_n import BestOfN, candidate_trajectory
from agentgym.types import ActionOutput, AgentInput, Trajectory

__all__ = [
    "PreferenceItem",
    "best_of_n_success",
    "build_preference_set",
    "evaluate_rewarder",
    "preference_metrics",
]


@dataclass
class PreferenceItem:
    """One state: the oracle's action (chosen) against other admissible or candidate ones
    (rejected)."""

    input: AgentInput
    chosen: str
    rejected: list[str]
    episode: int
    """Index of the episode the state comes from (for trajectory accuracy)."""
    source: str = "expert"
    """``expert`` (a state on the oracle's path) or ``policy`` (on the policy's path)."""
    subgoals: list[str] = field(default_factory=list)
    """The task's declared subgoals (``info["subgoals"]``), for checklist rewarders."""


class _RecordExpert:
    """Wraps a policy; keeps the oracle's action of each state in the output's meta."""

    def __init__(self, policy) -> None:
        self.policy = policy

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        outputs = self.policy.act(batch)
        for inp, out in zip(batch, outputs):
            out.meta = {**out.meta, "oracle_action": inp.expert_action}
        return outputs


def build_preference_set(
    env_id: str,
    *,
    episodes: int = 20,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    policy=None,
    alternatives: int = 4,
    rollout_config=None,
    skip_equivalent: bool = True,
) -> list[PreferenceItem]:
    """Preference items from the oracle's episodes (and ``policy``'s, when given).

    Args:
        env_id: A registered env whose ``info`` has ``expert_action``.
        episodes: Episodes per source, seeded ``seed, seed + 1, ...``.
        env_kwargs: The env's constructor arguments (e.g. ``{"split": "valid_unseen"}``).
        policy: Also take states along this policy's episodes.
        alternatives: Rejected actions per state (fewer where fewer are admissible). They come
            from the state's admissible actions or, where there are none, from the env's
            ``info["candidate_actions"]`` for the state; never the oracle's action.
        rollout_config: :class:`~agentgym.rollout.RolloutConfig` of the rollouts.
        skip_equivalent: Leave out alternatives whose next observation (text, action error,
            won) equals the oracle action's, found by replaying each episode with snapshots.
            Envs without snapshots (the browser backend) keep every alternative.
    """
    from agentgym.rollout import RolloutConfig, rollout

    if alternatives < 1:
        raise ConfigError("alternatives", f"must be >= 1, got {alternatives}.", "use 4.")
    config = rollout_config or RolloutConfig(progress=False)
    sources = [("expert", OraclePolicy())] + ([("policy", policy)] if policy is not None else [])
    rng = np.random.default_rng(seed)
    items: list[PreferenceItem] = []
    episode = 0
    for source, acting in sources:
        trajs = rollout(env_id, _RecordExpert(acting), episodes=episodes, seed=seed,
                        env_kwargs=env_kwargs, config=config)
        for traj in trajs:
            replay = _Replay(traj) if skip_equivalent else None
            for i, step in enumerate(traj.steps):
                chosen = step.meta.get("oracle_action")
                others = sorted(set(_state_actions(traj, i)) - {chosen})
                if replay is not None:
                    if chosen and others:
                        others = replay.distinct(chosen, others)
                    replay.advance(step)
                if not chosen or not others:
                    continue
                picked = rng.choice(len(others), size=min(alternatives, len(others)),
                                    replace=False)
                items.append(PreferenceItem(input=traj.agent_input(i), chosen=chosen,
                                            rejected=[others[k] for k in sorted(picked)],
                                            episode=episode, source=source,
                                            subgoals=list(step.info.get("subgoals", ()))))
            episode += 1
            if replay is not None:
                replay.close()
    if not items:
        raise ConfigError("env", f"{env_id} gave no state with an oracle action and an "
                          "alternative.", "use an env with an oracle and admissible actions "
                          "(or info['candidate_actions'] where the action space is open).")
    return items


def _state_actions(traj: Trajectory, i: int) -> list[str]:
    """The actions to draw alternatives from in the state of step ``i``: its admissible actions,
    else the env's ``info["candidate_actions"]`` there (the info of step ``i - 1``; for the first
    state, that of a reset with the trajectory's seed)."""
    admissible = list(traj.steps[i].observation.get("admissible_actions", ()))
    if admissible:
        return admissible
    info = traj.steps[i - 1].info if i else _reset_info(traj)
    return [str(a) for a in info.get("candidate_actions", ())]


class _Replay:
    """A trajectory played again in its own env, to try actions from each of its states."""

    def __init__(self, traj: Trajectory) -> None:
        from agentgym.registration import make

        self.env = make(traj.env_id, **traj.env_kwargs)
        self.env.reset(seed=traj.seed)
        self.live = True  # False once snapshots fail or the replay leaves the recorded path

    def _outcome(self, snap, action: str) -> tuple[str, str, bool, bool]:
        from agentgym.env import restore_env

        restore_env(self.env, snap)
        obs, _, _, _, info = self.env.step(action)
        return (obs["text"], obs["last_action_error"], bool(info.get("won")),
                bool(info.get("valid_action")))

    def distinct(self, chosen: str, others: list[str]) -> list[str]:
        """``others`` without the actions whose outcome equals ``chosen``'s from this state."""
        if not self.live:
            return others
        from agentgym.env import restore_env

        try:
            snap = self.env.unwrapped.snapshot()
            target = self._outcome(snap, chosen)
            # Restoring must work twice (a browser backend refuses: its pages are not kept).
            if not target[3] or self._outcome(snap, chosen) != target:
                self.live = False
                return others
            kept = [a for a in others if self._outcome(snap, a) != target]
            restore_env(self.env, snap)
        except (TypeError, NotImplementedError):  # not a TextEnv, or a task without snapshots
            self.live = False
            return others
        return kept

    def advance(self, step) -> None:
        """Take the trajectory's own action; stop trying if the replay leaves its path."""
        if not self.live:
            return
        _, _, term, trunc, info = self.env.step(step.action)
        if (bool(info.get("valid_action")) != bool(step.info.get("valid_action"))
                or bool(info.get("won")) != bool(step.info.get("won"))):
            self.live = False
        if term or trunc:
            self.live = False

    def close(self) -> None:
        self.env.close()


def _reset_info(traj: Trajectory) -> dict[str, Any]:
    """``info`` of the trajectory's env reset with its seed (the rollout keeps no reset info)."""
    from agentgym.registration import make

    env = make(traj.env_id, **traj.env_kwargs)
    try:
        return env.reset(seed=traj.seed)[1]
    finally:
        env.close()


def _candidate_scores(rewarder, items: list[PreferenceItem], actions: list[str]) -> np.ndarray:
    """The rewarder's score of each (item's state, action) as the last step of its episode so
    far. The candidate step's info holds only the task's subgoals (nothing of its outcome)."""
    trajs = []
    for it, a in zip(items, actions):
        traj = candidate_trajectory(it.input, ActionOutput(text=a, action=a))
        if it.subgoals:
            traj.steps[-1].info = {"subgoals": list(it.subgoals)}
        trajs.append(traj)
    return np.array([float(s[-1]) for s in rewarder.score(trajs)])


def preference_metrics(chosen: Sequence[float], rejected: Sequence[Sequence[float]],
                       episodes: Sequence[int]) -> dict[str, float]:
    """MRR, step accuracy and trajectory accuracy from the scores of each state's candidates."""
    ranks = np.array([1 + sum(r >= c for r in rej) for c, rej in zip(chosen, rejected)])
    correct = ranks == 1
    per_episode: dict[int, bool] = {}
    for ep, ok in zip(episodes, correct):
        per_episode[ep] = per_episode.get(ep, True) and bool(ok)
    return {"mrr": float(np.mean(1.0 / ranks)), "step_accuracy": float(np.mean(correct)),
            "trajectory_accuracy": float(np.mean(list(per_episode.values()))),
            "states": len(ranks), "episodes": len(per_episode)}


def evaluate_rewarder(rewarder, items: Sequence[PreferenceItem],
                      *, batch_states: int = 64) -> dict[str, Any]:
    """:func:`preference_metrics` of ``rewarder`` on ``items``, overall and by source."""
    chosen: list[float] = []
    rejected: list[list[float]] = []
    for start in range(0, len(items), batch_states):
        part = items[start:start + batch_states]
        states = [it for it in part for _ in range(1 + len(it.rejected))]
        actions = [a for it in part for a in (it.chosen, *it.rejected)]
        scores = iter(_candidate_scores(rewarder, states, actions))
        for it in part:
            chosen.append(next(scores))
            rejected.append([next(scores) for _ in it.rejected])
    result: dict[str, Any] = preference_metrics(chosen, rejected, [it.episode for it in items])
    for source in sorted({it.source for it in items}):
        keep = [k for k, it in enumerate(items) if it.source == source]
        result[source] = preference_metrics([chosen[k] for k in keep],
                                            [rejected[k] for k in keep],
                                            [items[k].episode for k in keep])
    return result


def best_of_n_success(
    policy,
    rewarder,
    env_id: str,
    *,
    ns: Sequence[int] = (1, 2, 4, 8, 16),
    episodes: int = 20,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    rollout_config=None,
) -> dict[int, float]:
    """Success rate of ``BestOfN(policy, rewarder, n)`` on the same ``episodes`` for each n."""
    from agentgym.rollout import RolloutConfig, rollout

    config = rollout_config or RolloutConfig(progress=False)
    out: dict[int, float] = {}
    for n in ns:
        trajs: list[Trajectory] = rollout(env_id, BestOfN(policy, rewarder, n=int(n)),
                                          episodes=episodes, seed=seed, env_kwargs=env_kwargs,
                                          config=config)
        out[int(n)] = float(np.mean([t.success for t in trajs]))
    return out
