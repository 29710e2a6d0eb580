"""The tool-use experiments run from their configs (shrunk): BC start, rollouts, PPO on the
per-call rewards, evaluation on tools_test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgym.cli import main
from agentgym.storage import load_trajectories


@pytest.mark.slow
def test_tools_ppo_steprewards_runs_in_miniature(tmp_path: Path) -> None:
    args = ["experiment=tools_ppo_steprewards", "data.episodes=12", "model.tokenizer_episodes=12",
            "model.vocab_size=600", "bc.max_steps=3", "bc.max_minutes=0", "loop.iterations=1",
            "loop.episodes=4", "eval.episodes=2", "rollout.num_envs=4", "rollout.progress=false",
            f"run.dir={tmp_path}", "run.name=tppo"]
    assert main(["train", *args]) == 0
    out = tmp_path / "tppo"
    result = json.loads((out / "result.json").read_text())
    assert result["trainer"] == "ppo" and result["iterations"] == 1
    final = result["final"]
    assert final["env_steps"] == final["rollout/episodes"] * final["rollout/length"]
    rollouts = load_trajectories(out / "iterations" / "000" / "rollouts.jsonl")
    assert len(rollouts) == 8  # 4 starts x group_size 2
    for traj in rollouts:
        for step in traj.steps:  # the env's per-call terms reach the trainer's reward
            assert set(step.info["reward_terms"]) == {"format", "tool_choice", "arguments",
                                                      "outcome"}
            assert step.rewards["outcome"] == pytest.approx(step.reward)
            assert step.reward == pytest.approx(sum(step.info["reward_terms"].values()))
