"""Why household episodes fail: a census of an evaluation's failed trajectories.

For each failed episode it asks whether the goal's object was ever listed in an observation,
whether the agent took anything, and whether it took an object of the goal's kind. Reads the
trajectories ``agentgym eval`` saved.

Usage::

    python benchmarks/bc_failures.py runs/<eval run>/trajectories/household-valid_unseen.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json

from agentgym.envs.household.demonstrator import parse_goal_sentence
from agentgym.storage import load_trajectories


def census(path: str) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for traj in load_trajectories(path):
        if traj.success:
            counts["won"] += 1
            continue
        goal = parse_goal_sentence(traj.steps[0].observation["goal"]) if traj.steps else None
        obj = f" {goal[1]} " if goal else None
        seen = obj is not None and any(
            "you see" in s.observation["text"] and obj in s.observation["text"] for s in traj.steps)
        taken = [s.action for s in traj.steps if s.action.startswith("take ")]
        took = ("took the goal's object" if obj and any(obj in a + " " for a in taken)
                else "took only other objects" if taken else "took nothing")
        counts[f"failed, object {'seen' if seen else 'never seen'}, {took}"] += 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trajectories")
    print(json.dumps(census(parser.parse_args().trajectories), indent=2))


if __name__ == "__main__":
    main()
