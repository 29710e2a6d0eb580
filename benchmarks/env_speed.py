"""Speed and memory of ``agentgym/Household-v0`` against ALFWorld's engine and TextWorld, one run.

The issue's benchmark: steps/s and reset time of Household-v0 against ALFWorld's own engine on the
*same* exported problems with the *same* commands, and against TextWorld; memory of 1,000
concurrent Household envs in one process. Goals: >= 20,000 steps/s on one core, >= 200x ALFWorld's
engine, 1,000 envs under 500 MB.

What is measured:

1. **Household-v0 bare loop.** One ``gymnasium.make`` env, random admissible actions (seeded),
   reset to the next seed when an episode ends; ``--steps`` steps per repeat, median of
   ``--repeats``. Every step pays the whole env contract: admissible commands, the oracle's
   ``expert_action``/``expert_thought`` (a random agent leaves the plan at nearly every step, so
   the oracle re-plans), reward terms, info. The task cache is emptied before each repeat, so every
   reset builds a task never built before (scene + engine). Reported with resets included and
   timed apart; reset time of a new task and of a cached one. ``agentgym/KeyDoor-v0`` runs the
   same loop (fewer steps) as a cheap in-house peer.
2. **ALFWorld's engine on the same tasks.** 18 tasks, three of each of the six types (two from
   ``train``, one from ``valid_unseen``), are played once by Household-v0 with random admissible
   commands (seeded, at most 50 steps: the registered horizon); the command sequences are
   recorded. Each task is exported to PDDL
   (``export_problem``) and loaded into ALFWorld's engine (``AlfworldEngine``: TextWorld's PDDL
   env + ALFWorld's wrappers), which replays the same commands; its text, admissible commands and
   win flag are compared with ours (untimed). Household replays them too, with the task cache
   emptied first (every reset builds the task): as ``gymnasium.make`` env (oracle and all) and as
   the bare engine (``Task.apply`` + admissible commands: the same work as ALFWorld's
   ``step``), median of 9 passes (ALFWorld: one pass, about two minutes). Reset/load time:
   ALFWorld's ``load`` + ``reset`` against our reset of a new task.
3. **TextWorld.** A few tw-cooking games: random admissible commands are recorded with raw
   ``textworld.start(path, request_infos=EnvInfos(admissible_commands=True))`` and replayed in it
   and in ``agentgym/TextWorld-v0`` (``gymnasium.make``, games given as files; also with
   ``description_and_inventory=False``); median of interleaved repeats.
4. **Memory.** ``--envs`` envs alive at once in a fresh process, each reset to its own task and
   stepped once: Python heap (``tracemalloc``) and resident-set growth, plus the whole process's
   RSS; Household-v0 and KeyDoor-v0.

The machine may be shared: the load average is recorded at start and end, and every timed section
records how many cores *other* processes used meanwhile (``foreign``, from ``/proc``).

Usage::

    python benchmarks/env_speed.py [--quick] [--textworld-cache DIR]
        [--out benchmarks/results/env_speed.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import agentgym.envs  # noqa: F401  (registers the envs)
import gymnasium as gym
import numpy as np

HOUSEHOLD = "agentgym/Household-v0"
KEYDOOR = "agentgym/KeyDoor-v0"
TEXTWORLD = "agentgym/TextWorld-v0"
TW_OPTIONS = {"recipe": 2, "take": 2, "go": 6, "open": True, "cook": True, "cut": True}
GOAL_STEPS_PER_S, GOAL_RATIO, GOAL_MB = 20_000, 200, 500

# -- machine and load ------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return ""


def _busy_s() -> float | None:
    """CPU seconds the whole machine has been busy (all but idle and iowait), or None."""
    try:
        ticks = Path("/proc/stat").read_text().split()[1:9]
    except OSError:
        return None
    return sum(int(v) for i, v in enumerate(ticks) if i not in (3, 4)) / os.sysconf("SC_CLK_TCK")


@contextmanager
def watched(record: dict[str, Any]) -> Iterator[None]:
    """Put into ``record`` the wall time and the cores other processes used meanwhile."""
    busy0, own0, t0 = _busy_s(), sum(os.times()[:4]), time.perf_counter()
    yield
    wall = time.perf_counter() - t0
    busy1, own1 = _busy_s(), sum(os.times()[:4])
    record["wall_s"] = wall
    if busy0 is not None and busy1 is not None and wall > 0:
        record["foreign_cores"] = max(0.0, (busy1 - busy0 - (own1 - own0)) / wall)


def _empty_task_cache() -> None:
    """Forget every built household task, so the next reset of any task builds it anew."""
    from agentgym.envs.household.task import _cached_engine

    _cached_engine.cache_clear()
    gc.collect()


# -- 1. bare loops ---------------------------------------------------------------------------------


def bare_loop(env_id: str, steps: int, first_seed: int = 0) -> dict[str, float]:
    """Random admissible actions; steps/s with and without reset time, and the resets done."""
    env = gym.make(env_id)
    rng = np.random.default_rng(first_seed)
    seed = first_seed
    obs, _ = env.reset(seed=seed)
    reset_time, resets = 0.0, 0
    record: dict[str, Any] = {}
    with watched(record):
        for _ in range(steps):
            actions = obs["admissible_actions"]
            obs, _, terminated, truncated, _ = env.step(actions[int(rng.integers(len(actions)))])
            if terminated or truncated:
                seed += 1
                t = time.perf_counter()
                obs, _ = env.reset(seed=seed)
                reset_time += time.perf_counter() - t
                resets += 1
    total = record["wall_s"]
    return {"steps_per_s": steps / total, "steps_only_per_s": steps / (total - reset_time),
            "resets": resets, "reset_us": reset_time / max(resets, 1) * 1e6,
            "foreign_cores": record.get("foreign_cores", float("nan"))}


def reset_times(n: int, first_seed: int) -> dict[str, float]:
    """Mean reset time of ``n`` tasks never built in this process, then of the same again."""
    _empty_task_cache()
    env = gym.make(HOUSEHOLD)
    out = {}
    for label in ("new_task_us", "cached_task_us"):
        start = time.perf_counter()
        for seed in range(first_seed, first_seed + n):
            env.reset(seed=seed)
        out[label] = (time.perf_counter() - start) / n * 1e6
    return out


def bare_loops(steps: int, keydoor_steps: int, repeats: int) -> dict[str, Any]:
    """Household-v0 and KeyDoor-v0 bare loops, interleaved repeats, medians."""
    runs: dict[str, list[dict[str, float]]] = {"household": [], "keydoor": []}
    for _ in range(repeats):
        _empty_task_cache()  # every reset of the repeat builds a new task
        runs["household"].append(bare_loop(HOUSEHOLD, steps))
        runs["keydoor"].append(bare_loop(KEYDOOR, keydoor_steps))
    median = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
              for name, rs in runs.items()}
    return {"steps": {"household": steps, "keydoor": keydoor_steps}, "repeats": repeats,
            "median": median, "runs": runs}


# -- 2. ALFWorld's engine on the same tasks --------------------------------------------------------


def pick_tasks(per_type: dict[str, int]) -> list[tuple[str, int]]:
    """The first ``per_type[split]`` tasks of each of the six types of each split (train: every
    7th index, so the tasks spread over the catalog)."""
    from agentgym.envs.household.catalog import split_size, task_def
    from agentgym.envs.household.goals import TASK_TYPES

    picks: list[tuple[str, int]] = []
    for split, wanted in per_type.items():
        counts = dict.fromkeys(TASK_TYPES, 0)
        for index in range(0, split_size(split), 7 if split == "train" else 1):
            kind = task_def(split, index).goal.task_type
            if counts[kind] < wanted:
                counts[kind] += 1
                picks.append((split, index))
            if min(counts.values()) == wanted:
                break
    return picks


def record_commands(tasks: list[tuple[str, int]], max_steps: int) -> list[list[str]]:
    """Household-v0 plays each task with random admissible commands (seeded per task)."""
    envs = {split: gym.make(HOUSEHOLD, split=split) for split, _ in tasks}
    sequences = []
    for k, (split, index) in enumerate(tasks):
        rng = np.random.default_rng(10_000 + k)
        obs, _ = envs[split].reset(seed=index)
        commands: list[str] = []
        for _ in range(max_steps):
            actions = obs["admissible_actions"]
            commands.append(actions[int(rng.integers(len(actions)))])
            obs, _, terminated, truncated, _ = envs[split].step(commands[-1])
            if terminated or truncated:
                break
        sequences.append(commands)
    return sequences


def household_replay(tasks: list[tuple[str, int]], sequences: list[list[str]]) -> dict[str, float]:
    """Household-v0 (``gymnasium.make``) replays the sequences; every reset builds its task."""
    _empty_task_cache()
    envs = {split: gym.make(HOUSEHOLD, split=split) for split, _ in tasks}
    reset_s = step_s = 0.0
    for (split, index), commands in zip(tasks, sequences, strict=True):
        env = envs[split]
        t0 = time.perf_counter()
        env.reset(seed=index)
        t1 = time.perf_counter()
        for command in commands:
            env.step(command)
        t2 = time.perf_counter()
        reset_s, step_s = reset_s + t1 - t0, step_s + t2 - t1
    steps = sum(map(len, sequences))
    return {"steps_per_s": steps / step_s, "reset_us": reset_s / len(tasks) * 1e6}


def engine_replay(
    tasks: list[tuple[str, int]], sequences: list[list[str]], outputs: list | None = None
) -> dict[str, float]:
    """Our bare engine replays the sequences (text, admissible commands, win flag per step, as
    ALFWorld's ``step`` returns); every task is built anew. ``outputs`` collects them."""
    from agentgym.envs.household import HouseholdTask
    from agentgym.envs.household.catalog import task_def
    from agentgym.envs.household.task import build_engine

    _empty_task_cache()
    task = HouseholdTask()
    reset_s = step_s = 0.0
    for (split, index), commands in zip(tasks, sequences, strict=True):
        t0 = time.perf_counter()
        engine, state = build_engine(task_def(split, index))
        seen = [(engine.intro(state), engine.admissible(state), state.won)]
        t1 = time.perf_counter()
        for command in commands:
            outcome = task.apply(state, command)
            state = outcome.state
            seen.append((outcome.text, engine.admissible(state), state.won))
        t2 = time.perf_counter()
        reset_s, step_s = reset_s + t1 - t0, step_s + t2 - t1
        if outputs is not None:
            outputs.append(seen)
    steps = sum(map(len, sequences))
    return {"steps_per_s": steps / step_s, "reset_us": reset_s / len(tasks) * 1e6}


def alfworld_replay(
    tasks: list[tuple[str, int]], sequences: list[list[str]], expected: list
) -> dict[str, Any]:
    """ALFWorld's engine loads each exported task and replays its sequence; outputs compared."""
    from agentgym.envs.household.alfworld_engine import AlfworldEngine
    from agentgym.envs.household.catalog import task_def
    from agentgym.envs.household.pddl import export_problem
    from agentgym.envs.household.task import build_engine

    problems = []
    for split, index in tasks:
        engine, state = build_engine(task_def(split, index))
        problems.append((export_problem(state), engine.goal.text))
    out: dict[str, Any] = {"load_s": [], "step_s": [], "steps": [], "same": 0, "compared": 0,
                           "invalid": 0}
    t = time.perf_counter()
    ref = AlfworldEngine(problems[0][0], task=problems[0][1])
    out["startup_s"] = time.perf_counter() - t  # imports, library copy, first translation
    with ref, watched(out):
        for (problem, goal), commands, ours in zip(problems, sequences, expected, strict=True):
            t0 = time.perf_counter()
            ref.load(problem, task=goal)
            text, admissible, _ = ref.reset()
            t1 = time.perf_counter()
            seen = [(text, admissible, False)]
            for command in commands:
                text, admissible, won, info = ref.step(command)
                seen.append((text, admissible, won))
                out["invalid"] += not info["valid"]
            t2 = time.perf_counter()
            out["load_s"].append(t1 - t0)
            out["step_s"].append(t2 - t1)
            out["steps"].append(len(commands))
            out["same"] += sum(a == b for a, b in zip(seen, ours, strict=True))
            out["compared"] += len(ours)
    out["steps_per_s"] = sum(out["steps"]) / sum(out["step_s"])
    out["load_reset_ms"] = statistics.mean(out["load_s"]) * 1e3
    return out


def alfworld_peer(
    per_type: dict[str, int], max_steps: int, passes: int
) -> dict[str, Any] | None:
    """Part 2: record, then replay in ALFWorld's engine and in ours (None: no ALFWorld)."""
    from agentgym.envs.household.alfworld_engine import alfworld_available
    from agentgym.envs.household.catalog import task_def

    if not alfworld_available():
        return None
    tasks = pick_tasks(per_type)
    sequences = record_commands(tasks, max_steps)
    expected: list = []
    engine_replay(tasks, sequences, expected)  # untimed: what ALFWorld should answer
    alfworld = alfworld_replay(tasks, sequences, expected)
    # Ours: the replay is short (tens of ms), so median of several passes, each with new tasks.
    gym_runs = [household_replay(tasks, sequences) for _ in range(passes)]
    engine_runs = [engine_replay(tasks, sequences) for _ in range(passes)]

    def med(runs: list[dict[str, float]]) -> dict[str, float]:
        return {k: statistics.median(r[k] for r in runs) for k in runs[0]}

    return {
        "tasks": [f"{s}[{i}] {task_def(s, i).goal.task_type}" for s, i in tasks],
        "steps": sum(map(len, sequences)), "max_steps": max_steps, "passes": passes,
        "household_gym": med(gym_runs), "household_engine": med(engine_runs),
        "household_gym_runs": gym_runs, "household_engine_runs": engine_runs,
        "alfworld": alfworld,
    }


# -- 3. TextWorld ----------------------------------------------------------------------------------


def _raw_textworld(path: Path) -> Any:
    import textworld

    return textworld.start(str(path), request_infos=textworld.EnvInfos(admissible_commands=True))


def record_tw_commands(paths: list[Path], episodes: int, max_steps: int) -> list[list[str]]:
    """Raw TextWorld plays each game ``episodes`` times with random admissible commands."""
    sequences = []
    for path in paths:
        env = _raw_textworld(path)
        for _ in range(episodes):
            rng = np.random.default_rng(len(sequences))
            state, commands = env.reset(), []
            for _ in range(max_steps):
                actions = state["admissible_commands"]
                commands.append(actions[int(rng.integers(len(actions)))])
                state, _, done = env.step(commands[-1])
                if done:
                    break
            sequences.append(commands)
        env.close()
    return sequences


def tw_raw_replay(paths: list[Path], sequences: list[list[str]], episodes: int) -> dict[str, float]:
    t = time.perf_counter()
    envs = [_raw_textworld(p) for p in paths]
    start_s, reset_s, step_s = time.perf_counter() - t, 0.0, 0.0
    for k, commands in enumerate(sequences):
        env = envs[k // episodes]
        t0 = time.perf_counter()
        env.reset()
        t1 = time.perf_counter()
        for command in commands:
            env.step(command)
        t2 = time.perf_counter()
        reset_s, step_s = reset_s + t1 - t0, step_s + t2 - t1
    for env in envs:
        env.close()
    return {"steps_per_s": sum(map(len, sequences)) / step_s,
            "reset_ms": reset_s / len(sequences) * 1e3, "start_ms": start_s / len(paths) * 1e3}


def tw_gym_replay(
    paths: list[Path], sequences: list[list[str]], episodes: int, **kwargs: Any
) -> dict[str, float]:
    t = time.perf_counter()
    env = gym.make(TEXTWORLD, game=[str(p) for p in paths], max_loaded=len(paths), **kwargs)
    for i in range(len(paths)):  # load every game once (TextWorld's start), timed as start-up
        env.reset(options={"game": i})
    start_s, reset_s, step_s = time.perf_counter() - t, 0.0, 0.0
    for k, commands in enumerate(sequences):
        t0 = time.perf_counter()
        env.reset(options={"game": k // episodes})
        t1 = time.perf_counter()
        for command in commands:
            env.step(command)
        t2 = time.perf_counter()
        reset_s, step_s = reset_s + t1 - t0, step_s + t2 - t1
    env.close()
    return {"steps_per_s": sum(map(len, sequences)) / step_s,
            "reset_ms": reset_s / len(sequences) * 1e3, "start_ms": start_s / len(paths) * 1e3}


def textworld_peer(games: int, episodes: int, max_steps: int, repeats: int,
                   cache_dir: str | None) -> dict[str, Any] | None:
    """Part 3: raw TextWorld and TextWorld-v0 replay the same commands (None: no TextWorld)."""
    try:
        from agentgym.envs.textworld.games import make_games
    except ImportError:
        return None
    warnings.filterwarnings("ignore", module=r"jericho(\.|$)")
    paths = make_games("tw-cooking", range(games), TW_OPTIONS, cache_dir=cache_dir)
    sequences = record_tw_commands(paths, episodes, max_steps)
    runners: dict[str, Callable[[], dict[str, float]]] = {
        "raw": lambda: tw_raw_replay(paths, sequences, episodes),
        "gym": lambda: tw_gym_replay(paths, sequences, episodes),
        "gym_no_desc_inv": lambda: tw_gym_replay(paths, sequences, episodes,
                                                 description_and_inventory=False),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    record: dict[str, Any] = {}
    with watched(record):
        for _ in range(repeats):
            for name, fn in runners.items():
                runs[name].append(fn())
    median = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
              for name, rs in runs.items()}
    return {"games": [p.stem for p in paths], "episodes_per_game": episodes,
            "steps": sum(map(len, sequences)), "repeats": repeats, "median": median,
            "runs": runs, **record}


# -- 4. memory (in a fresh process) ----------------------------------------------------------------


def memory_probe(env_id: str, n: int) -> dict[str, float]:
    """Heap and RSS growth of ``n`` live envs, each reset to its own task and stepped once.

    Runs in a fresh interpreter; one env of another split / seed warms the imports up first.
    """
    warm = {"split": "valid_unseen"} if env_id == HOUSEHOLD else {}
    gym.make(env_id, **warm).reset(seed=10**6)
    gc.collect()
    rss0 = _rss_mb()
    tracemalloc.start()
    envs = []
    for seed in range(n):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=seed)
        env.step(obs["admissible_actions"][0])
        envs.append(env)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    rss1 = _rss_mb()
    return {"envs": n, "tracemalloc_mb": current / 2**20, "rss_growth_mb": rss1 - rss0,
            "per_env_kb": current / n / 1024, "rss_before_mb": rss0, "rss_after_mb": rss1}


def memory(env_id: str, n: int) -> dict[str, float]:
    """:func:`memory_probe` in a subprocess (nothing built by the other parts is counted)."""
    done = subprocess.run(
        [sys.executable, __file__, "--memory-probe", env_id, "--envs", str(n)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- report ----------------------------------------------------------------------------------------


def _n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def markdown(p: dict[str, Any]) -> str:
    """The results as markdown tables and a line per goal."""
    h, k = p["bare"]["median"]["household"], p["bare"]["median"]["keydoor"]
    rows = [
        "| runner | workload | env steps / s | reset | Household ÷ this |",
        "|---|---|---:|---:|---:|",
        f"| Household-v0, `gymnasium.make` | random admissible, "
        f"{_n(p['bare']['steps']['household'])} steps × {p['bare']['repeats']}, resets included | "
        f"{_n(h['steps_per_s'])} | "
        f"{_n(h['reset_us'])} µs (new task) | – |",
        f"| Household-v0, `gymnasium.make` | same, resets timed apart | "
        f"{_n(h['steps_only_per_s'])} | {_n(p['reset']['cached_task_us'])} µs (cached task) | – |",
        f"| KeyDoor-v0, `gymnasium.make` | random admissible, "
        f"{_n(p['bare']['steps']['keydoor'])} steps, resets included | {_n(k['steps_per_s'])} | "
        f"– | {h['steps_per_s'] / k['steps_per_s']:.2f} |",
    ]
    a = p["alfworld"]
    if a:
        g, e, ref = a["household_gym"], a["household_engine"], a["alfworld"]
        work = f"replay: {len(a['tasks'])} exported tasks, {a['steps']} steps"
        rows += [
            f"| Household-v0, `gymnasium.make` | {work} | {_n(g['steps_per_s'])} | "
            f"{_n(g['reset_us'])} µs (new task) | – |",
            f"| Household engine (`apply` + admissible) | same replay | "
            f"{_n(e['steps_per_s'])} | {_n(e['reset_us'])} µs (build) | – |",
            f"| ALFWorld engine (TextWorld PDDL env) | same replay | "
            f"{_n(ref['steps_per_s'], 1)} | {_n(ref['load_reset_ms'])} ms (load + reset) | "
            f"env {_n(g['steps_per_s'] / ref['steps_per_s'])}× · engine "
            f"{_n(e['steps_per_s'] / ref['steps_per_s'])}× |",
        ]
    t = p["textworld"]
    if t:
        m = t["median"]
        work = f"replay: {len(t['games'])} tw-cooking games, {t['steps']} steps"
        names = {"gym": "TextWorld-v0, `gymnasium.make`",
                 "gym_no_desc_inv": "TextWorld-v0, `description_and_inventory=False`",
                 "raw": "raw `textworld.start` (admissible commands only)"}
        for key, label in names.items():
            rows.append(f"| {label} | {work} | {_n(m[key]['steps_per_s'], 1)} | "
                        f"{_n(m[key]['reset_ms'], 1)} ms | "
                        f"{_n(h['steps_only_per_s'] / m[key]['steps_per_s'])}× |")
    rows += ["", "| memory, envs alive in one process | heap (tracemalloc) | RSS growth | "
             "process RSS | heap per env |", "|---|---:|---:|---:|---:|"]
    for name, mem in p["memory"].items():
        rows.append(f"| {_n(mem['envs'])} × {name} | {mem['tracemalloc_mb']:.1f} MB | "
                    f"{mem['rss_growth_mb']:.1f} MB | {mem['rss_after_mb']:.1f} MB | "
                    f"{mem['per_env_kb']:.1f} kB |")
    note = ("\n\n*Household ÷ this*: KeyDoor and ALFWorld rows divide the Household-v0 figure "
            "of the same workload (bare loop; replay of the same tasks and commands); TextWorld "
            "rows divide Household-v0's bare loop with resets timed apart (other games).")
    return "\n".join(rows) + note + "\n\n" + "\n".join(goals(p))


def goals(p: dict[str, Any]) -> list[str]:
    """One line per goal of the issue: measured figure and whether it is met."""
    h = p["bare"]["median"]["household"]
    mem = p["memory"]["Household-v0"]
    lines = [f"- >= {_n(GOAL_STEPS_PER_S)} steps/s on one core: {_n(h['steps_per_s'])} with "
             f"resets, {_n(h['steps_only_per_s'])} without "
             f"({'met' if h['steps_per_s'] >= GOAL_STEPS_PER_S else 'NOT met'})"]
    if p["alfworld"]:
        a = p["alfworld"]
        ratio = a["household_gym"]["steps_per_s"] / a["alfworld"]["steps_per_s"]
        lines.append(f"- >= {GOAL_RATIO}x ALFWorld's engine: {_n(ratio)}x (env vs engine, same "
                     f"tasks and commands) ({'met' if ratio >= GOAL_RATIO else 'NOT met'}); "
                     f"ALFWorld agreed on {a['alfworld']['same']}/{a['alfworld']['compared']} "
                     f"observations")
    worst = max(mem["rss_growth_mb"], mem["tracemalloc_mb"])
    lines.append(f"- {_n(mem['envs'])} envs < {GOAL_MB} MB: {worst:.1f} MB growth, "
                 f"{mem['rss_after_mb']:.1f} MB whole process "
                 f"({'met' if mem['rss_after_mb'] < GOAL_MB else 'NOT met'})")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, 1 repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--envs", type=int, default=1_000, help="envs alive in the memory part")
    parser.add_argument("--textworld-cache", default=None, help="TextWorld game cache folder")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/env_speed.json"))
    parser.add_argument("--memory-probe", metavar="ENV_ID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        sys.stdout.write(json.dumps(memory_probe(args.memory_probe, args.envs)) + "\n")
        return
    quick = args.quick
    repeats = 1 if quick else args.repeats
    envs = 200 if quick and args.envs == 1_000 else args.envs
    started = time.perf_counter()
    p: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "gymnasium": gym.__version__,
                    "loadavg_start": _loadavg()},
    }
    p["memory"] = {"Household-v0": memory(HOUSEHOLD, envs), "KeyDoor-v0": memory(KEYDOOR, envs)}
    p["bare"] = bare_loops(10_000 if quick else 100_000, 5_000 if quick else 30_000, repeats)
    p["reset"] = reset_times(200 if quick else 1_000, first_seed=0)
    per_type = {"train": 1} if quick else {"train": 2, "valid_unseen": 1}
    p["alfworld"] = alfworld_peer(per_type, 10 if quick else 50, 3 if quick else 9)
    p["textworld"] = textworld_peer(2 if quick else 4, 1 if quick else 2, 20 if quick else 50,
                                    repeats, args.textworld_cache)
    p["machine"]["loadavg_end"] = _loadavg()
    p["wall_s"] = time.perf_counter() - started
    table = markdown(p)
    p["table"] = table
    sys.stdout.write(f"{p['date']}, {p['machine']['cpus']} cores, Python "
                     f"{p['machine']['python']}, load {p['machine']['loadavg_start']} -> "
                     f"{p['machine']['loadavg_end']}, {p['wall_s']:.0f} s\n\n{table}\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(p, indent=2) + "\n")


if __name__ == "__main__":
    main()
