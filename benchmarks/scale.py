"""Rollout throughput on Ray env workers against the in-process engine, one run (issue 9).

The same episodes (the oracle on the first ``--episodes`` test tasks of a slow env) are rolled
out by the rollout engine with ``num_envs`` slots: in this process (``rollout.workers=0``), in
local subprocess workers, and on 1, 2 and 4 Ray actors (``rollout.backend=ray``, a local Ray
started once for the run). Timed: ``engine.run`` (env resets and steps, the policy, the messages
to the workers); making the engine (launching the envs, e.g. their Chromiums) is reported apart.
Every runner must return the same trajectories (checked), so only the time differs. An untimed
in-process pass warms the caches first; then ``--repeats`` rounds run every runner once each
(the order rotating), and each runner's figures are from its median round.

The default env is the web shop in Chromium (``agentgym/WebShop-v0``, ``backend=browser``), the
slowest env here (a navigation and an accessibility tree per step); ``--env textworld`` uses
TextWorld games instead.

Usage::

    .venv/bin/python benchmarks/scale.py [--episodes 24] [--num-envs 4] [--env web|textworld]
        [--repeats 3] [--out benchmarks/results/scale.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import agentgym  # noqa: F401  (registers the envs)
from agentgym.policies.base import OraclePolicy
from agentgym.rollout import RolloutConfig, RolloutEngine

ROOT = Path(__file__).resolve().parent.parent
ENVS = {
    "web": ("agentgym/WebShop-v0", {"split": "test", "backend": "browser"}),
    "textworld": ("agentgym/TextWorld-v0", {
        "split": "test", "challenge": "tw-treasure_hunter", "options": {"level": 5},
        "num_games": 8, "cache_dir": str(ROOT / ".scratch" / "textworld")}),
}


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")


def _signature(trajs: list[Any]) -> list[tuple]:
    return [(t.seed, t.success, tuple(s.action for s in t.steps)) for t in trajs]


def _measure(env_id: str, kwargs: dict[str, Any], config: RolloutConfig,
             episodes: int) -> tuple[dict[str, Any], list[tuple]]:
    started = time.perf_counter()
    cpu = os.times()
    with RolloutEngine(env_id, env_kwargs=kwargs, config=config) as engine:
        ready = time.perf_counter()
        trajs = engine.run(OraclePolicy(), episodes=episodes, seed=0)
        wall = time.perf_counter() - ready
    closed = time.perf_counter()
    steps = sum(len(t.steps) for t in trajs)
    used = os.times()
    return ({"startup_s": ready - started, "run_s": wall, "close_s": closed - ready - wall,
             "episodes": len(trajs), "steps": steps, "episodes_per_s": len(trajs) / wall,
             "steps_per_s": steps / wall, "won": sum(t.success for t in trajs),
             "driver_cpu_s": (used.user - cpu.user) + (used.system - cpu.system),
             "load_after": os.getloadavg()[0]}, _signature(trajs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=24)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--env", choices=sorted(ENVS), default="web")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/scale.json")
    args = parser.parse_args()
    env_id, kwargs = ENVS[args.env]
    from agentgym.ray_envs import init_ray

    scratch = tempfile.mkdtemp(prefix="agentgym-ray-")
    init_ray(scratch=scratch)
    runners = {"in-process": RolloutConfig(num_envs=args.num_envs, progress=False),
               "subprocess-2": RolloutConfig(num_envs=args.num_envs, workers=2, progress=False)}
    for workers in (1, 2, 4):
        runners[f"ray-{workers}"] = RolloutConfig(
            num_envs=args.num_envs, workers=workers, backend="ray", progress=False,
            ray_cpus_per_worker=0.5)
    result: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "argv": sys.argv[1:],
        "env": env_id, "env_kwargs": kwargs, "cpus": os.cpu_count(), "cpu_model": _cpu_model(),
        "load_start": os.getloadavg(), "runs": {}}
    _, reference = _measure(env_id, kwargs, runners["in-process"], args.episodes)  # warm-up
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    names = list(runners)
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            print(f"round {r + 1}: {name} ...", file=sys.stderr, flush=True)
            figures, signature = _measure(env_id, kwargs, runners[name], args.episodes)
            figures["same_trajectories"] = signature == reference
            rounds[name].append(figures)
    for name, runs in rounds.items():
        runs.sort(key=lambda f: f["run_s"])
        result["runs"][name] = {**runs[len(runs) // 2], "run_s_all": [f["run_s"] for f in runs],
                                "same_trajectories": all(f["same_trajectories"] for f in runs)}
    base = result["runs"]["in-process"]["steps_per_s"]
    lines = ["| runner | start-up s | run s (median; all) | episodes/s | steps/s | x in-process "
             "| same trajectories |", "|---|---|---|---|---|---|---|"]
    for name, r in result["runs"].items():
        spread = ", ".join(f"{t:.1f}" for t in r["run_s_all"])
        lines.append(f"| {name} | {r['startup_s']:.1f} | {r['run_s']:.1f} ({spread}) | "
                     f"{r['episodes_per_s']:.2f} | {r['steps_per_s']:.1f} | "
                     f"{r['steps_per_s'] / base:.2f}x | {r['same_trajectories']} |")
    result["table"] = "\n".join(lines)
    result["load_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{env_id} {kwargs}; {result['cpu_model']}, {result['cpus']} CPUs; load "
          f"{result['load_start'][0]:.2f} -> {result['load_end'][0]:.2f}\n\n{result['table']}")


if __name__ == "__main__":
    main()
