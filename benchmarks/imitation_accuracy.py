"""How often a checkpoint picks the demonstrator's action on the demonstrator's own states.

Rolls out ``HouseholdDemonstrator`` on a split, asks the checkpoint (greedy, the prompt settings
it was trained with) for an action at every visited state, and counts exact matches by command
verb. It isolates imitation quality from compounding errors, which the suite's success rate
mixes in.

``--rank`` replaces decoding by ranking: every admissible action is scored by its total
log-probability under the model (all its tokens and the end of turn, one forward pass per state
over all candidates) and the best is picked. It tells whether a miss comes from token-by-token
decoding or from the model preferring another action as a whole.

Usage::

    python benchmarks/imitation_accuracy.py runs/household_bc/sft/checkpoint-600 \\
        [--split valid_unseen] [--episodes 12] [--constrain admissible] [--rank]
"""

from __future__ import annotations

import argparse
import collections
import json

from agentgym.envs.household.demonstrator import HouseholdDemonstrator
from agentgym.policies.hf import HFPolicy, fit_prompt
from agentgym.rollout import RolloutConfig, rollout
from agentgym.trainers.sft import step_input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--split", default="valid_unseen")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--constrain", default="admissible", choices=["none", "admissible"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rank", action="store_true",
                        help="rank all admissible actions by total log-probability")
    args = parser.parse_args()

    policy = HFPolicy(args.checkpoint, temperature=0.0, max_new_tokens=24,
                      max_prompt_tokens=1000, constrain=args.constrain)
    demos = rollout("agentgym/Household-v0", HouseholdDemonstrator(think=policy.format.think),
                    episodes=args.episodes, seed=0, env_kwargs={"split": args.split},
                    config=RolloutConfig(num_envs=args.episodes, progress=False))
    states = [(step_input(t, i), t.steps[i].action) for t in demos for i in range(len(t.steps))]
    if args.rank:
        chosen = [ranked_best(policy, inp) for inp, _ in states]
    else:
        chosen = [o.action for k in range(0, len(states), args.batch)
                  for o in policy.act([inp for inp, _ in states[k:k + args.batch]])]
    by_verb: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for (_, wanted), got in zip(states, chosen):
        counts = by_verb[wanted.split()[0]]
        counts[0] += got == wanted
        counts[1] += 1
    total = sum(c[0] for c in by_verb.values())
    print(json.dumps({
        "checkpoint": args.checkpoint, "split": args.split, "episodes": args.episodes,
        "constrain": args.constrain, "rank": args.rank, "states": len(states),
        "accuracy": round(total / len(states), 3),
        "by_verb": {v: f"{c[0]}/{c[1]}" for v, c in sorted(by_verb.items())},
    }, indent=2))


def ranked_best(policy: HFPolicy, inp) -> str:
    """The admissible action with the highest log-probability: the total over its tokens and the
    end of turn, summed over both spellings the constrained decoder allows (bare and
    ``Action: ...``)."""
    import torch

    tok = policy.tokenizer
    prompt, _ = fit_prompt(tok, policy.format, inp, 1000)
    spelled = [(a, text) for a in inp.admissible_actions
               for text in sorted({a, policy.format.render_action(a)})]
    answers = [tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
               for _, text in spelled]
    width = len(prompt) + max(map(len, answers))
    ids = torch.full((len(answers), width), tok.pad_token_id)
    mask = torch.zeros_like(ids)
    for k, answer in enumerate(answers):
        ids[k, :len(prompt) + len(answer)] = torch.tensor(prompt + answer)
        mask[k, :len(prompt) + len(answer)] = 1
    with torch.no_grad():
        logp = torch.log_softmax(policy.model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    totals: dict[str, list[torch.Tensor]] = collections.defaultdict(list)
    for k, ((action, _), answer) in enumerate(zip(spelled, answers)):
        where = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(answer))
        totals[action].append(logp[k, where, torch.tensor(answer)].sum())
    return max(totals, key=lambda a: float(torch.logsumexp(torch.stack(totals[a]), 0)))

if __name__ == "__main__":
    main()
