"""``agentgym reward fit`` and ``agentgym prm-eval`` from configs, in miniature."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agentgym.cli import main
from agentgym.config import compose, group_options
from agentgym.policies.best_of_n import best_of_n
from agentgym.rollout import RolloutConfig, rollout

SMALL = [
    "data.episodes=6", "data.max_episode_steps=8", "data.demo_episodes=4",
    "reward.model.tiny.hidden_size=32", "reward.model.tiny.layers=1", "reward.model.tiny.heads=2",
    "reward.model.tiny.intermediate_size=64", "reward.model.vocab_size=400",
    "reward.model.max_tokens=384", "reward.fit.max_steps=3", "reward.fit.batch_size=2",
    "reward.fit.progress=false", "rollout.progress=false",
]


def test_every_reward_config_composes():
    for name in group_options("reward"):
        cfg = compose("prm_eval", [f"reward={name}"])
        assert cfg.reward.name == name


@pytest.mark.slow
@pytest.mark.parametrize("reward,extra", [
    ("agentprm", ["data.branches=1", "data.starts_per_episode=1"]),
    ("spa", []),
    ("inverseprm", []),
    ("checklist", []),
    ("pav", ["reward.branches=1", "reward.starts_per_episode=1"]),
])
def test_reward_fit_saves_a_loadable_rewarder(tmp_path: Path, reward, extra, capsys):
    args = [f"reward={reward}", *SMALL, *extra, f"run.dir={tmp_path}", "run.name=fit"]
    assert main(["reward", "fit", *args]) == 0
    out = tmp_path / "fit"
    result = json.loads((out / "result.json").read_text())
    assert result["reward"] == reward and result["optimizer_steps"] == 3
    assert result["episodes"] >= 6 and (out / "trajectories.jsonl").exists()
    if reward == "agentprm":
        assert result["branch_episodes"] == 6
    if reward == "inverseprm":
        assert result["demonstrations"] == 4
    with (out / "fit.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 3
    assert f"Saved to {out / 'reward'}" in capsys.readouterr().out.replace("\n", "")
    meta = json.loads((out / "reward" / "agentgym_reward.json").read_text())
    assert meta["rewarder"] == reward

    # The saved folder is a rewarder config away from scoring: prm-eval loads it.
    assert main(["prm-eval", f"reward={reward}", f"reward.path={out / 'reward'}", "episodes=2",
                 "alternatives=2", "max_episode_steps=5", "rollout.progress=false",
                 f"run.dir={tmp_path}", "run.name=eval"]) == 0
    report = json.loads((tmp_path / "eval" / "result.json").read_text())
    assert report["reward"] == reward and report["states"] > 0
    assert 0.0 < report["mrr"] <= 1.0 and report["expert"]["episodes"] == 2

    # ... and best-of-N takes it as its scorer by name and path.
    scorer = {"name": reward, "path": str(out / "reward")}
    policy = best_of_n(n=3, policy={"name": "random"}, scorer=scorer)
    traj = rollout("agentgym/Household-v0", policy, episodes=1, env_kwargs={"split": "train"},
                   config=RolloutConfig(num_envs=1, progress=False, max_episode_steps=2))[0]
    chosen = traj.steps[0].meta["best_of_n"]
    assert len(chosen["actions"]) == 3 and chosen["scorer"] == reward
    assert chosen["scores"][chosen["chosen"]] == max(chosen["scores"])


def test_prm_eval_of_a_fixed_rewarder_with_policy_states_and_best_of_n(tmp_path: Path, capsys):
    assert main(["prm-eval", "reward=admissible", "episodes=2", "alternatives=2",
                 "max_episode_steps=4", "policy=random", "best_of_n.ns=[1,2]",
                 "best_of_n.episodes=2", "rollout.progress=false", f"run.dir={tmp_path}",
                 "run.name=adm"]) == 0
    report = json.loads((tmp_path / "adm" / "result.json").read_text())
    # Every candidate is admissible, so the grounding reward ties them all: never "correct".
    assert report["step_accuracy"] == 0.0
    assert set(report) >= {"expert", "policy", "best_of_n"}
    assert set(report["best_of_n"]) == {"1", "2"}
    printed = capsys.readouterr().out
    assert "prm-eval: admissible" in printed and "Best-of-N success" in printed


def test_reward_commands_explain_bad_input(tmp_path: Path, capsys):
    assert main(["reward", "fit", "reward=admissible", f"run.dir={tmp_path}"]) == 2
    assert "not a learned rewarder" in capsys.readouterr().err
    assert main(["prm-eval", "reward=agentprm", f"run.dir={tmp_path}"]) == 2
    assert "reward.path" in capsys.readouterr().err
    assert main(["reward", "train"]) == 2
    assert "fit" in capsys.readouterr().err
