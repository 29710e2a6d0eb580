"""``agentgym train``: the whole job (demonstrations, tiny model, BC, evaluation) from a config."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym.cli import main

# A KeyDoor job small enough for a test: 30 oracle demonstrations, a 2-layer model, 40 steps.
SMALL = [
    "data.env.id=agentgym/KeyDoor-v0", "data.episodes=30",
    "model.tiny.hidden_size=64", "model.tiny.layers=2", "model.tiny.heads=2",
    "model.tokenizer_episodes=10", "model.vocab_size=512",
    "trainer.lr=3e-3", "trainer.batch_size=8", "trainer.history_turns=1", "trainer.log_every=5",
    "trainer.save_every=20", "trainer.progress=false", "rollout.progress=false",
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_train_job_end_to_end_then_resume(tmp_path: Path, capsys) -> None:
    args = SMALL + ["trainer.max_steps=40", "eval.suite=keydoor", "eval.episodes=3",
                    "eval.max_new_tokens=24", f"run.dir={tmp_path}", "run.name=bc"]
    assert main(["train", *args]) == 0
    out = tmp_path / "bc"
    result = json.loads((out / "result.json").read_text())
    assert result["demonstrations"] == 30 and result["steps"] == 40
    assert result["samples"] == result["demonstration_steps"] > 30
    assert 0 < result["parameters"] < 1_000_000
    assert result["eval"]["suite"] == "keydoor" and result["eval"]["episodes"] == 6
    assert (out / "eval" / "results.json").exists()
    rows = _rows(out / "sft" / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(5, 41, 5))
    assert float(rows[-1]["loss/sft"]) < float(rows[0]["loss/sft"])  # it learns
    printed = capsys.readouterr().out
    assert "keydoor: sft checkpoint" in printed and "checkpoint-40" in printed

    # The checkpoint loads in a fresh process through from_pretrained ...
    code = ("import sys; from transformers import AutoModelForCausalLM, AutoTokenizer; "
            "AutoTokenizer.from_pretrained(sys.argv[1]); "
            "m = AutoModelForCausalLM.from_pretrained(sys.argv[1]); print(m.num_parameters())")
    done = subprocess.run([sys.executable, "-c", code, result["checkpoint"]],
                          capture_output=True, text=True, check=True)
    assert int(done.stdout.split()[-1]) == result["parameters"]
    # ... and through `agentgym eval policy=hf policy.path=...`.
    assert main(["eval", "suite=smoke", "policy=hf", f"policy.path={result['checkpoint']}",
                 "policy.temperature=0", "policy.max_new_tokens=16", "policy.history_turns=1",
                 "rollout.progress=false", f"run.dir={tmp_path}", "run.name=ev"]) == 0
    assert json.loads((tmp_path / "ev" / "results.json").read_text())["overall"]["episodes"] > 0

    # Running the same run name with more steps resumes: same demonstrations and model, more steps.
    demos_before = (out / "demonstrations.jsonl").read_bytes()
    assert main(["train", *SMALL, "trainer.max_steps=50", "eval.suite=null",
                 f"run.dir={tmp_path}", "run.name=bc"]) == 0
    assert (out / "demonstrations.jsonl").read_bytes() == demos_before
    assert json.loads((out / "result.json").read_text())["steps"] == 50
    steps = [int(r["step"]) for r in _rows(out / "sft" / "metrics.csv")]
    assert steps == list(range(5, 51, 5))


def test_train_from_saved_demonstrations(tmp_path: Path) -> None:
    assert main(["collect", "env.id=agentgym/KeyDoor-v0", "episodes=6", "policy.think=true",
                 "rollout.progress=false", f"run.dir={tmp_path}", "run.name=demos"]) == 0
    demos = tmp_path / "demos" / "trajectories.jsonl"
    args = SMALL[2:] + [f"data.path={demos}", "trainer.max_steps=3", f"run.dir={tmp_path}",
                        "run.name=fromfile"]
    assert main(["train", *args]) == 0
    result = json.loads((tmp_path / "fromfile" / "result.json").read_text())
    assert result["demonstrations"] == 6 and result["steps"] == 3 and "eval" not in result
    assert not (tmp_path / "fromfile" / "demonstrations.jsonl").exists()


def test_train_errors_name_the_field(tmp_path: Path, capsys) -> None:
    assert main(["train", f"run.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "data.env.id" in err and "data.path=" in err
    assert main(["train", "experiment=household_bx"]) == 2
    assert "household_bc" in capsys.readouterr().err
    assert main(["train", "trainer.lrr=1"]) == 2
    assert "Did you mean 'lr'" in capsys.readouterr().err
    assert main(["train", *SMALL, "eval.suite=keydoor", "+eval.policy.beam=4",
                 f"run.dir={tmp_path}", "run.name=badeval"]) == 2
    err = capsys.readouterr().err
    assert "eval.policy" in err and "beam" in err
    assert not (tmp_path / "badeval" / "demonstrations.jsonl").exists()  # refused up front
    assert main(["train", "data.env.id=agentgym/KeyDoor-v0", "trainer.name=ppo_x",
                 f"run.dir={tmp_path}"]) == 2
    assert "sft" in capsys.readouterr().err


def test_household_bc_experiment_runs_in_miniature(tmp_path: Path) -> None:
    """The committed experiment, shrunk: noisy demonstrations, its tiny model, SFT, evaluation."""
    from agentgym.storage import load_trajectories

    args = ["experiment=household_bc", "data.episodes=8", "model.tokenizer_episodes=8",
            "model.vocab_size=600", "trainer.max_steps=3", "trainer.max_minutes=0",
            "trainer.progress=false", "eval.episodes=1", "rollout.num_envs=4",
            "rollout.progress=false", f"run.dir={tmp_path}", "run.name=hbc"]
    assert main(["train", *args]) == 0
    out = tmp_path / "hbc"
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 3 and result["eval"]["episodes"] == 1
    demos = load_trajectories(out / "demonstrations.jsonl")
    assert any(s.meta.get("explore") for t in demos for s in t.steps)  # epsilon = 0.15
    prompt = json.loads((Path(result["checkpoint"]) / "agentgym_prompt.json").read_text())
    assert prompt["history_style"] == "chat" and prompt["goal_every_turn"] is True
