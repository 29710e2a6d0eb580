"""Data-parallel training: the helpers of agentgym.trainers.distributed, and a real two-process
gloo job (torchrun) whose PPO update matches a single-process update on the whole batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.trainers.distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_mean,
    barrier,
    broadcast_object,
    init_distributed,
    lockstep,
    shard,
)

ENV = "agentgym/KeyDoor-v0"
SCRIPT = Path(__file__).resolve().parent / "ddp_ppo_script.py"
#: What the job trains, one update each: a shared critic with GAE (uneven micro-batches), a
#: separate critic with a KL loss to the reference, and RLOO whose group 1 is split between the
#: ranks' shards (episodes 0-2 and 3-4).
SETTINGS = [
    {"advantage": "gae", "critic": "shared", "micro_tokens": 96, "minibatch_turns": 5},
    {"advantage": "gae", "critic": "separate", "kl_coef": 0.1, "kl_mode": "loss",
     "minibatch_turns": 8},
    {"advantage": "rloo", "critic": "none", "step_groups": True, "minibatch_turns": 6},
    {"advantage": "gae", "critic": "shared", "kl_coef": 0.1, "kl_mode": "loss",
     "micro_tokens": 96, "minibatch_turns": 5, "parallel": "fsdp"},
    {"advantage": "gae", "critic": "separate", "minibatch_turns": 8, "parallel": "fsdp"},
]
BASE = {"lr": 3e-3, "epochs": 2, "progress": False, "device": "cpu"}


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 5, 7, 8])
def test_shards_are_balanced_and_concatenate_to_the_list(n):
    items = list(range(n))
    for world in (1, 2, 3):
        parts = [shard(items, DistInfo(rank=r, world_size=world)) for r in range(world)]
        assert [x for p in parts for x in p] == items
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_launch_variables_are_read_and_checked():
    assert DistInfo.from_env({}) == DistInfo()
    info = DistInfo.from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert (info.rank, info.world_size, info.local_rank, info.is_main) == (1, 2, 1, False)
    with pytest.raises(ConfigError, match="RANK.*WORLD_SIZE=2 is set but RANK is not"):
        DistInfo.from_env({"WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        DistInfo.from_env({"RANK": "0"})
    with pytest.raises(ConfigError, match=r"must be in \[0, 2\)"):
        DistInfo.from_env({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    with pytest.raises(ConfigError, match="integer"):
        DistInfo.from_env({"RANK": "x", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_one_process_is_a_no_op(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert init_distributed() == DistInfo()
    assert not torch.distributed.is_initialized()
    barrier()
    assert broadcast_object({"a": 1}) == {"a": 1}
    assert all_gather_objects(3) == [3]
    assert all_reduce_mean({"loss/policy": 2.0}) == {"loss/policy": 2.0}


def test_bad_launches_say_how_to_launch(monkeypatch):
    for name, value in (("WORLD_SIZE", "2"), ("RANK", "0"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(ConfigError, match="MASTER_ADDR.*torchrun"):
        init_distributed("gloo")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    with pytest.raises(ConfigError, match="'mpi' is not allowed.*gloo, nccl"):
        init_distributed("mpi", device="cpu")
    with pytest.raises(ConfigError, match="nccl needs CUDA"):
        init_distributed("nccl", device="cpu")
    assert not torch.distributed.is_initialized()


def test_lockstep_pads_every_rank_to_the_same_steps_and_syncs_on_the_last():
    assert lockstep(["a", "b"], 3) == [("a", False), ("b", False), (None, True)]
    assert lockstep([], 1) == [(None, True)]
    with pytest.raises(ValueError):
        lockstep(["a", "b"], 1)


# --- a real two-process job ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny chat-style checkpoint and five sampled episodes with made-up step rewards."""
    from agentgym.models import TinyModelConfig, make_tiny_checkpoint
    from agentgym.policies.hf import HFPolicy
    from agentgym.prompts import ReActFormat, save_prompt_settings
    from agentgym.rollout import RolloutConfig, rollout
    from agentgym.storage import load_trajectories, save_trajectories

    root = tmp_path_factory.mktemp("ddp")
    folder = make_tiny_checkpoint(root / "tiny", env_ids=[ENV], episodes=6, vocab_size=512,
                                  config=TinyModelConfig(arch="llama", hidden_size=64, layers=2,
                                                         heads=2))
    save_prompt_settings(folder, ReActFormat(history_style="chat", think=False, max_admissible=0))
    policy = HFPolicy(str(folder), temperature=1.0, max_new_tokens=12, seed=3)
    trajs = rollout(ENV, policy, episodes=3, group_size=2, seed=5,
                    config=RolloutConfig(num_envs=6, max_episode_steps=4, progress=False))[:5]
    rng = np.random.default_rng(0)
    for traj in trajs:
        for step in traj.steps:
            step.rewards["total"] = float(rng.normal())
    path = save_trajectories(trajs, root / "episodes.jsonl")
    return folder, path, load_trajectories(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_job(checkpoint: Path, episodes: Path, out: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port())}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(name, None)
    settings = json.dumps([{**BASE, **s} for s in SETTINGS])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           f"--master_addr={env['MASTER_ADDR']}", f"--master_port={env['MASTER_PORT']}",
           str(SCRIPT), str(checkpoint), str(episodes), str(out), settings]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]


