"""Learned step rewarders: hand-computed targets and formulas, fitting on household data, and
save/load round trips (AgentPRM, SPA, InversePRM, the checklist judges)."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.envs.household.demonstrator import HouseholdDemonstrator
from agentgym.errors import ConfigError
from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.policies.noisy import NoisyExpert
from agentgym.rewards import apply_rewarders
from agentgym.rewards.agentprm import AgentPRM, discounted_returns, mc_targets
from agentgym.rewards.checklist import (
    ChecklistReward,
    PromptedJudge,
    checklist_labels,
    checklist_reward,
    generate_checklist,
)
from agentgym.rewards.inverseprm import InversePRM, transition_rewards
from agentgym.rewards.spa import SPA
from agentgym.rollout import RolloutConfig, rollout
from agentgym.types import ActionOutput, Step, Trajectory

GAMMA = 0.5
MODEL = {"tiny": {"hidden_size": 64, "layers": 1, "heads": 2, "intermediate_size": 128},
         "vocab_size": 600, "history_turns": 6, "max_tokens": 512}
WIDER = {**MODEL, "tiny": {"hidden_size": 128, "layers": 2, "heads": 4, "intermediate_size": 256}}


def _fit(**kw):
    return {"batch_size": 8, "lr": 3e-3, "warmup_steps": 5, "progress": False, **kw}


def _traj(pairs, success, rewards=None, info=None):
    """A hand-made trajectory: ``pairs`` of (observation text, action)."""
    steps = []
    for k, (obs, action) in enumerate(pairs):
        steps.append(Step(observation={"text": obs, "goal": "g", "admissible_actions": (),
                                       "last_action_error": ""},
                          raw_output=action, action=action,
                          reward=(rewards or [0.0] * len(pairs))[k], terminated=False,
                          truncated=False, info=dict((info or [{}] * len(pairs))[k])))
    return Trajectory(env_id="hand", task={"id": "t"}, seed=0, steps=steps, success=success)


def _auc(pos, neg) -> float:
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean(pos > neg) + 0.5 * np.mean(pos == neg))


@pytest.fixture(scope="module")
def household():
    """Noisy-oracle episodes (they win) and random ones (cut at 12 steps: they lose)."""
    cfg = RolloutConfig(num_envs=16, progress=False)
    kw = {"split": "train"}
    good = rollout("agentgym/Household-v0", NoisyExpert(OraclePolicy(), epsilon=0.1, seed=1),
                   episodes=32, config=cfg, env_kwargs=kw)
    bad = rollout("agentgym/Household-v0", RandomPolicy(seed=0), episodes=32, seed=500,
                  config=RolloutConfig(num_envs=16, progress=False, max_episode_steps=12),
                  env_kwargs=kw)
    return good, bad


# --- AgentPRM ----------------------------------------------------------------------------------


def test_mc_targets_discount_from_the_step_and_average_visits():
    a = _traj([("o0", "x"), ("o1", "y"), ("o2", "z")], success=True)
    b = _traj([("o0", "x"), ("o1", "w")], success=False)
    c = _traj([("o0", "v")], success=True)
    q, v = mc_targets([a, b, c], GAMMA)
    # Returns from each step: a = (0.25, 0.5, 1), b = (0, 0), c = (1,).
    np.testing.assert_allclose(q[0], [0.125, 0.5, 1.0])   # Q(o0, x) = mean(0.25, 0)
    np.testing.assert_allclose(q[1], [0.125, 0.0])
    np.testing.assert_allclose(q[2], [1.0])
    np.testing.assert_allclose(v[0], [(0.25 + 0 + 1) / 3, 0.25, 1.0])  # V(o0 x o1) = mean(.5, 0)
    np.testing.assert_allclose(v[1], [(0.25 + 0 + 1) / 3, 0.25])


def test_discounted_returns_of_env_rewards():
    t = _traj([("a", "1"), ("b", "2"), ("c", "3")], success=False, rewards=[1.0, 0.0, 2.0])
    np.testing.assert_allclose(discounted_returns(t, GAMMA, "return"), [1.5, 1.0, 2.0])
    np.testing.assert_allclose(discounted_returns(t, GAMMA, "success"), [0.0, 0.0, 0.0])


def test_agentprm_fits_household_and_round_trips(household, tmp_path):
    good, bad = household
    prm = AgentPRM(gamma=0.9, model=MODEL, fit=_fit(epochs=10, batch_size=4))
    history = prm.fit(good[:24] + bad[:24])
    assert np.mean([h["loss"] for h in history[-10:]]) < np.mean([h["loss"] for h in history[:10]])
    # Held-out episodes: Q is higher along winning episodes than along losing ones.
    q_good = np.concatenate(prm.score(good[24:]))
    q_bad = np.concatenate(prm.score(bad[24:]))
    assert q_good.mean() > q_bad.mean() + 0.15, (q_good.mean(), q_bad.mean())
    assert _auc(q_good, q_bad) > 0.75
    prm.save(tmp_path / "agentprm")
    again = AgentPRM.load(tmp_path / "agentprm")
    for x, y in zip(again.score(good[24:]), prm.score(good[24:])):
        np.testing.assert_allclose(x, y, atol=1e-6)
    adv = AgentPRM.load(tmp_path / "agentprm", score="advantage")
    q, v = adv.values(good[24:25])
    np.testing.assert_allclose(adv.score(good[24:25])[0], q[0] - v[0])
    apply_rewarders(good[24:25], [adv])
    assert set(good[24].steps[0].rewards) == {"agentprm"}


def test_agentprm_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="reward.score"):
        AgentPRM(score="value")
    with pytest.raises(ConfigError, match="fitted or loaded"):
        AgentPRM().score([_traj([("o", "a")], True)])
    SPA(model=MODEL)  # a different rewarder's folder is refused by name
    with pytest.raises(ConfigError, match="agentgym_reward.json"):
        AgentPRM.load(tmp_path)


# --- SPA ---------------------------------------------------------------------------------------


def test_spa_contributions_sum_to_the_outcome_after_fitting(household):
    good, bad = household
    toy = good[:4] + bad[:4]
    spa = SPA(model=MODEL, grounding_weight=0.5, fit=_fit(max_steps=150, epochs=0))
    spa.fit(toy)
    sums = np.array([c.sum() for c in spa.contributions(toy)])
    outcomes = np.array([1.0 if t.success else 0.0 for t in toy])
    np.testing.assert_allclose(sums, outcomes, atol=0.1)
    rewards = spa.score(toy)
    grounding = [np.array([1.0 if s.valid else 0.0 for s in t.steps]) for t in toy]
    for r, c, g in zip(rewards, spa.contributions(toy), grounding):
        np.testing.assert_allclose(r, c + 0.5 * g)


def test_spa_round_trips(household, tmp_path):
    good, bad = household
    spa = SPA(model=MODEL, fit=_fit(max_steps=5, epochs=0))
    spa.fit(good[:4] + bad[:4])
    spa.save(tmp_path / "spa")
    again = SPA.load(tmp_path / "spa")
    assert again.config.grounding_weight == spa.config.grounding_weight
    for x, y in zip(again.score(bad[:3]), spa.score(bad[:3])):
        np.testing.assert_allclose(x, y, atol=1e-6)
    with pytest.raises(ConfigError, match="'spa' reward model, not 'agentprm'"):
        AgentPRM.load(tmp_path / "spa")


# --- InversePRM --------------------------------------------------------------------------------


def test_transition_rewards_by_hand():
    np.testing.assert_allclose(transition_rewards([1.0, 2.0, 0.5], [2.0, 0.5, 0.0], 0.5),
                               [0.0, 1.75, 0.5])


@pytest.mark.slow
def test_inverseprm_separates_expert_from_random_transitions(tmp_path):
    """Demonstrations only (no outcome labels): held-out AUC >= 0.9, expert vs random."""
    cfg = RolloutConfig(num_envs=16, progress=False)
    kw = {"split": "train"}
    demos = rollout("agentgym/Household-v0", HouseholdDemonstrator(), episodes=50, config=cfg,
                    env_kwargs=kw)
    randoms = rollout("agentgym/Household-v0", RandomPolicy(seed=0), episodes=50, seed=1000,
                      config=RolloutConfig(num_envs=16, progress=False, max_episode_steps=12),
                      env_kwargs=kw)
    irl = InversePRM(model=MODEL, fit=_fit(epochs=14, batch_size=4))
    irl.fit(demos[:36], randoms[:36], policy=RandomPolicy(seed=3))
    # a' from the policy, as in training, for both held-out sets.
    expert = irl.score(demos[36:], policy=RandomPolicy(seed=7))
    random_ = irl.score(randoms[36:], policy=RandomPolicy(seed=7))
    auc = _auc(np.concatenate(expert), np.concatenate(random_))
    assert auc >= 0.9, auc
    irl.save(tmp_path / "irl")
    again = InversePRM.load(tmp_path / "irl")
    for x, y in zip(again.score(demos[36:40]), irl.score(demos[36:40])):
        np.testing.assert_allclose(x, y, atol=1e-6)


def test_inverseprm_accumulates_negatives_and_needs_them(household):
    good, bad = household
    irl = InversePRM(model=MODEL, fit=_fit(max_steps=2, epochs=0), max_negatives=5)
    with pytest.raises(ConfigError, match="negatives"):
        irl.fit(good[:3])
    irl.fit(good[:3], bad[:4])
    irl.fit(good[:3], bad[4:7])
    assert irl.negatives == bad[2:7]  # the newest 5 of both rounds


# --- checklists --------------------------------------------------------------------------------


def test_checklist_reward_formula_by_hand():
    probs = np.array([[[0.2, 0.6, 0.2], [0.0, 0.0, 1.0]],
                      [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]])
    # step 0: mean(0.2 + 0.3, 0) = 0.25; step 1: mean(1, 0.5 + 0.25) = 0.875
    np.testing.assert_allclose(checklist_reward(probs), [0.25, 0.875])
    np.testing.assert_allclose(checklist_reward(probs, progress_weight=0.0), [0.1, 0.75])
    with pytest.raises(ValueError, match="shape"):
        checklist_reward(np.zeros((2, 3)))


def test_checklist_labels_follow_the_env_tracking():
    items = ["find key", "open door"]
    info = [{"subgoals": items, "subgoals_done": [], "expert_action": "take key"},
            {"subgoals": items, "subgoals_done": ["find key"], "expert_action": "open door"},
            {"subgoals": items, "subgoals_done": ["find key"], "expert_action": "open door"},
            {"subgoals": items, "subgoals_done": ["find key", "open door"]}]
    t = _traj([("o0", "go to hall"), ("o1", "take key"), ("o2", "look"), ("o3", "open door")],
              success=True, info=info)
    labels = checklist_labels(t, experts=["go to hall", "take key", "open door", "open door"])
    # yes = 0, in progress = 1, no = 2
    np.testing.assert_array_equal(labels, [[1, 2], [0, 1], [0, 2], [0, 0]])
    with pytest.raises(ConfigError, match="not subgoals"):
        checklist_labels(t, ["fly"], experts=[None] * 4)


class _Scripted:
    """A policy that always answers the same line."""

    def __init__(self, line: str) -> None:
        self.line = line

    def act(self, batch):
        return [ActionOutput(text=f"Action: {self.line}", action=self.line) for _ in batch]


def test_generated_checklists_come_from_any_policy():
    items = generate_checklist(_Scripted("1. find the key; 2. open the door;  ; look."), "g")
    assert items == ["find the key", "open the door", "look"]
    assert generate_checklist(_Scripted("a; b; c; d"), "g", max_items=2) == ["a", "b"]


def test_checklist_judge_learns_env_labels_and_round_trips(household, tmp_path):
    good, bad = household
    train, held = good[:24] + bad[:8], good[24:] + bad[24:28]
    judge = ChecklistReward(model=WIDER, fit=_fit(epochs=8, batch_size=4, lr=1e-3))
    judge.fit(train)

    def accuracy(trajs):
        pred = np.concatenate([p.argmax(-1).ravel() for p in judge.probabilities(trajs)])
        true = np.concatenate([checklist_labels(t).ravel() for t in trajs])
        return np.mean(pred == true), np.bincount(true).max() / true.size

    assert accuracy(train)[0] > 0.8
    held_accuracy, majority = accuracy(held)
    assert held_accuracy > majority + 0.05, (held_accuracy, majority)
    rewards = judge.score(held[:2])
    for r, p in zip(rewards, judge.probabilities(held[:2])):
        np.testing.assert_allclose(r, checklist_reward(p))
    judge.save(tmp_path / "judge")
    again = ChecklistReward.load(tmp_path / "judge")
    for x, y in zip(again.score(held[:2]), rewards):
        np.testing.assert_allclose(x, y, atol=1e-6)
    generated = ChecklistReward.load(tmp_path / "judge", source="generate",
                                     generator=_Scripted("take it; put it"))
    assert generated.probabilities(held[:1])[0].shape == (len(held[0].steps), 2, 3)


def test_prompted_judge_reads_answer_token_probabilities(tiny_checkpoint, household):
    import torch

    good, _ = household
    judge = PromptedJudge(str(tiny_checkpoint), history_turns=3)
    traj = good[0]
    probs = judge.probabilities([traj])[0]
    items = traj.steps[0].info["subgoals"]
    assert probs.shape == (len(traj.steps), len(items), 3)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    # By hand for one (step, item): softmax over the full vocabulary, then renormalise.
    ids = judge.prompt(traj, 1, items[1])
    with torch.no_grad():
        logits = judge.model(input_ids=torch.tensor([ids])).logits[0, -1]
    full = torch.softmax(logits.double(), -1)[judge.answer_ids].numpy()
    np.testing.assert_allclose(probs[1, 1], full / full.sum(), atol=1e-5)
    np.testing.assert_allclose(judge.score([traj])[0], checklist_reward(probs), atol=1e-9)
