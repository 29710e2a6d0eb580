"""Shared by the policy tests: log-probs of an answer recomputed by a fresh forward pass."""

from __future__ import annotations

import torch

from agentgym.types import ActionOutput


def teacher_forced(model, out: ActionOutput) -> torch.Tensor:
    """Log-probs of ``out.action_ids`` from one fresh, unpadded forward pass of ``model``."""
    ids = torch.tensor([out.prompt_ids + out.action_ids])
    with torch.no_grad():
        logits = model(ids).logits[0].float()
    n = len(out.prompt_ids)
    logprobs = torch.log_softmax(logits[n - 1:-1], dim=-1)
    return logprobs.gather(-1, torch.tensor(out.action_ids)[:, None])[:, 0]
