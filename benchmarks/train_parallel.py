"""One PPO update in one process, and on 2 ranks with DDP and with FSDP: time and memory per rank.

Issue 9's training measurement. One run builds a Llama-shaped checkpoint (random weights, the
locally trained tokenizer; nothing is downloaded), collects ``--episodes`` oracle episodes of
the household world, and times ``--updates`` PPO updates (shared critic, GAE, one epoch; the
first update is a warm-up and not counted) in three runners:

* ``one``: a single process with ``--threads`` torch threads (the peer);
* ``ddp``: ``torchrun --nproc_per_node=2`` (gloo), a whole model per rank, gradients averaged;
* ``fsdp``: the same with ``trainer.parallel=fsdp``: parameters, gradients and AdamW moments
  sharded over the ranks.

Per rank it reports the bytes of parameters, gradients and optimizer state that rank holds
(counted from the tensors: shards count their local part) and the process's peak RSS, and the
largest difference of the final weights from the single process's.

Usage::

    .venv/bin/python benchmarks/train_parallel.py [--size medium] [--episodes 16]
        [--updates 3] [--out benchmarks/results/train_parallel.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENV = "agentgym/Household-v0"
#: name -> (hidden size, layers, heads, MLP width)
SIZES = {"tiny": (128, 2, 4, 384), "small": (512, 6, 8, 1536), "medium": (1024, 8, 16, 2816)}
SETTINGS = {"advantage": "gae", "critic": "shared", "epochs": 1, "minibatch_turns": 16,
            "micro_tokens": 4096, "lr": 1e-5, "progress": False, "device": "cpu"}


def _prepare(root: Path, size: str, episodes: int) -> tuple[Path, Path]:
    """A checkpoint and oracle episodes with made-up step rewards, in ``root``."""
    import numpy as np

    from agentgym.models import TinyModelConfig, make_tiny_checkpoint
    from agentgym.policies.registry import make_policy
    from agentgym.rollout import RolloutConfig, rollout
    from agentgym.storage import save_trajectories

    hidden, layers, heads, mlp = SIZES[size]
    folder = make_tiny_checkpoint(root / size, env_ids=[ENV], episodes=8, vocab_size=2048,
                                  config=TinyModelConfig(arch="llama", hidden_size=hidden,
                                                         layers=layers, heads=heads,
                                                         intermediate_size=mlp))
    trajs = rollout(ENV, make_policy({"name": "oracle"}), episodes=episodes, seed=0,
                    config=RolloutConfig(num_envs=4, max_episode_steps=12, progress=False))
    rng = np.random.default_rng(0)
    for traj in trajs:
        for step in traj.steps:
            step.rewards["total"] = float(rng.normal())
    return folder, save_trajectories(trajs, root / "episodes.jsonl")


def _held_bytes(trainer) -> dict[str, float]:
    """MB of parameters, gradients and optimizer state on this rank (local shards only)."""
    import torch

    def local(t) -> int:
        t = t.to_local() if hasattr(t, "to_local") else t
        return t.numel() * t.element_size()

    params = [p for g in trainer.optimizer.param_groups for p in g["params"]]
    state = sum(local(v) for p in params for v in trainer.optimizer.state.get(p, {}).values()
                if torch.is_tensor(v))
    return {"params_mb": sum(local(p) for p in params) / 2**20,
            "grads_mb": sum(local(p.grad) for p in params if p.grad is not None) / 2**20,
            "optimizer_mb": state / 2**20}


def _whole_weights(trainer) -> dict[str, Any]:
    """The policy's weights as whole CPU tensors (a collective when sharded)."""
    return {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().cpu().clone()
            for k, v in trainer.model.named_parameters()}


