"""How often a checkpoint picks the demonstrator's action on the demonstrator's own states.

Rolls out ``HouseholdDemonstrator`` on a split, asks the checkpoint (greedy, the prompt settings
it was trained with) for an action at every visited state, and counts exact matches by command
verb. It isolates imitation quality from compounding errors, which the suite's success rate
mixes in.

Usage::

    python benchmarks/imitation_accuracy.py runs/household_bc/sft/checkpoint-600 \\
        [--split valid_unseen] [--episodes 12] [--constrain admissible]
"""

from __future__ import annotations

import argparse
import collections
import json

from agentgym.envs.household.demonstrator import HouseholdDemonstrator
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, rollout
from agentgym.trainers.sft import step_input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--split", default="valid_unseen")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--constrain", default="admissible", choices=["none", "admissible"])
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    policy = HFPolicy(args.checkpoint, temperature=0.0, max_new_tokens=24,
                      max_prompt_tokens=1000, constrain=args.constrain)
    demos = rollout("agentgym/Household-v0", HouseholdDemonstrator(think=policy.format.think),
                    episodes=args.episodes, seed=0, env_kwargs={"split": args.split},
                    config=RolloutConfig(num_envs=args.episodes, progress=False))
    states = [(step_input(t, i), t.steps[i].action) for t in demos for i in range(len(t.steps))]
    chosen = []
    for k in range(0, len(states), args.batch):
        chosen += [o.action for o in policy.act([inp for inp, _ in states[k:k + args.batch]])]
    by_verb: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for (_, wanted), got in zip(states, chosen):
        counts = by_verb[wanted.split()[0]]
        counts[0] += got == wanted
        counts[1] += 1
    total = sum(c[0] for c in by_verb.values())
    print(json.dumps({
        "checkpoint": args.checkpoint, "split": args.split, "episodes": args.episodes,
        "constrain": args.constrain, "states": len(states),
        "accuracy": round(total / len(states), 3),
        "by_verb": {v: f"{c[0]}/{c[1]}" for v, c in sorted(by_verb.items())},
    }, indent=2))


if __name__ == "__main__":
    main()
