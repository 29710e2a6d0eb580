"""The experiment driver: a run killed mid-iteration resumes to the same end, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from agentgym.storage import load_trajectories


def _command(run_dir: Path, checkpoint: Path) -> list[str]:
    return [
        sys.executable, "-m", "agentgym.cli", "train", "trainer=ppo",
        f"run.dir={run_dir}", "run.name=exp", f"model.path={checkpoint}",
        "loop.env.id=agentgym/KeyDoor-v0", "loop.iterations=2", "loop.episodes=8",
        "loop.chunk=2", "loop.group_size=2", "loop.max_episode_steps=5",
        "loop.policy.max_new_tokens=12", "reward.terms=[{name: outcome},{name: admissible}]",
        "trainer.minibatch_turns=16", "trainer.lr=1e-3", "trainer.device=cpu",
        "trainer.progress=false", "rollout.num_envs=4", "rollout.progress=false",
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "iterations" / "001" / "policy" / "model.safetensors"))


def _episodes(run: Path, k: int) -> list[tuple]:
    trajs = load_trajectories(run / "iterations" / f"{k:03d}" / "rollouts.jsonl")
    return [(t.seed, t.group, tuple(s.action for s in t.steps)) for t in trajs]


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_end(small_checkpoint, tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(_command(whole, small_checkpoint), check=True, env=_env(),
                   capture_output=True, timeout=600)

    # kill -9 as soon as the second iteration has saved its first chunk of episodes
    proc = subprocess.Popen(_command(broken, small_checkpoint), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = broken / "exp" / "iterations" / "001" / "rollouts.partial.jsonl"
    deadline = time.time() + 600
    while not (partial.exists() and partial.read_text().count("\n") >= 1):
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (broken / "exp" / "iterations" / "001" / "metrics.json").exists()
    collected = (broken / "exp" / "iterations" / "001" / "rollouts.jsonl").exists()

    resumed = subprocess.run(_command(broken, small_checkpoint), check=True, env=_env(),
                             capture_output=True, text=True, timeout=600)
    if not collected:  # killed while collecting: the saved chunks were kept, not redone
        assert "already collected, collecting the rest" in resumed.stderr
    print("killed", "after" if collected else "during", "the collection of iteration 2")

    # every episode exactly once, the same episodes, the same final weights
    for k in (0, 1):
        episodes = _episodes(broken / "exp", k)
        assert len(episodes) == 16
        assert len({(seed, group) for seed, group, _ in episodes}) == 8  # 8 starts x 2
        assert episodes == _episodes(whole / "exp", k)
    a, b = _weights(whole / "exp"), _weights(broken / "exp")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    rows = (broken / "exp" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # header + 2 iterations
    result = json.loads((broken / "exp" / "result.json").read_text())
    assert result["env_steps"] == json.loads((whole / "exp" / "result.json").read_text())["env_steps"]
    assert (broken / "exp" / "report.md").exists() and (broken / "exp" / "curves.png").exists()


def test_the_loop_marks_rows_where_the_prm_reward_rises_as_success_falls():
    from agentgym.trainers.experiment import _Monitor

    class Term:
        name = "agentprm"

    class Terms:
        def learned(self):
            return [Term()]

    history = [(0.50, 0.82), (0.50, 0.83), (0.55, 0.78), (0.60, 0.70)]
    rows = [{"iteration": i + 1, "reward/agentprm": score, "rollout/success": success}
            for i, (score, success) in enumerate(history)]
    monitor = _Monitor(Terms(), [])
    for row in rows:
        monitor.update(row)
    assert [r["monitor/reward_hacking"] for r in rows] == [0.0, 0.0, 1.0, 1.0]
    # a resumed loop replays the rows it has and flags the next one the same way
    again = _Monitor(Terms(), rows[:3])
    row = dict(rows[3])
    again.update(row)
    assert row["monitor/reward_hacking"] == 1.0