def worker(checkpoint: str, episodes: str, updates: int, parallel: str, out: str) -> None:
    """One runner's updates (under torchrun, or alone); writes ``out``(.rank<r>).json."""
    import torch

    from agentgym.storage import load_trajectories
    from agentgym.trainers.distributed import destroy, init_distributed, shard
    from agentgym.trainers.ppo import PPOConfig, PPOTrainer

    info = init_distributed(device="cpu")
    trajs = load_trajectories(episodes)
    mine = shard(trajs, info) if info.distributed else trajs
    trainer = PPOTrainer(checkpoint, PPOConfig(**SETTINGS, parallel=parallel))
    times = []
    for k in range(updates):
        started = time.perf_counter()
        trainer.update(mine, seed=k)
        times.append(time.perf_counter() - started)
    held = _held_bytes(trainer)
    weights = _whole_weights(trainer)
    if info.is_main:
        torch.save(weights, out + ".weights.pt")
    row = {"rank": info.rank, "update_s": times, **held,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    Path(f"{out}.rank{info.rank}.json").write_text(json.dumps(row))
    destroy()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(name: str, checkpoint: Path, episodes: Path, updates: int, threads: int,
         root: Path) -> dict[str, Any]:
    out = str(root / name)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    args = [__file__, "--worker", str(checkpoint), str(episodes), str(updates),
            "fsdp" if name == "fsdp" else "ddp", out]
    if name == "one":
        cmd = [sys.executable, *args]
        env["OMP_NUM_THREADS"] = str(threads)
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
               "--master_addr=127.0.0.1", f"--master_port={_port()}", *args]
        env["OMP_NUM_THREADS"] = "1"
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-4000:]}")
    ranks = [json.loads(p.read_text()) for p in sorted(root.glob(f"{name}.rank*.json"))]
    return {"wall_s": time.perf_counter() - started, "ranks": ranks,
            "update_s": statistics.median(ranks[0]["update_s"][1:] or ranks[0]["update_s"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=sorted(SIZES))
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads of the single process (each rank gets 1)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/train_parallel.json")
    args = parser.parse_args()
    import torch
    from web_speed import _cpu_model  # this folder is on the path when run as a script

    result: dict[str, Any] = {"date": dt.datetime.now().isoformat(timespec="seconds"),
                              "argv": sys.argv[1:], "cpu_model": _cpu_model(),
                              "cpus": os.cpu_count(), "torch": torch.__version__,
                              "settings": SETTINGS, "load_start": os.getloadavg(), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        checkpoint, episodes = _prepare(root, args.size, args.episodes)
        for name in ("one", "ddp", "fsdp"):
            print(f"{name} ...", file=sys.stderr, flush=True)
            result["runs"][name] = _run(name, checkpoint, episodes, args.updates, args.threads,
                                        root)
        alone = torch.load(root / "one.weights.pt")
        for name in ("ddp", "fsdp"):
            other = torch.load(root / f"{name}.weights.pt")
            result["runs"][name]["max_abs_diff_vs_one"] = max(
                float((other[k] - alone[k]).abs().max()) for k in alone)
        result["parameters"] = sum(v.numel() for v in alone.values())
    result["load_end"] = os.getloadavg()
    lines = ["| runner | update s (median) | x one process | params MB / rank | grads MB / "
             "rank | AdamW state MB / rank | peak RSS MB / rank | max abs diff vs one |",
             "|---|---|---|---|---|---|---|---|"]
    base = result["runs"]["one"]["update_s"]
    for name, run in result["runs"].items():
        r = run["ranks"]
        lines.append(
            f"| {name} | {run['update_s']:.2f} | {base / run['update_s']:.2f}x | "
            f"{max(x['params_mb'] for x in r):.0f} | {max(x['grads_mb'] for x in r):.0f} | "
            f"{max(x['optimizer_mb'] for x in r):.0f} | {max(x['peak_rss_mb'] for x in r):.0f} "
            f"| {run.get('max_abs_diff_vs_one', 0.0):.1e} |")
    result["table"] = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['parameters'] / 1e6:.1f}M parameters")
    print(result["table"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(ROOT))
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        main()
