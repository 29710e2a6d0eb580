"""Branch rollouts (replay + snapshot restore), PAV, and PRM meta-evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.errors import AgentGymError, ConfigError
from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.rewards.agentprm import branch_rollouts, mc_targets
from agentgym.rewards.grounding import AdmissibleReward
from agentgym.rewards.pav import PAV, process_advantages
from agentgym.rewards.prm_eval import (
    best_of_n_success,
    build_preference_set,
    evaluate_rewarder,
    preference_metrics,
)
from agentgym.rollout import RolloutConfig, RolloutEngine
from agentgym.types import Trajectory

HOUSEHOLD = "agentgym/Household-v0"
KW = {"split": "train"}


@pytest.fixture(scope="module")
def randoms():
    with RolloutEngine(HOUSEHOLD, env_kwargs=KW,
                       config=RolloutConfig(num_envs=4, progress=False)) as engine:
        return engine.run(RandomPolicy(seed=0), episodes=4)


@pytest.mark.parametrize("workers", [0, 2])
def test_branches_replay_the_prefix_then_follow_the_policy(randoms, workers):
    starts = [(randoms[0], 3), (randoms[1], 0), (randoms[2], 10)]
    config = RolloutConfig(num_envs=4, progress=False, workers=workers)
    with RolloutEngine(HOUSEHOLD, env_kwargs=KW, config=config) as engine:
        branches = engine.run_branches(OraclePolicy(), starts, branches=3)
    assert [b.group for b in branches] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    for branch in branches:
        source, i = starts[branch.group]
        assert [s.action for s in branch.steps[:i]] == [s.action for s in source.steps[:i]]
        assert [s.observation["text"] for s in branch.steps[: i + 1]] == \
            [s.observation["text"] for s in source.steps[: i + 1]]
        assert all(s.meta.get("prefix") for s in branch.steps[:i])
        assert not any(s.meta.get("prefix") for s in branch.steps[i:])
        assert branch.success  # the oracle finishes from wherever the random prefix left it
    # A deterministic policy from one start gives the same branch each time (restore == replay).
    by_group = {}
    for b in branches:
        by_group.setdefault(b.group, []).append([s.action for s in b.steps])
    assert all(len({tuple(a) for a in acts}) == 1 for acts in by_group.values())


def test_branch_targets_average_over_the_branches(randoms):
    branches = branch_rollouts(RandomPolicy(seed=1), randoms[:2], branches=3,
                               starts_per_episode=2, seed=0)
    assert len(branches) == 2 * 2 * 3
    q, v = mc_targets(branches, 0.9)
    for g in range(4):
        members = [k for k, b in enumerate(branches) if b.group == g]
        start = sum(1 for s in branches[members[0]].steps if s.meta.get("prefix"))
        # Every branch of a start shares the state there, so V at the start is their mean.
        returns = [0.9 ** (len(branches[k].steps) - 1 - start) * branches[k].success
                   for k in members]
        assert all(v[k][start] == pytest.approx(np.mean(returns)) for k in members)


def test_branches_refuse_foreign_or_finished_starts(randoms):
    with RolloutEngine(HOUSEHOLD, env_kwargs=KW,
                       config=RolloutConfig(num_envs=2, progress=False)) as engine:
        with pytest.raises(ConfigError, match="starts"):
            engine.run_branches(OraclePolicy(), [(randoms[0], len(randoms[0].steps))])
        wrong = Trajectory(env_id="agentgym/KeyDoor-v0", task={}, seed=0,
                           steps=randoms[0].steps)
        with pytest.raises(ConfigError, match="KeyDoor"):
            engine.run_branches(OraclePolicy(), [(wrong, 1)])
        altered = Trajectory(env_id=HOUSEHOLD, task={}, seed=randoms[0].seed + 99,
                             steps=randoms[0].steps, env_kwargs=KW)
        with pytest.raises(AgentGymError, match="deterministic"):
            engine.run_branches(OraclePolicy(), [(altered, 2)])


def test_process_advantages_by_hand():
    np.testing.assert_allclose(process_advantages([0.2, 0.5, 0.8], 1.0, 0.5),
                               [0.05, -0.1, 0.2])


def test_pav_fits_prover_values_on_policy_states(randoms, tmp_path):
    model = {"tiny": {"hidden_size": 64, "layers": 1, "heads": 2, "intermediate_size": 128},
             "vocab_size": 600, "history_turns": 6, "max_tokens": 512}
    pav = PAV(gamma=0.9, branches=2, starts_per_episode=3, model=model,
              fit={"epochs": 2, "batch_size": 4, "progress": False})
    history = pav.fit(randoms, prover=OraclePolicy())
    assert history and all(np.isfinite(h["loss"]) for h in history)
    rewards = pav.score(randoms)
    q, v = pav.values(randoms)
    for traj, r, qi, vi in zip(randoms, rewards, q, v):
        last_q = float(traj.success) if traj.steps[-1].terminated else qi[-1]
        np.testing.assert_allclose(r, process_advantages(vi, last_q, 0.9))
    pav.save(tmp_path / "pav")
    again = PAV.load(tmp_path / "pav")
    assert again.config.branches == 2
    np.testing.assert_allclose(again.score(randoms[:1])[0], rewards[0], atol=1e-6)
    prefix_only = branch_rollouts(OraclePolicy(), randoms[:1], branches=1, starts_per_episode=1)
    prefix_only[0].steps = [s for s in prefix_only[0].steps if s.meta.get("prefix")]
    with pytest.raises(ConfigError, match="no prover steps"):
        PAV(model=model).fit(prefix_only)


def test_preference_metrics_by_hand():
    # state 0: chosen best (rank 1); state 1: one rejected ties (rank 2); state 2: rank 3.
    metrics = preference_metrics([0.9, 0.5, 0.1], [[0.1, 0.2], [0.5, 0.4], [0.3, 0.2]],
                                 episodes=[0, 0, 1])
    assert metrics["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert metrics["step_accuracy"] == pytest.approx(1 / 3)
    assert metrics["trajectory_accuracy"] == 0.0
    assert (metrics["states"], metrics["episodes"]) == (3, 2)


class _ExpertScorer:
    """A scorer that knows the expert's answer (1 for it, 0 otherwise): the ceiling."""

    name = "knows"

    def __init__(self, items):
        self.answers = {(it.input.observation, len(it.input.history)): it.chosen for it in items}

    def score(self, trajectories):
        out = []
        for t in trajectories:
            key = (t.steps[-1].observation["text"], len(t.steps) - 1)
            out.append(np.array([0.0] * (len(t.steps) - 1)
                                + [1.0 if self.answers.get(key) == t.steps[-1].action else 0.0]))
        return out


