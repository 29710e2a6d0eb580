"""The ``agentgym`` command line, run in-process and as the installed console script."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agentgym.cli import main


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def test_envs_lists_keydoor(capsys) -> None:
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "agentgym/KeyDoor-v0" in out and "Text maze" in out


def test_eval_oracle_on_env_succeeds_always(tmp_path, capsys) -> None:
    code = main([
        "eval", "env.id=agentgym/KeyDoor-v0", "policy=oracle", "episodes=20",
        f"run.dir={tmp_path}", "run.name=o", "rollout.progress=false",
    ])
    assert code == 0
    report = _results(tmp_path / "o")
    assert report["overall"]["episodes"] == 20
    assert report["overall"]["success_rate"] == 1.0
    assert report["overall"]["invalid_action_rate"] == 0.0
    rows = list(csv.DictReader(open(tmp_path / "o" / "results.csv")))
    assert [r["entry"] for r in rows] == ["agentgym/KeyDoor-v0", "overall"]
    assert float(rows[-1]["success_rate"]) == 1.0
    assert (tmp_path / "o" / "config.yaml").exists()
    assert len((tmp_path / "o" / "trajectories" / "agentgym_KeyDoor-v0.jsonl").read_text().splitlines()) == 20
    assert "1.000" in capsys.readouterr().out


def test_eval_suite_reports_each_entry(tmp_path) -> None:
    assert main(["eval", "suite=keydoor", "policy=random", f"run.dir={tmp_path}", "run.name=r",
                 "rollout.progress=false", "run.save_trajectories=false"]) == 0
    report = _results(tmp_path / "r")
    assert [e["name"] for e in report["entries"]] == ["keydoor-3x3-k1", "keydoor-4x4-k2"]
    assert report["overall"]["episodes"] == 40
    assert report["overall"]["success_rate"] < 1.0  # a random walk does not solve every maze
    assert not (tmp_path / "r" / "trajectories").exists()


def test_env_kwargs_reach_the_env(tmp_path) -> None:
    assert main(["eval", "env.id=agentgym/KeyDoor-v0", "+env.kwargs.split=valid", "episodes=3",
                 "policy=oracle", f"run.dir={tmp_path}", "run.name=k", "rollout.progress=false"]) == 0
    assert _results(tmp_path / "k")["entries"][0]["kwargs"] == {"split": "valid"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "polcy=oracle"], "Did you mean 'policy'"),
        (["eval", "env.id=agentgym/KeyDor-v0"], "Did you mean 'agentgym/KeyDoor-v0'"),
        (["eval"], "neither suite nor env.id"),
        (["eval", "suite=keydoor", "env.id=agentgym/KeyDoor-v0"], "both suite and env.id"),
        (["evl"], "Did you mean 'eval'"),
    ],
)
def test_errors_exit_2_with_a_hint(args, message, capsys) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_cfg_prints_the_composed_config(capsys) -> None:
    assert main(["eval", "--cfg", "policy=oracle", "suite=smoke"]) == 0
    out = capsys.readouterr().out
    assert "name: oracle" in out and "keydoor-2x2-k1" in out


@pytest.mark.slow
def test_console_script_demo(tmp_path) -> None:
    """The demo's whole pipeline, shrunk: cloning, AgentPRM, one PPO iteration, the table."""
    exe = shutil.which("agentgym", path=os.path.dirname(os.sys.executable))
    assert exe, "the agentgym console script is not installed next to this python"
    proc = subprocess.run(
        [exe, "demo", "run.dir=" + str(tmp_path), "data.episodes=60", "bc.max_minutes=0.2",
         "model.tokenizer_episodes=30", "loop.iterations=1", "loop.episodes=6",
         "eval.episodes=8", "reward.terms.1.fit.max_minutes=0.1"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(tmp_path / "demo" / "results.csv")))
    overall = {r["policy"]: float(r["success_rate"]) for r in rows if r["entry"] == "overall"}
    assert set(overall) == {"random", "cloned (start)", "ppo + step rewards", "oracle"}
    assert overall["oracle"] == 1.0
    assert overall["random"] < overall["oracle"]
    assert "agentgym demo" in proc.stdout
    metrics = list(csv.DictReader(open(tmp_path / "demo" / "metrics.csv")))
    assert [r["iteration"] for r in metrics] == ["0", "1"]
    assert float(metrics[1]["fit/agentprm_steps"]) > 0  # the PRM was fitted in the loop
    assert "reward/agentprm" in metrics[1]


def test_collect_writes_demonstrations_with_thoughts(tmp_path, capsys) -> None:
    from agentgym.prompts import ReActFormat
    from agentgym.storage import load_trajectories

    assert main(["collect", "policy.think=true", "episodes=6", "group_size=2", "format=parquet",
                 f"run.dir={tmp_path}", "run.name=c", "rollout.progress=false"]) == 0
    trajs = load_trajectories(tmp_path / "c" / "trajectories.parquet")
    assert len(trajs) == 12 and all(t.success for t in trajs)
    assert [t.group for t in trajs] == [g for g in range(6) for _ in range(2)]
    fmt = ReActFormat()
    for step in trajs[0].steps:
        assert step.raw_output.startswith("Thought: ") and "\nAction: " in step.raw_output
        assert fmt.parse(step.raw_output) == step.action
    assert "Collected 12 episodes (success 1.000" in capsys.readouterr().out


def test_collect_only_success_drops_failures(tmp_path) -> None:
    from agentgym.storage import load_trajectories

    assert main(["collect", "policy=random", "episodes=10", "only_success=true",
                 "+env.kwargs.size=4", "+env.kwargs.keys=2", "rollout.max_episode_steps=5",
                 f"run.dir={tmp_path}", "run.name=r", "rollout.progress=false"]) == 0
    assert load_trajectories(tmp_path / "r" / "trajectories.jsonl") == []
