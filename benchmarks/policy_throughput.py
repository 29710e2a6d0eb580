"""Generation throughput of batched ``HFPolicy`` against a per-env ``generate`` loop, and the
share of rollout wall time spent outside the model.

Part 1, throughput. The same prompts (household observations met by the demonstrator, rendered
with the policy's own chat template) are answered greedily at batch sizes 1, 16 and 64 by:

* ``hf-batched``: ``HFPolicy.act`` on the whole batch: one left-padded ``generate`` call,
  stopping each row at the end of its ``Action:`` line.
* ``generate-loop``: what a per-env agent loop does: for each env, ``model.generate`` on its own
  prompt with the same ``max_new_tokens``, eos and action-line stop, then decode.

Throughput is generated tokens per second of wall time (each runner counts the tokens it
generated; a row that stops early generates fewer). Repeats are interleaved; the median is kept.

Part 2, rollout overhead. ``RolloutEngine`` runs the policy on ``agentgym/Household-v0``; the time
inside ``model.generate`` (the model, plus the per-token stop check that runs inside it) is
summed and compared with the episode wall time. *Outside the model* is everything else: env
steps, prompt rendering and tokenisation, padding, decoding, parsing, the engine's bookkeeping.

Usage::

    python benchmarks/policy_throughput.py [--model PATH] [--quick]

Without ``--model`` a tiny Llama (about 3.7M parameters, random weights) is built in a temporary
folder; pass a behaviour-cloned checkpoint for realistic answer lengths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from agentgym.envs.household.demonstrator import HouseholdDemonstrator
from agentgym.policies.hf import HFPolicy, _stopping_criteria_class
from agentgym.rollout import RolloutConfig, RolloutEngine, rollout
from agentgym.trainers.sft import step_input

ENV_ID = "agentgym/Household-v0"
BATCHES = (1, 16, 64)


def household_inputs(count: int, think: bool) -> list:
    """``count`` agent inputs from demonstrator episodes on the valid_seen split."""
    trajs = rollout(ENV_ID, HouseholdDemonstrator(think=think), episodes=max(8, count // 4),
                    seed=0, env_kwargs={"split": "valid_seen"},
                    config=RolloutConfig(num_envs=8, progress=False))
    inputs = [step_input(t, i) for t in trajs for i in range(len(t.steps))]
    return inputs[:count]


def run_batched(policy: HFPolicy, inputs: list) -> tuple[float, int]:
    started = time.perf_counter()
    outs = policy.act(inputs)
    return time.perf_counter() - started, sum(len(o.action_ids) for o in outs)


def run_loop(policy: HFPolicy, inputs: list) -> tuple[float, int]:
    """One ``generate`` per env: prompt rendering, generation, decoding, as a plain agent loop."""
    from transformers import StoppingCriteriaList

    model, tok = policy.model, policy.tokenizer
    started = time.perf_counter()
    tokens = 0
    for inp in inputs:
        ids, _ = policy.prompt_ids(inp)
        input_ids = torch.tensor([ids], device=policy.device)
        stop = _stopping_criteria_class()(tok, len(ids), 1, policy.eos_ids)
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                 max_new_tokens=policy.config.max_new_tokens, do_sample=False,
                                 eos_token_id=sorted(policy.eos_ids), pad_token_id=policy.pad_id,
                                 stopping_criteria=StoppingCriteriaList([stop]))
        new = out[0, len(ids):].tolist()
        tok.decode(new, skip_special_tokens=True)
        tokens += len(new)
    return time.perf_counter() - started, tokens


def throughput(policy: HFPolicy, inputs: list, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for batch in BATCHES:
        part = inputs[:batch]
        runs: dict[str, list[tuple[float, int]]] = {"hf-batched": [], "generate-loop": []}
        run_batched(policy, part[:1])  # warm-up
        for r in range(repeats):
            order = ["hf-batched", "generate-loop"][:: 1 if r % 2 == 0 else -1]
            for name in order:
                fn = run_batched if name == "hf-batched" else run_loop
                runs[name].append(fn(policy, part))
        for name, results in runs.items():
            rates = [n / s for s, n in results]
            rows.append({
                "batch": batch, "runner": name,
                "tokens_per_s": statistics.median(rates),
                "seconds": statistics.median(s for s, _ in results),
                "tokens": statistics.median(n for _, n in results),
                "spread": (max(rates) - min(rates)) / statistics.median(rates),
            })
        loop = next(r for r in rows if r["batch"] == batch and r["runner"] == "generate-loop")
        for row in rows:
            if row["batch"] == batch:
                row["x_loop"] = row["tokens_per_s"] / loop["tokens_per_s"]
    return rows


def rollout_overhead(policy: HFPolicy, num_envs: int, episodes: int,
                     max_steps: int) -> dict[str, Any]:
    """Share of rollout wall time outside ``model.generate``."""
    inside = [0.0]
    calls = [0]
    generate = policy.model.generate

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return generate(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - started
            calls[0] += 1

    policy.model.generate = timed
    try:
        config = RolloutConfig(num_envs=num_envs, max_episode_steps=max_steps, progress=False)
        with RolloutEngine(ENV_ID, env_kwargs={"split": "valid_seen"}, config=config) as engine:
            started = time.perf_counter()
            trajs = engine.run(policy, episodes=episodes, seed=0)
            wall = time.perf_counter() - started
    finally:
        del policy.model.generate
    steps = sum(len(t.steps) for t in trajs)
    return {
        "num_envs": num_envs, "episodes": episodes, "env_steps": steps,
        "generate_calls": calls[0], "wall_s": wall, "model_s": inside[0],
        "outside_model_share": 1 - inside[0] / wall,
        "tokens": sum(len(s.action_ids or ()) for t in trajs for s in t.steps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint folder (default: a fresh tiny Llama)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 repeat, a short rollout")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="benchmarks/results/policy_throughput.json")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats

    with tempfile.TemporaryDirectory() as scratch:
        path = args.model
        if path is None:
            from agentgym.models import make_tiny_checkpoint

            path = str(make_tiny_checkpoint(Path(scratch) / "tiny", episodes=20))
        # Prompt settings: the checkpoint's own (agentgym_prompt.json), else the defaults.
        policy = HFPolicy(path, temperature=0.0, max_new_tokens=args.max_new_tokens,
                          device=args.device)
        inputs = household_inputs(max(BATCHES), think=policy.format.think)
        rows = throughput(policy, inputs, repeats)
        overhead = rollout_overhead(policy, num_envs=16, episodes=16 if args.quick else 32,
                                    max_steps=10 if args.quick else 20)

    result = {
        "date": dt.date.today().isoformat(),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "device": str(policy.device), "dtype": str(policy.model.dtype)},
        "model": args.model or "tiny llama (random init)",
        "prompt": policy.format.settings(),
        "parameters": policy.model.num_parameters(),
        "max_new_tokens": args.max_new_tokens,
        "repeats": repeats,
        "throughput": rows,
        "rollout": overhead,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'batch':>5}  {'runner':<14} {'tokens/s':>10} {'x loop':>7} {'tokens':>7} {'s':>7}")
    for row in rows:
        print(f"{row['batch']:>5}  {row['runner']:<14} {row['tokens_per_s']:>10.1f} "
              f"{row['x_loop']:>7.2f} {row['tokens']:>7.0f} {row['seconds']:>7.2f}")
    o = overhead
    print(f"rollout: {o['env_steps']} env steps in {o['wall_s']:.1f} s, model {o['model_s']:.1f} s"
          f", outside the model {100 * o['outside_model_share']:.1f}% of wall time")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
