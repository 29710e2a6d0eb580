"""Step rewards on the web shop: candidate actions, prm-eval's alternatives, the checklist judge.

All on the real ``agentgym/WebShop-v0`` (text backend) and a tiny judge built here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from web_pages import find_id

from agentgym.cli import main
from agentgym.env import restore_env
from agentgym.envs.web.env import candidate_actions
from agentgym.policies.base import OraclePolicy
from agentgym.policies.noisy import NoisyExpert
from agentgym.registration import make
from agentgym.rewards.checklist import ChecklistReward, checklist_labels, checklist_reward
from agentgym.rewards.prm_eval import build_preference_set, evaluate_rewarder
from agentgym.rollout import RolloutConfig, rollout

WEB = "agentgym/WebShop-v0"
#: A judge small enough to fit on one CPU thread in seconds; long enough for a whole page.
JUDGE_MODEL = {"tiny": {"hidden_size": 64, "layers": 1, "heads": 2, "intermediate_size": 128},
               "vocab_size": 1024, "history_turns": 1, "max_tokens": 1536}
#: A web task has up to 6 items (search, open, 3 options, buy).
MAX_ITEMS = 6


@pytest.fixture(scope="module")
def web_episodes():
    """Oracle episodes (won) and noisy-oracle ones (some won, some not) on the train split."""
    config = RolloutConfig(num_envs=6, progress=False, max_episode_steps=10)
    kwargs = {"split": "train"}
    good = rollout(WEB, OraclePolicy(), episodes=3, env_kwargs=kwargs, config=config)
    noisy = rollout(WEB, NoisyExpert(OraclePolicy(), epsilon=0.3, seed=0), episodes=6, seed=100,
                    env_kwargs=kwargs, config=config)
    return good, noisy


@pytest.fixture(scope="module")
def judge(web_episodes):
    good, noisy = web_episodes
    judge = ChecklistReward(model=JUDGE_MODEL, max_items=MAX_ITEMS,
                            fit={"epochs": 4, "batch_size": 4, "lr": 3e-3, "warmup_steps": 2,
                                 "progress": False})
    judge.history = judge.fit(good + noisy)
    return judge


# --- candidate actions ---------------------------------------------------------------------------


def test_candidate_actions_of_a_page_by_hand():
    text = "\n".join([
        "URL: /search?q=tea",
        "RootWebArea 'Shop: results'",
        "\t[4] link 'Back to Search'",
        "\t[8] searchbox 'Search for products' value='tea'",
        "\t[9] button 'Search'",
        "\t\tStaticText 'Sort by'",
        "\t\t[13] combobox 'Sort by' value='Relevance'",
        "\t\t\t[14] option 'Relevance'",
        "\t\t\t[15] option 'Price: low to high'",
        "\t\t[17] button 'Sort'",
        "\t\t[18] textbox 'Note'",
        "\t\t[19] heading 'Tea'",
        "\t\t[21] link 'Bob's Green Tea'",
        "\t\t\tStaticText '$3.99'",
        "\t\t[21] link 'Bob's Green Tea'",
    ])
    assert candidate_actions(text) == [
        "click('4')", "press('8', 'Enter')", "click('9')",
        "select_option('13', 'Relevance')", "select_option('13', 'Price: low to high')",
        "click('17')", "press('18', 'Enter')", "click('21')",
    ]


def test_candidate_actions_are_in_info_and_the_env_accepts_each():
    env = make(WEB, split="test")
    try:
        obs, info = env.reset(seed=3)
        pages = 0
        while "expert_action" in info:
            assert info["candidate_actions"] == candidate_actions(obs["text"])
            expert = info["expert_action"]
            if not expert.startswith("fill("):  # a fill's text is not on the page
                assert expert in info["candidate_actions"]
            if "combobox 'Sort by'" in obs["text"]:
                assert "select_option('13', 'Price: low to high')" in info["candidate_actions"]
            snap = env.unwrapped.snapshot()
            for action in info["candidate_actions"]:
                restore_env(env, snap)
                _, _, _, _, after = env.step(action)
                assert after["valid_action"], action
            restore_env(env, snap)
            obs, _, terminated, _, info = env.step(expert)
            pages += 1
            if terminated:
                break
        assert info["won"] and info["candidate_actions"] == [] and pages >= 5
    finally:
        env.close()


def test_checklists_written_through_an_llm_endpoint_score_web_steps(web_episodes):
    """source=generate: the checklist of each goal comes from a policy, here ``openai`` (from a
    config) over agentgym's OpenAI-compatible server on 127.0.0.1 (a scripted writer stands in
    for the LLM); asked once per goal, and the judge trained on the env's labels reads those
    items."""
    from agentgym.serve import ChatServer

    asked = []

    def writer(batch, params):
        asked.extend(batch)
        return ["Action: 1. Search for the product; 2. Open a product that matches; "
                "3. Buy the product" for _ in batch]

    good, noisy = web_episodes
    with ChatServer(writer, port=0, model="writer", max_wait_s=0.002) as server:
        generator = {"name": "openai", "base_url": server.url, "model": "writer",
                     "timeout_s": 10.0, "max_retries": 0}  # a policy config, as from YAML
        judge = ChecklistReward(model=JUDGE_MODEL, source="generate", max_items=MAX_ITEMS,
                                generator=generator,
                                fit={"epochs": 4, "batch_size": 4, "lr": 3e-3,
                                     "warmup_steps": 2, "progress": False})
        judge.fit(good + noisy)
        scores = judge.score(good)
        judge.score(good)  # the same goals again: no new request
    goals = {t.steps[0].observation["goal"] for t in good}
    assert len(asked) == len(goals) and "checklist" in str(asked[0]).lower()
    assert {g: judge.checklists.cache[g] for g in goals} == {
        g: ["Search for the product", "Open a product that matches", "Buy the product"]
        for g in goals}
    for traj, s in zip(good, scores):  # won episodes: the judge sees the items get done
        assert len(s) == len(traj.steps) and s[-1] > s[0] + 0.2, s


# --- prm-eval ------------------------------------------------------------------------------------


class _KnowsTheOracle:
    """Scores the oracle's action 1 and anything else 0: the ceiling of every metric."""

    name = "knows"

    def __init__(self, items) -> None:
        self.answers = {(it.input.observation, len(it.input.history)): it.chosen for it in items}

    def score(self, trajectories):
        out = []
        for t in trajectories:
            key = (t.steps[-1].observation["text"], len(t.steps) - 1)
            last = float(self.answers.get(key) == t.steps[-1].action)
            out.append(np.array([0.0] * (len(t.steps) - 1) + [last]))
        return out


