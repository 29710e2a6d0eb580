"""Behaviour-cloning data and pure functions: packed samples, batches, the masked loss, the lr.

Split from :mod:`agentgym.trainers.sft` (which re-exports everything here); see its module
docstring for how steps are packed into samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.policies.hf import fit_prompt
from agentgym.prompts import ReActFormat
from agentgym.types import AgentInput, Trajectory

__all__ = [
    "IGNORE", "Sample", "build_samples", "collate", "count_labels", "lr_factor", "make_batches",
    "masked_nll", "step_input",
]

IGNORE = -100
"""Label of tokens that carry no loss (the prompt and the padding)."""


@dataclass(kw_only=True)
class Sample:
    """One training sequence: prompt then target, with the prompt masked in ``labels``."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def step_input(traj: Trajectory, index: int) -> AgentInput:
    """The :class:`AgentInput` the policy saw at step ``index`` (``traj.agent_input(index)``)."""
    return traj.agent_input(index)


def build_samples(
    trajectories: Sequence[Trajectory],
    tokenizer,
    format: ReActFormat,
    *,
    max_tokens: int = 1024,
    max_prompt_tokens: int | None = None,
    successful_only: bool = False,
) -> list[Sample]:
    """Samples of HFPolicy's prompt ids, then ``raw_output`` ids and eos, for every step.

    A step whose prompt extends the previous step's sample (see the module docstring) is packed
    into it while the sample stays within ``max_tokens``; otherwise it starts a new sample.
    Steps marked ``meta["explore"]`` (random actions of :class:`~agentgym.policies.noisy.
    NoisyExpert`) are context only: their output tokens carry no loss.

    Args:
        trajectories: Demonstrations.
        tokenizer: The policy's tokenizer (its chat template renders the prompt).
        format: The prompt format the policy will act with (``think``, ``history_turns``).
        max_tokens: Longest sample; the prompt gets what the target leaves, dropping old history
            turns first (as HFPolicy does with ``max_prompt_tokens``). A target longer than
            ``max_tokens`` is cut and its sample kept with at most a 1-token prompt.
        max_prompt_tokens: Longest prompt regardless of the target (HFPolicy's own cap).
        successful_only: Skip the steps of unsuccessful trajectories.
    """
    eos = tokenizer.eos_token_id
    samples = []
    for traj in trajectories:
        if successful_only and not traj.success:
            continue
        current: Sample | None = None
        for i, step in enumerate(traj.steps):
            target = list(tokenizer(step.raw_output, add_special_tokens=False)["input_ids"])
            target = (target + [eos])[: max_tokens - 1]
            labels = [IGNORE] * len(target) if step.meta.get("explore") else target
            budget = max_tokens - len(target)
            if max_prompt_tokens is not None:
                budget = min(budget, max_prompt_tokens)
            prompt, _ = fit_prompt(tokenizer, format, step_input(traj, i), budget)
            n = len(current.input_ids) if current else 0
            if current and len(prompt) > n and prompt[:n] == current.input_ids:
                new = prompt[n:]
                current.input_ids += new + target
                current.labels += [IGNORE] * len(new) + labels
                continue
            if current:
                samples.append(current)
            current = Sample(input_ids=prompt + target, labels=[IGNORE] * len(prompt) + labels)
        if current:
            samples.append(current)
    return [s for s in samples if any(t != IGNORE for t in s.labels[1:])]  # explored steps only


def make_batches(
    lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int, bucket: int = 8
) -> list[list[int]]:
    """Sample indices of one epoch, shuffled, in batches of similar length.

    The epoch's permutation comes from ``(seed, epoch)`` alone, so any position can be replayed.
    Within each chunk of ``bucket * batch_size`` shuffled samples, samples are sorted by length
    and cut into batches (less padding); the batch order is then shuffled.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths)).tolist()
    chunk = bucket * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches += [part[j:j + batch_size] for j in range(0, len(part), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches)).tolist()]


def collate(samples: Sequence[Sample], pad_id: int) -> dict[str, Any]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` (padding labelled -100)."""
    import torch

    width = max(len(s) for s in samples)
    input_ids = torch.full((len(samples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(samples), width), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(samples), width), dtype=torch.long)
    for row, s in enumerate(samples):
        n = len(s)
        input_ids[row, :n] = torch.tensor(s.input_ids, dtype=torch.long)
        labels[row, :n] = torch.tensor(s.labels, dtype=torch.long)
        attention[row, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def masked_nll(logits, labels, *, reduction: str = "mean"):
    """Next-token negative log-likelihood on the tokens whose label is not -100.

    ``logits[:, t]`` predicts ``labels[:, t + 1]``. ``reduction`` is ``mean`` (over counted
    tokens) or ``sum``.
    """
    import torch

    logits = logits[:, :-1].float()
    target = labels[:, 1:]
    mask = target != IGNORE
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    total = -(picked * mask).sum()
    if reduction == "sum":
        return total
    return total / mask.sum().clamp(min=1)


def lr_factor(
    step: int, *, warmup_steps: int, total_steps: int, schedule: str, time_used: float = 0.0
) -> float:
    """Multiplier of the peak lr for optimizer step ``step`` (0-based).

    Linear warmup ``(step + 1) / warmup_steps``; then 1 (``constant``) or a cosine from 1 down
    to 0 at ``total_steps`` (``cosine``). ``time_used`` is the share of a time budget spent
    (0 without one): the cosine then runs on whichever is further along, steps or time, so a
    run cut by its time budget still ends at a low learning rate.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, max((step - warmup_steps) / span, time_used))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def count_labels(samples: Sequence[Sample]) -> int:
    """How many tokens of ``samples`` carry loss (shifted: the first token never does)."""
    return sum(sum(1 for t in s.labels[1:] if t != IGNORE) for s in samples)
