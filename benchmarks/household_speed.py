"""Speed and memory of ``agentgym/Household-v0``, against its peers in the same run.

What is measured (median of ``--repeats`` interleaved repeats):

* ``bare`` steps/s: a plain loop over ``env.step`` on one ``gymnasium.make`` env choosing random
  admissible actions (seeded), resetting to the next seed when an episode ends. Every step pays
  the whole env contract: admissible commands, the oracle's ``expert_action`` and
  ``expert_thought`` (a random agent leaves the plan at nearly every step, so the oracle
  re-plans), reward terms, info. Reported with resets timed apart (``steps only``) and included.
* the same loop on ``agentgym/KeyDoor-v0`` (``keydoor`` peer) and, where ALFWorld is installed,
  on ALFWorld's own engine (``alfworld`` peer: TextWorld's PDDL env with ALFWorld's wrappers,
  playing our tasks exported to PDDL; fewer steps, it is slow).
* reset time: a task seen for the first time (scene generated, engine built) and a task seen
  before (cached, immutable initial state).
* memory of 1,000 envs alive at once in one process, each reset to a different task: Python
  heap (``tracemalloc``) and resident-set growth.

Usage::

    python benchmarks/household_speed.py [--quick] [--out benchmarks/results/household_speed.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import agentgym.envs  # noqa: F401  (registers the envs)
import gymnasium as gym
import numpy as np

ENV_ID = "agentgym/Household-v0"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bare_loop(env_id: str, steps: int, first_seed: int = 0, **kwargs: Any) -> dict[str, float]:
    """Random admissible actions; returns steps/s with and without reset time, and resets."""
    env = gym.make(env_id, **kwargs)
    rng = np.random.default_rng(0)
    seed = first_seed
    obs, _ = env.reset(seed=seed)
    reset_time, resets = 0.0, 0
    start = time.perf_counter()
    for _ in range(steps):
        actions = obs["admissible_actions"]
        obs, _, terminated, truncated, _ = env.step(actions[int(rng.integers(len(actions)))])
        if terminated or truncated:
            seed += 1
            t = time.perf_counter()
            obs, _ = env.reset(seed=seed)
            reset_time += time.perf_counter() - t
            resets += 1
    total = time.perf_counter() - start
    return {"steps_per_s": steps / total, "steps_only_per_s": steps / (total - reset_time),
            "resets": resets}


def reset_times(n: int, first_seed: int) -> dict[str, float]:
    """Mean reset time of tasks never seen in this process, then of the same tasks again."""
    env = gym.make(ENV_ID)
    out = {}
    for label in ("new_task_us", "cached_task_us"):
        start = time.perf_counter()
        for seed in range(first_seed, first_seed + n):
            env.reset(seed=seed)
        out[label] = (time.perf_counter() - start) / n * 1e6
    return out


def memory_of_envs(n: int) -> dict[str, float]:
    """Heap and RSS growth of ``n`` live envs, each reset to its own task and stepped once.

    Run first, before any other env of this process has built a task, so the tasks' engines
    (scene, tables, caches) are counted; one env of another split warms the imports up.
    """
    gym.make(ENV_ID, split="valid_unseen").reset(seed=0)
    gc.collect()
    rss0 = _rss_mb()
    tracemalloc.start()
    envs = []
    for seed in range(n):
        env = gym.make(ENV_ID)
        obs, _ = env.reset(seed=seed)
        env.step(obs["admissible_actions"][0])
        envs.append(env)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    return {"envs": n, "tracemalloc_mb": current / 2**20, "rss_growth_mb": _rss_mb() - rss0,
            "per_env_kb": current / n / 1024}


def alfworld_loop(tasks: int, steps: int) -> dict[str, float] | None:
    """ALFWorld's engine on our tasks exported to PDDL (None when ALFWorld is not installed)."""
    from agentgym.envs.household.alfworld_engine import AlfworldEngine, alfworld_available
    from agentgym.envs.household.catalog import task_def
    from agentgym.envs.household.pddl import export_problem
    from agentgym.envs.household.task import build_engine

    if not alfworld_available():
        return None
    rng = np.random.default_rng(0)
    problems = [build_engine(task_def("train", i * 97)) for i in range(tasks)]
    load_time = step_time = 0.0
    done = 0
    with AlfworldEngine(export_problem(problems[0][1])) as ref:
        for engine, state in problems:
            t = time.perf_counter()
            ref.load(export_problem(state), task=engine.goal.text)
            _, admissible, _ = ref.reset()
            load_time += time.perf_counter() - t
            t = time.perf_counter()
            for _ in range(steps):
                _, admissible, won, _ = ref.step(admissible[int(rng.integers(len(admissible)))])
                done += 1
                if won:
                    break
            step_time += time.perf_counter() - t
    return {"steps_per_s": done / step_time, "reset_ms": load_time / tasks * 1e3, "steps": done}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    default_out = Path("benchmarks/results/household_speed.json")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    steps = 20_000 if args.quick else 100_000
    memory = memory_of_envs(200 if args.quick else 1_000)
    runs: dict[str, list[dict[str, float]]] = {"household": [], "keydoor": []}
    for r in range(repeats):
        # A fresh seed range per repeat: every reset builds a task never seen before.
        runs["household"].append(bare_loop(ENV_ID, steps, first_seed=r * 2_000))
        runs["keydoor"].append(bare_loop("agentgym/KeyDoor-v0", steps))
    med = {name: {k: statistics.median(x[k] for x in rs) for k in rs[0]}
           for name, rs in runs.items()}
    payload = {
        "date": dt.date.today().isoformat(),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "steps_per_repeat": steps, "repeats": repeats, "median": med, "runs": runs,
        "reset": reset_times(300 if args.quick else 1_000, first_seed=50_000),
        "memory": memory,
        "alfworld": alfworld_loop(2 if args.quick else 4, 25 if args.quick else 40),
    }
    h, k, a = med["household"], med["keydoor"], payload["alfworld"]
    lines = [
        f"Household-v0 bare loop: {h['steps_per_s']:,.0f} steps/s with resets, "
        f"{h['steps_only_per_s']:,.0f} steps only ({h['resets']:.0f} resets per repeat)",
        f"KeyDoor-v0 bare loop (peer): {k['steps_per_s']:,.0f} steps/s "
        f"(Household/KeyDoor = {h['steps_per_s'] / k['steps_per_s']:.2f})",
        f"reset: {payload['reset']['new_task_us']:.0f} us new task, "
        f"{payload['reset']['cached_task_us']:.0f} us cached task",
        f"memory of {payload['memory']['envs']} envs: {payload['memory']['tracemalloc_mb']:.1f} MB "
        f"heap (tracemalloc), {payload['memory']['rss_growth_mb']:.1f} MB RSS growth",
    ]
    if a:
        lines.append(f"ALFWorld engine (peer): {a['steps_per_s']:.1f} steps/s, "
                     f"reset {a['reset_ms']:.0f} ms "
                     f"(Household/ALFWorld = {h['steps_per_s'] / a['steps_per_s']:,.0f}x)")
    sys.stdout.write("\n".join(lines) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