def test_prm_eval_takes_web_alternatives_from_candidate_actions():
    items = build_preference_set(WEB, episodes=2, env_kwargs={"split": "test"}, alternatives=3,
                                 policy=NoisyExpert(OraclePolicy(), epsilon=0.5, seed=1),
                                 rollout_config=RolloutConfig(num_envs=2, progress=False,
                                                              max_episode_steps=10))
    assert {it.source for it in items} == {"expert", "policy"}
    for it in items:
        assert not it.input.admissible_actions
        page = candidate_actions(it.input.observation)
        assert it.chosen not in it.rejected and 1 <= len(it.rejected) <= 3
        assert set(it.rejected) <= set(page), (it.rejected, page)
        assert it.subgoals[-1] == "Buy the product"
    firsts = [it for it in items if not it.input.history]
    assert len(firsts) == 4 and all(it.chosen.startswith("fill(") for it in firsts)
    ceiling = evaluate_rewarder(_KnowsTheOracle(items), items)
    assert ceiling["mrr"] == ceiling["step_accuracy"] == ceiling["trajectory_accuracy"] == 1.0


def test_prm_eval_leaves_out_alternatives_equivalent_to_the_oracle_action():
    """After typing the query, the oracle presses Enter; clicking the Search button shows the
    same page, so it is no rejected action (and that state, with nothing else, drops out)."""
    config = RolloutConfig(num_envs=1, progress=False, max_episode_steps=10)
    kwargs = {"split": "test"}
    every = build_preference_set(WEB, episodes=1, env_kwargs=kwargs, alternatives=50,
                                 rollout_config=config, skip_equivalent=False)
    distinct = build_preference_set(WEB, episodes=1, env_kwargs=kwargs, alternatives=50,
                                    rollout_config=config)
    by_state = {len(it.input.history): it for it in distinct}
    enter = next(it for it in every if it.chosen.startswith("press("))
    search_button = find_id(enter.input.observation, "button 'Search'")
    assert enter.rejected == [f"click('{search_button}')"]
    assert len(enter.input.history) not in by_state
    for it in every:  # elsewhere only equivalents go: opening another product is not one
        kept = by_state.get(len(it.input.history))
        if kept is not None:
            assert kept.chosen == it.chosen and set(kept.rejected) <= set(it.rejected)
    assert sum(len(it.rejected) for it in distinct) >= 0.8 * sum(len(it.rejected) for it in every)


