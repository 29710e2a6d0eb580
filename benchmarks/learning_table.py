"""The learning table: every household experiment from one behaviour-cloning start, per seed.

Runs ``agentgym train experiment=<name> model.path=<start> bc=null loop.seed=<seed>`` for each
method and seed (all at the same environment steps: ``loop.iterations`` x 32 episodes), reads
the final evaluation of each run, adds the start's own evaluation (the BC row) and, where a run
fitted AgentPRM, best-of-N of the start policy with that PRM, and writes a JSON file and a
markdown table::

    python benchmarks/learning_table.py --start runs/household_bc/sft/checkpoint-5824 \\
        --seeds 0 1 2 --jobs 2 --out benchmarks/results/learning_table.json

Each run's curves are in ``<dir>/<method>-s<seed>/report.md``. ``--jobs 2`` runs two
experiments at a time with one torch thread each (2 cores). Rerunning resumes every run, and
the JSON file is rewritten after each run: rows already in it for the same start (same weights'
sha256) are kept and not run again, so a table can be finished over several sessions or
machines from a committed start checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

METHODS = {
    "PPO-outcome": "household_ppo_outcome",
    "PPO-AgentPRM": "household_ppo_agentprm",
    "PPO-SPA": "household_ppo_spa",
    "InversePRM": "household_inverseprm",
    "online-DPO-AgentPRM": "household_online_dpo_agentprm",
    "GRPO": "household_grpo",
}


def _agentgym() -> str:
    return str(Path(sys.executable).with_name("agentgym"))


def _run(method: str, seed: int, args) -> dict:
    experiment = METHODS[method]
    name = f"{experiment}-s{seed}"
    out = Path(args.dir) / name
    start_eval = Path(args.dir) / "start-eval" / "summary.json"
    if start_eval.exists():  # the start is the same for every run: evaluate it once
        (out / "iterations" / "start-eval").mkdir(parents=True, exist_ok=True)
        target = out / "iterations" / "start-eval" / "summary.json"
        if not target.exists():
            target.write_text(start_eval.read_text())
    command = [_agentgym(), "train", f"experiment={experiment}", f"model.path={args.start}",
               "bc=null", f"loop.seed={seed}", f"loop.iterations={args.iterations}",
               f"eval.every={args.iterations}", f"eval.episodes={args.eval_episodes}",
               f"run.dir={args.dir}", f"run.name={name}", "trainer.progress=false",
               "rollout.progress=false", *args.override]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    started = time.time()
    with open(Path(args.dir) / f"{name}.log", "w") as log:
        proc = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    row = {"method": method, "seed": seed, "returncode": proc.returncode,
           "minutes": round((time.time() - started) / 60, 1), "run": str(out)}
    result = out / "result.json"
    if proc.returncode == 0 and result.exists():
        final = json.loads(result.read_text())["final"]
        row.update(success=final.get("eval/success_rate"), env_steps=final.get("env_steps"),
                   rollout_success=final.get("rollout/success"),
                   success_ci=[final.get("eval/success_low"), final.get("eval/success_high")],
                   curve=_curve(out))
    return row


def _curve(run: Path) -> list[float]:
    """Rollout success of each iteration of a run (its training curve), from metrics.csv."""
    path = run / "metrics.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [float(r["rollout/success"]) for r in csv.DictReader(f) if r.get("rollout/success")]


def _report(table: _Table, png: Path) -> str:
    """The markdown table (mean over seeds and each seed's figure) and the curves' PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, start = table.data["runs"], table.data["start_eval"]
    for row in rows:  # rows of an older version of this script: read what is still there
        result = Path(row.get("run", "")) / "result.json"
        if not row.get("curve") and row.get("run"):
            row["curve"] = _curve(Path(row["run"]))
        if not row.get("success_ci") and result.is_file():
            final = json.loads(result.read_text())["final"]
            row["success_ci"] = [final.get("eval/success_low"), final.get("eval/success_high")]
    lines = ["| method | seeds | success on valid_unseen (mean) | per seed | env steps (mean) |",
             "|---|---|---|---|---|",
             f"| BC start | - | {start['eval/success_rate']:.3f} | - | 0 |"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for method in [*METHODS, "Best-of-4(start, AgentPRM)"]:
        done = sorted((r for r in rows if r["method"] == method and r.get("success") is not None),
                      key=lambda r: r["seed"])
        if not done:
            continue
        mean = sum(r["success"] for r in done) / len(done)
        seeds = ", ".join(f"{r['success']:.3f} (s{r['seed']}{_interval(r)})" for r in done)
        steps = [r["env_steps"] for r in done if r.get("env_steps")]
        steps_text = f"{sum(steps) / len(steps):,.0f}" if steps else "-"
        lines.append(f"| {method} | {len(done)} | {mean:.3f} | {seeds} | {steps_text} |")
        curves = [r["curve"] for r in done if r.get("curve")]
        if curves:
            n = min(len(c) for c in curves)
            ax.plot(range(1, n + 1), [sum(c[i] for c in curves) / len(curves) for i in range(n)],
                    marker="o", label=f"{method} ({len(curves)} seeds)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("iteration (32 episodes each)")
    ax.set_ylabel("rollout success (train split)")
    ax.axhline(start["eval/success_rate"], color="grey", linestyle=":", label="BC start (eval)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    table.save()
    return "\n".join(lines)


def _start_eval(args) -> dict:
    """The start evaluated as the runs evaluate (sampled among admissible actions): the BC row.

    Always the whole suite; pass --eval-episodes null so the runs match it."""
    folder = Path(args.dir) / "start-eval"
    summary = folder / "summary.json"
    if not summary.exists():
        folder.mkdir(parents=True, exist_ok=True)
        command = [_agentgym(), "eval", "suite=household_valid_unseen", "policy=hf",
                   f"policy.path={args.start}", "policy.temperature=1",
                   "policy.max_new_tokens=24", "policy.max_prompt_tokens=1000",
                   "policy.constrain=admissible", f"run.dir={args.dir}", "run.name=start-eval",
                   "rollout.num_envs=32", "rollout.progress=false"]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads * args.jobs)}
        subprocess.run(command, env=env, check=True, capture_output=True)
        overall = json.loads((folder / "results.json").read_text())["overall"]
        summary.write_text(json.dumps({f"eval/{k}": v for k, v in overall.items()}, indent=2))
    return json.loads(summary.read_text())


def _interval(row: dict) -> str:
    """``", 95% CI 0.14–0.28"`` where the row has its interval."""
    ci = row.get("success_ci")
    return f", 95% CI {ci[0]:.3f}–{ci[1]:.3f}" if ci else ""


def _best_of_n(seed: int, args) -> dict | None:
    """Best-of-4 of the start policy (sampled among admissible actions), ranked by the AgentPRM
    that the PPO-AgentPRM run of ``seed`` fitted last; ``None`` without that run."""
    run = Path(args.dir) / f"{METHODS['PPO-AgentPRM']}-s{seed}"
    prms = sorted(run.glob("iterations/*/reward-agentprm"))
    if not prms:
        return None
    name = f"best_of_n-s{seed}"
    folder = Path(args.dir) / name
    if not (folder / "results.json").exists():
        command = [_agentgym(), "eval", "suite=household_valid_unseen", "policy=best_of_n",
                   "policy.n=4", f"policy.policy.path={args.start}",
                   "policy.policy.max_new_tokens=24", "+policy.policy.max_prompt_tokens=1000",
                   "+policy.policy.constrain=admissible", f"+policy.policy.seed={seed}",
                   "policy.scorer.name=agentprm", f"+policy.scorer.path={prms[-1]}",
                   f"run.dir={args.dir}", f"run.name={name}", "rollout.num_envs=32",
                   "rollout.progress=false"]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads * args.jobs)}
        subprocess.run(command, env=env, check=True, capture_output=True)
    overall = json.loads((folder / "results.json").read_text())["overall"]
    return {"method": "Best-of-4(start, AgentPRM)", "seed": seed, "prm": str(prms[-1]),
            "success": overall["success_rate"]}


