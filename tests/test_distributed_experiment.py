"""``agentgym train`` (PPO) under torchrun with 2 gloo ranks, with replicated (DDP) and sharded
(FSDP) models, and as 2 nodes of one process each, against the same run in one process: the same
episodes, weights equal within float rounding, one set of files written by rank 0."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from agentgym.storage import load_trajectories

pytestmark = pytest.mark.slow


def _args(run_dir: Path, checkpoint: Path) -> list[str]:
    return ["train", "trainer=ppo", f"run.dir={run_dir}", "run.name=exp",
            f"model.path={checkpoint}", "loop.env.id=agentgym/KeyDoor-v0", "loop.iterations=2",
            "loop.episodes=6", "loop.chunk=3", "loop.group_size=2", "loop.max_episode_steps=4",
            "loop.policy.max_new_tokens=12", "+loop.policy.constrain=admissible",
            "+loop.policy.think=false", "trainer.constrain=admissible",
            "reward.terms=[{name: outcome},{name: admissible}]",
            "trainer.minibatch_turns=8", "trainer.lr=1e-3", "trainer.device=cpu",
            "trainer.progress=false", "rollout.num_envs=6", "rollout.progress=false"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_experiment_under_torchrun_matches_one_process(small_checkpoint, tmp_path):
    checkpoint = small_checkpoint
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    single = subprocess.run([sys.executable, "-m", "agentgym.cli", *_args(tmp_path / "one",
                                                                         checkpoint)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-4000:]
    one = tmp_path / "one" / "exp"
    start = load_file(str(checkpoint / "model.safetensors"))
    wa = load_file(str(one / "iterations" / "001" / "policy" / "model.safetensors"))
    assert any(not torch.equal(wa[n], start[n]) for n in wa)
    for run, parallel in (("ddp", "ddp"), ("fsdp", "fsdp"), ("nodes", "ddp")):
        # ddp / fsdp: one node of 2 processes; nodes: 2 nodes (torchrun launches) of 1 each,
        # so rank 1 is local rank 0 of its node
        nodes = 2 if run == "nodes" else 1
        port, logs = str(_port()), [tmp_path / f"{run}-node{node}.log" for node in range(nodes)]
        launches = [subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", f"--nnodes={nodes}",
             f"--node_rank={node}", f"--nproc_per_node={2 // nodes}", "--master_addr=127.0.0.1",
             f"--master_port={port}", "-m", "agentgym.cli", *_args(tmp_path / run, checkpoint),
             f"trainer.parallel={parallel}"],
            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
            for node, log in enumerate(logs)]
        for launch, log in zip(launches, logs):
            assert launch.wait(timeout=600) == 0, (run, log.read_text()[-6000:])
        two = tmp_path / run / "exp"
        for k in ("000", "001"):  # rank 0 collected the same episodes as the single process
            a = load_trajectories(one / "iterations" / k / "rollouts.jsonl")
            b = load_trajectories(two / "iterations" / k / "rollouts.jsonl")
            assert [(t.seed, [s.action for s in t.steps]) for t in a] == \
                   [(t.seed, [s.action for s in t.steps]) for t in b], run
        wb = load_file(str(two / "iterations" / "001" / "policy" / "model.safetensors"))
        assert wa.keys() == wb.keys(), run
        for name in wa:
            moved = (wa[name] - start[name]).abs().max().item()
            assert torch.allclose(wa[name], wb[name], atol=2e-4 + 1e-2 * moved), (run, name)
        result = json.loads((two / "result.json").read_text())
        assert result["iterations"] == 2 and (two / "metrics.csv").exists()
        assert not list(two.glob("iterations/*/policy.tmp"))
