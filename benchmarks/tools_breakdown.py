"""Per-family figures of a tool-use evaluation, from its saved trajectories.

For each task family of ``agentgym/ToolUse-v0``: episodes, successes, the share of actions that
were valid calls, the plan steps matched (``info["subgoals_done"]`` minus the answer) and the
mean of each reward term per episode. Reads the JSONL of ``agentgym eval`` / ``agentgym train``
(``<run>/eval/trajectories/tools-test.jsonl``).

Usage::

    .venv/bin/python benchmarks/tools_breakdown.py <trajectories.jsonl> [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from agentgym.storage import load_trajectories


def breakdown(path: Path) -> dict[str, dict[str, Any]]:
    """Figures per family (and ``all``) of the trajectories in ``path``."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for traj in load_trajectories(path):
        family = traj.task.get("type", "?") if isinstance(traj.task, dict) else "?"
        last = traj.steps[-1].info if traj.steps else {}
        plan = max(0, len(last.get("subgoals", [])) - 1)
        matched = len([s for s in last.get("subgoals_done", []) if s != "Give the right answer"])
        for key in (family, "all"):
            row = rows[key]
            row["episodes"] += 1
            row["won"] += bool(traj.success)
            row["steps"] += len(traj.steps)
            row["valid"] += sum(bool(s.info.get("valid_action")) for s in traj.steps)
            row["plan_steps"] += plan
            row["plan_matched"] += matched
            for step in traj.steps:
                for term, value in step.info.get("reward_terms", {}).items():
                    row[f"term/{term}"] += value
    out = {}
    for key, row in rows.items():
        n = row["episodes"]
        out[key] = {"episodes": int(n), "success": row["won"] / n,
                    "valid_rate": row["valid"] / max(1, row["steps"]),
                    "steps_per_episode": row["steps"] / n,
                    "plan_matched": row["plan_matched"] / max(1, row["plan_steps"]),
                    **{k: v / n for k, v in row.items() if k.startswith("term/")}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trajectories", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = breakdown(args.trajectories)
    terms = sorted({k for row in table.values() for k in row if k.startswith("term/")})
    print("| family | episodes | success | valid actions | plan steps matched | steps | "
          + " | ".join(terms) + " |")
    print("|---" * (6 + len(terms)) + "|")
    for family in sorted(table, key=lambda k: (k == "all", k)):
        row = table[family]
        print(f"| {family} | {row['episodes']} | {row['success']:.3f} | {row['valid_rate']:.3f} "
              f"| {row['plan_matched']:.3f} | {row['steps_per_episode']:.1f} | "
              + " | ".join(f"{row.get(t, 0.0):+.3f}" for t in terms) + " |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