def _start_sha(start: str) -> str:
    """sha256 of the start's weights: rows of another start are never mixed into a table."""
    digest = hashlib.sha256()
    for path in sorted(Path(start).glob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class _Table:
    """The JSON file, rewritten after every finished run (keeps earlier sessions' rows)."""

    def __init__(self, args, sha: str) -> None:
        self.path, self.lock = Path(args.out), threading.Lock()
        self.data = {"start": str(args.start), "start_sha256": sha,
                     "iterations": args.iterations, "eval_episodes": args.eval_episodes,
                     "start_eval": None, "runs": []}
        if self.path.exists():
            old = json.loads(self.path.read_text())
            if old.get("start_sha256") == sha and old.get("iterations") == args.iterations:
                self.data.update(start_eval=old.get("start_eval"), runs=old.get("runs", []))

    def done(self, method: str, seed: int) -> dict | None:
        return next((r for r in self.data["runs"] if r["method"] == method
                     and r["seed"] == seed and r.get("success") is not None), None)

    def add(self, row: dict) -> None:
        with self.lock:
            runs = self.data["runs"]
            runs[:] = [r for r in runs if (r["method"], r["seed"]) != (row["method"], row["seed"])]
            runs.append(row)
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True, help="the behaviour-cloning checkpoint")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--eval-episodes", default="null",
                        help="valid_unseen tasks per evaluation (null: all 134)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--best-of-n-seeds", type=int, nargs="*", default=None,
                        help="seeds whose AgentPRM ranks best-of-4 (default: all; none: skip)")
    parser.add_argument("--dir", default="runs/learning_table")
    parser.add_argument("--out", default="benchmarks/results/learning_table.json")
    parser.add_argument("--report", metavar="PNG",
                        help="run nothing: print the markdown table of --out and plot its curves")
    parser.add_argument("override", nargs="*", help="more overrides for every run")
    args = parser.parse_args()
    table = _Table(args, _start_sha(args.start))
    if args.report:
        print(_report(table, Path(args.report)))
        return
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    if table.data["start_eval"] is None:
        table.data["start_eval"] = _start_eval(args)
        table.save()
    start = table.data["start_eval"]

    def run(job: tuple[str, int]) -> None:
        if not table.done(*job):
            table.add(_run(*job, args))

    jobs = [(m, s) for s in args.seeds for m in args.methods]
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(run, jobs))
    best_seeds = args.seeds if args.best_of_n_seeds is None else args.best_of_n_seeds
    for seed in best_seeds:
        if not table.done("Best-of-4(start, AgentPRM)", seed):
            row = _best_of_n(seed, args)
            if row:
                table.add(row)
    print(f"BC (start): {start['eval/success_rate']:.3f}")
    rows = table.data["runs"]
    for method in [*METHODS, "Best-of-4(start, AgentPRM)"]:
        got = [r["success"] for r in rows if r["method"] == method and r.get("success") is not None]
        if got:
            mean = sum(got) / len(got)
            print(f"{method}: {mean:.3f} over seeds {got}")


if __name__ == "__main__":
    main()
