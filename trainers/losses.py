"""Policy-gradient, value and preference losses: pure torch functions over padded token tensors.

Shapes: ``(turns, tokens)`` for token tensors with a 0/1 ``mask`` marking each turn's action
tokens; ``(turns,)`` for per-turn values. A turn's advantage multiplies every one of its action
tokens; token terms are **summed** within a turn and the total divided by the number of turns in
the batch (a constant), so a turn's weight never depends on its own length (see
:mod:`agentgym.trainers.advantages` for why that matters).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KL_ESTIMATORS",
    "dpo_loss",
    "entropy_from_logits",
    "kl_per_token",
    "ppo_policy_loss",
    "token_logprobs",
    "value_loss",
]

#: ``kind`` values of :func:`kl_per_token`.
KL_ESTIMATORS = ("k1", "k3")


def token_logprobs(logits, input_ids):
    """Log-probability of each token given the ones before it: ``out[:, t] = log p(ids[:, t])``
    for ``t >= 1`` (column 0 is 0: nothing predicts the first token)."""
    import torch

    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = logp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return torch.nn.functional.pad(picked, (1, 0))


def entropy_from_logits(logits):
    """Entropy of the next-token distribution at each position, aligned like
    :func:`token_logprobs` (``out[:, t]`` is the entropy of the distribution of token ``t``)."""
    import torch

    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    ent = -(logp.exp() * logp).sum(-1)
    return torch.nn.functional.pad(ent, (1, 0))


def ppo_policy_loss(
    logprobs, old_logprobs, advantages, mask, *, clip: float, num_turns: int | None = None
) -> tuple[Any, dict]:
    """PPO's clipped surrogate, per token, summed per turn, averaged over turns.

    ``loss = -1/N sum_turns sum_tokens min(rho * A, clip(rho, 1 - clip, 1 + clip) * A)`` with
    ``rho = exp(logprobs - old_logprobs)`` per token and ``A`` the turn's advantage.

    Args:
        logprobs: ``(N, L)`` token log-probabilities under the policy being trained.
        old_logprobs: ``(N, L)`` the same under the policy that collected the data.
        advantages: ``(N,)`` one advantage per row, or ``(N, L)`` per token (each turn's
            advantage on its action tokens, for rows that pack several turns).
        mask: ``(N, L)`` 1 on action tokens.
        clip: The clip range epsilon.
        num_turns: ``N``, the turns of the whole minibatch when this is one micro-batch of it or
            rows pack several turns (default: the rows given).

    Returns:
        The loss and detached statistics: ``clipfrac`` (share of action tokens clipped) and
        ``approx_kl`` (mean over action tokens of ``(rho - 1) - log rho``, the k3 estimate of
        KL(old || new)).
    """
    import torch

    mask = mask.to(logprobs.dtype)
    log_ratio = (logprobs - old_logprobs) * mask
    ratio = torch.exp(log_ratio)
    adv = advantages.to(logprobs.dtype)
    adv = adv.unsqueeze(-1) if adv.dim() == 1 else adv
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv
    per_token = -torch.minimum(unclipped, clipped) * mask
    loss = per_token.sum() / max(1, num_turns or logprobs.shape[0])
    with torch.no_grad():
        tokens = mask.sum().clamp(min=1)
        was_clipped = ((ratio - 1.0).abs() > clip).to(mask.dtype) * mask
        stats = {
            "clipfrac": float(was_clipped.sum() / tokens),
            "approx_kl": float((((ratio - 1.0) - log_ratio) * mask).sum() / tokens),
        }
    return loss, stats


def value_loss(values, old_values, returns, *, clip: float | None, num_turns: int | None = None):
    """Clipped value loss, averaged over turns (``num_turns``: of the whole minibatch).

    ``0.5 * max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)``; with ``clip=None`` (or 0)
    just ``0.5 * (V - R)^2``.
    """
    import torch

    err = (values - returns) ** 2
    if clip:
        clipped = old_values + torch.clamp(values - old_values, -clip, clip)
        err = torch.maximum(err, (clipped - returns) ** 2)
    return 0.5 * err.sum() / max(1, num_turns or err.shape[0])


def kl_per_token(logprobs, ref_logprobs, *, kind: str = "k1"):
    """Per-token estimate of KL(policy || reference) from samples of the policy.

    ``k1 = log p - log q`` (unbiased, can be negative); ``k3 = (q/p - 1) - log(q/p)`` (unbiased,
    never negative, lower variance; Schulman's estimator), with ``p`` the policy and ``q`` the
    reference.
    """
    import torch

    if kind not in KL_ESTIMATORS:
        raise ValueError(f"kind must be one of {KL_ESTIMATORS}, got {kind!r}")
    diff = logprobs - ref_logprobs
    if kind == "k1":
        return diff
    return torch.exp(-diff) - 1.0 + diff


def dpo_loss(chosen, rejected, ref_chosen, ref_rejected, *, beta: float) -> tuple[Any, dict]:
    """Direct preference optimisation on sequence log-probabilities.

    ``loss = -mean log sigmoid(beta * ((chosen - ref_chosen) - (rejected - ref_rejected)))``.

    Args:
        chosen: ``(P,)`` log-probability of each preferred action (summed over its tokens) under
            the policy being trained.
        rejected: ``(P,)`` the same for the dispreferred action.
        ref_chosen: ``(P,)`` ``chosen`` under the reference policy.
        ref_rejected: ``(P,)`` ``rejected`` under the reference policy.
        beta: Strength of the implicit KL constraint.

    Returns:
        The loss and detached statistics: ``accuracy`` (share of pairs whose implicit reward
        prefers the chosen action) and ``margin`` (mean implicit reward margin).
    """
    import torch

    margin = beta * ((chosen - ref_chosen) - (rejected - ref_rejected))
    loss = -torch.nn.functional.logsigmoid(margin).mean()
    with torch.no_grad():
        stats = {"accuracy": float((margin > 0).float().mean()), "margin": float(margin.mean())}
    return loss, stats