def _single_process(checkpoint: Path, trajectories, settings: dict):
    from agentgym.trainers.ppo import PPOConfig, PPOTrainer

    from ddp_ppo_script import weights

    trainer = PPOTrainer(checkpoint, PPOConfig(**BASE, **settings))
    start = weights(trainer)
    metrics = trainer.update(trajectories, seed=7)
    return start, weights(trainer), metrics


@pytest.mark.slow
def test_two_gloo_ranks_train_one_ppo_update_like_one_process(data, tmp_path):
    from agentgym.trainers.ppo import PPOConfig, PPOTrainer

    from ddp_ppo_script import weights

    checkpoint, path, trajectories = data
    _run_job(checkpoint, path, tmp_path)
    dummies = 0
    for i, settings in enumerate(SETTINGS):
        folder = tmp_path / str(i)
        ranks = [torch.load(folder / f"rank{r}.pt") for r in range(2)]
        info = [json.loads((folder / f"rank{r}.json").read_text()) for r in range(2)]
        assert [x["episodes"] for x in info] == [3, 2]  # different shards
        assert [x["sharded"] for x in info] == [settings.get("parallel") == "fsdp"] * 2
        dummies += sum(x["dummy_steps"] for x in info)
        start, alone, metrics = _single_process(checkpoint, trajectories, settings)
        assert ranks[0].keys() == ranks[1].keys() == alone.keys()
        for name in alone:
            # (1) the ranks agree exactly; (2) every tensor moved; (3) as one process on it all,
            # up to float rounding: the gradients are summed in another order, and Adam divides
            # each coordinate by its own gradient's size, so a coordinate whose gradient is
            # rounding noise can be off by a few % of lr (3e-3): measured, the updates agree to
            # ~2e-5 of their norm, the worst coordinate to ~3e-5
            assert torch.equal(ranks[0][name], ranks[1][name]), name
            assert not torch.equal(ranks[0][name], start[name]), name
            step = alone[name] - start[name]
            off = float((ranks[0][name] - alone[name]).norm() / step.norm())
            assert off < 2e-4, (name, off)
            torch.testing.assert_close(ranks[0][name], alone[name], atol=2e-4, rtol=0,
                                       msg=lambda m, n=name: f"{n}: {m}")
        # metrics are the whole batch's, the same on both ranks
        assert info[0]["metrics"] == info[1]["metrics"]
        for key in ("train/turns", "train/optimizer_steps", "train/reward_mean"):
            assert info[0]["metrics"][key] == metrics[key], key
        for key in ("loss/policy", "loss/value", "loss/total", "train/grad_norm"):
            assert info[0]["metrics"][key] == pytest.approx(metrics[key], rel=1e-4, abs=1e-6)
        # only rank 0 wrote the checkpoint, and it holds the trained weights
        assert (folder / "ckpt-rank0" / "config.json").exists()
        assert not (folder / "ckpt-rank1").exists()
        if settings["critic"] != "none":
            saved = torch.load(folder / "ckpt-rank0" / "critic.pt", weights_only=False)
            assert torch.equal(saved["head"]["weight"], ranks[0]["head.weight"])
        if info[0]["sharded"]:  # FSDP saved whole tensors: one process resumes the same way
            resumed = [torch.load(folder / f"rank{r}-resumed.pt") for r in range(2)]
            again = PPOTrainer(folder / "ckpt-rank0", PPOConfig(**BASE, **settings))
            before = weights(again)
            for name, value in before.items():
                assert torch.equal(value, ranks[0][name]), name
            again.update(trajectories, seed=8)
            for name, value in weights(again).items():
                assert torch.equal(resumed[0][name], resumed[1][name]), name
                step = value - before[name]
                off = float((resumed[0][name] - value).norm() / step.norm())
                assert off < 2e-4, (name, off)
    assert dummies > 0  # some rank had fewer micro-batches and stayed in step with empty ones