# --- the checklist judge -------------------------------------------------------------------------


def test_checklist_judge_fits_web_episodes_and_scores_steps(web_episodes, judge, tmp_path):
    good, noisy = web_episodes
    assert all(t.success for t in good) and not all(t.success for t in noisy)
    assert any(s.meta.get("explore") for t in noisy for s in t.steps)
    losses = [h["loss"] for h in judge.history]
    epoch = len(losses) // 4  # four epochs: the last one's mean loss is below the first one's
    assert np.all(np.isfinite(losses)) and np.mean(losses[-epoch:]) < np.mean(losses[:epoch])

    trajs = good + noisy
    probs = judge.probabilities(trajs)
    for traj, p in zip(trajs, probs):
        items = traj.steps[0].info["subgoals"]
        assert items[0].startswith("Search for ") and items[-1] == "Buy the product"
        assert p.shape == (len(traj.steps), len(items), 3)
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-6)
    pred = np.concatenate([p.argmax(-1).ravel() for p in probs])
    true = np.concatenate([checklist_labels(t).ravel() for t in trajs])
    majority = np.bincount(true).max() / true.size
    assert np.mean(pred == true) > majority + 0.05, (np.mean(pred == true), majority)

    rewards = judge.score(trajs)
    for r, p in zip(rewards, probs):
        np.testing.assert_allclose(r, checklist_reward(p))
    # Along the oracle, more of the checklist is done at the end than at the start.
    assert np.mean([r[-1] for r in rewards[:len(good)]]) > np.mean([r[0] for r in rewards])
    judge.save(tmp_path / "judge")
    again = ChecklistReward.load(tmp_path / "judge")
    np.testing.assert_allclose(again.score(trajs[:1])[0], rewards[0], atol=1e-6)


@pytest.mark.slow
def test_prm_eval_cli_scores_the_checklist_judge_on_the_web(judge, tmp_path: Path, capsys):
    judge.save(tmp_path / "judge")
    args = ["prm-eval", f"env.id={WEB}", "env.kwargs.split=test", "reward=checklist",
            f"reward.path={tmp_path / 'judge'}", f"reward.max_items={MAX_ITEMS}",
            "reward.fit.progress=false", "episodes=2", "alternatives=3", "max_episode_steps=10",
            "rollout.progress=false", f"run.dir={tmp_path}", "run.name=web"]
    assert main(args) == 0
    report = json.loads((tmp_path / "web" / "result.json").read_text())
    assert report["env"] == WEB and report["reward"] == "checklist"
    assert report["states"] >= 10 and report["expert"]["episodes"] == 2
    assert 0.0 < report["mrr"] <= 1.0
    assert 0.0 <= report["step_accuracy"] <= report["mrr"]
    printed = capsys.readouterr().out
    assert "prm-eval: checklist on agentgym/WebShop-v0" in printed and "MRR" in printed