def test_preference_set_and_metrics_on_the_household_world():
    items = build_preference_set(HOUSEHOLD, episodes=3, env_kwargs=KW, alternatives=3,
                                 policy=RandomPolicy(seed=0),
                                 rollout_config=RolloutConfig(num_envs=3, progress=False,
                                                              max_episode_steps=8))
    assert {it.source for it in items} == {"expert", "policy"}
    for it in items:
        assert it.chosen not in it.rejected and 1 <= len(it.rejected) <= 3
        assert set(it.rejected) <= set(it.input.admissible_actions)
    ceiling = evaluate_rewarder(_ExpertScorer(items), items)
    assert ceiling["mrr"] == 1.0 and ceiling["step_accuracy"] == 1.0
    assert ceiling["trajectory_accuracy"] == 1.0
    flat = evaluate_rewarder(AdmissibleReward(), items)  # every candidate is admissible: ties
    assert flat["step_accuracy"] == 0.0 and flat["mrr"] < 1.0
    assert flat["expert"]["states"] + flat["policy"]["states"] == len(items)


def test_best_of_n_success_reports_each_n():
    curve = best_of_n_success(RandomPolicy(seed=0), AdmissibleReward(), HOUSEHOLD, ns=(1, 2),
                              episodes=2, env_kwargs=KW,
                              rollout_config=RolloutConfig(num_envs=2, progress=False,
                                                           max_episode_steps=5))
    assert set(curve) == {1, 2} and all(0.0 <= s <= 1.0 for s in curve.values())
