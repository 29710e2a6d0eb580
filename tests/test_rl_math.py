"""The maths of the RL trainers against hand-computed values and plain reference loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agentgym.trainers.advantages import (
    discounted_sum,
    explained_variance,
    group_advantages,
    step_group_advantages,
    turn_gae,
    whiten,
)
from agentgym.trainers.losses import (
    dpo_loss,
    entropy_from_logits,
    kl_per_token,
    ppo_policy_loss,
    token_logprobs,
    value_loss,
)

# --- GAE over turns ------------------------------------------------------------------------------


def test_turn_gae_terminated_by_hand():
    # gamma .9, lam .8: deltas .04, .03, .3 (V after the end = 0)
    adv, ret = turn_gae([0, 0, 1], [0.5, 0.6, 0.7], gamma=0.9, lam=0.8)
    assert adv == pytest.approx([0.21712, 0.246, 0.3])
    assert ret == pytest.approx([0.71712, 0.846, 1.0])


def test_turn_gae_truncated_bootstraps_from_last_value():
    # the same episode cut by the step limit: V(s_T) = 0.4 enters the last delta
    adv, _ = turn_gae([0, 0, 1], [0.5, 0.6, 0.7], gamma=0.9, lam=0.8, last_value=0.4)
    assert adv == pytest.approx([0.403744, 0.5052, 0.66])


def _reference_gae(r, v, gamma, lam, last):
    """Textbook form: A_t = sum_k (gamma lam)^k delta_{t+k}, each term written out."""
    values = list(v) + [last]
    deltas = [r[t] + gamma * values[t + 1] - values[t] for t in range(len(r))]
    return [sum((gamma * lam) ** k * deltas[t + k] for k in range(len(r) - t))
            for t in range(len(r))]


@pytest.mark.parametrize("last", [0.0, 0.37])
def test_turn_gae_matches_a_plain_loop(last):
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=9), rng.normal(size=9)
    adv, ret = turn_gae(r, v, gamma=0.95, lam=0.7, last_value=last)
    assert adv == pytest.approx(_reference_gae(r, v, 0.95, 0.7, last))
    assert ret == pytest.approx(adv + v)


def test_turn_gae_lambda_one_is_return_minus_value():
    r, v = [1.0, -2.0, 3.0], [0.3, 0.2, 0.1]
    adv, _ = turn_gae(r, v, gamma=0.5, lam=1.0)
    assert adv == pytest.approx(discounted_sum(r, 0.5) - np.array(v))
    assert discounted_sum(r, 0.5) == pytest.approx([1 - 1 + 0.75, -2 + 1.5, 3.0])


def test_turn_gae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        turn_gae([0.0, 1.0], [0.0], gamma=1.0, lam=1.0)


# --- group baselines -----------------------------------------------------------------------------


def test_group_advantages_by_hand():
    returns, groups = [1, 0, 0, 1, 2, 7], ["a", "a", "a", "b", "b", "c"]
    assert group_advantages(returns, groups, method="rloo") == pytest.approx(
        [1, -0.5, -0.5, -1, 1, 0])
    assert group_advantages(returns, groups, method="grpo") == pytest.approx(
        [2 / 3, -1 / 3, -1 / 3, -0.5, 0.5, 0])
    scaled = group_advantages(returns, groups, method="grpo", scale=True, eps=0.0)
    assert scaled[:3] == pytest.approx([math.sqrt(2), -math.sqrt(2) / 2, -math.sqrt(2) / 2])
    assert scaled[3:5] == pytest.approx([-1, 1])
    with pytest.raises(ValueError, match="method"):
        group_advantages(returns, groups, method="ppo")


def test_step_group_advantages_by_hand():
    # group 0: two episodes share their first state; group 1 has one episode (no baseline)
    adv = step_group_advantages(
        [[0.81, 0.9, 1.0], [0.0, 0.0], [5.0]],
        [["s0", "s1", "s2"], ["s0", "s3"], ["s0"]],
        [0, 0, 1],
    )
    assert adv[0] == pytest.approx([0.81, 0, 0])
    assert adv[1] == pytest.approx([-0.81, 0])
    assert adv[2] == pytest.approx([0])
    fallback = step_group_advantages([[0.81, 0.9, 1.0], [0.0, 0.0]],
                                     [["s0", "s1", "s2"], ["s0", "s3"]], [0, 0], fallback=[0.1, 2])
    assert fallback[0] == pytest.approx([0.81, 0.8, 0.9])
    assert fallback[1] == pytest.approx([-0.81, -2])


def test_step_groups_never_baseline_a_turn_with_its_own_episode():
    # episode 0 visits s0 twice: its own visits are left out of its baseline
    adv = step_group_advantages([[0.5, 1.0], [0.2]], [["s0", "s0"], ["s0"]], [0, 0])
    assert adv[0] == pytest.approx([0.3, 0.8])
    assert adv[1] == pytest.approx([0.2 - 0.75])


def test_whiten_and_explained_variance():
    w = whiten(np.array([1.0, 2.0, 3.0]))
    assert w.mean() == pytest.approx(0) and w.std() == pytest.approx(1, rel=1e-6)
    assert explained_variance([1, 2, 3], [1, 2, 3]) == pytest.approx(1)
    assert explained_variance([2, 2, 2], [1, 2, 3]) == pytest.approx(0)
    assert math.isnan(explained_variance([1, 2], [5, 5]))


# --- losses --------------------------------------------------------------------------------------


def test_ppo_policy_loss_by_hand():
    # row 0: ratios 1.5 and 0.5, A = +1; row 1: ratio 1.5 then padding, A = -1; clip 0.2
    logp = torch.tensor([[math.log(1.5), math.log(0.5)], [math.log(1.5), 9.0]])
    old = torch.zeros(2, 2)
    mask = torch.tensor([[1, 1], [1, 0]])
    loss, stats = ppo_policy_loss(logp, old, torch.tensor([1.0, -1.0]), mask, clip=0.2)
    # row 0: min(1.5, 1.2) + min(0.5, 0.8) = 1.7; row 1: min(-1.5, -1.2) = -1.5; / 2 turns
    assert float(loss) == pytest.approx(-(1.7 - 1.5) / 2)
    assert stats["clipfrac"] == pytest.approx(1.0)
    k3 = [(1.5 - 1) - math.log(1.5), (0.5 - 1) - math.log(0.5), (1.5 - 1) - math.log(1.5)]
    assert stats["approx_kl"] == pytest.approx(sum(k3) / 3)


def test_ppo_policy_loss_on_policy_gradient_is_the_policy_gradient():
    theta = torch.tensor([0.3, -0.2], requires_grad=True)
    logp = torch.log_softmax(theta, 0)[[0, 1, 0]].unsqueeze(-1)  # three one-token turns
    adv = torch.tensor([2.0, -1.0, 0.5])
    loss, _ = ppo_policy_loss(logp, logp.detach(), adv, torch.ones(3, 1), clip=0.2)
    loss.backward()
    expected = -(adv.unsqueeze(-1) * torch.autograd.functional.jacobian(
        lambda t: torch.log_softmax(t, 0)[[0, 1, 0]], theta.detach())).sum(0) / 3
    assert theta.grad == pytest.approx(expected, abs=1e-6)


def test_value_loss_by_hand():
    v, old, ret = torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([2.0])
    assert float(value_loss(v, old, ret, clip=0.2)) == pytest.approx(0.5 * 1.69)
    assert float(value_loss(v, old, ret, clip=None)) == pytest.approx(0.5)
    # inside the clip range both terms agree
    assert float(value_loss(torch.tensor([0.6]), old, ret, clip=0.2)) == pytest.approx(0.5 * 1.96)


def test_kl_estimators_by_hand():
    logp, ref = torch.log(torch.tensor([0.5])), torch.log(torch.tensor([0.25]))
    assert float(kl_per_token(logp, ref, kind="k1")) == pytest.approx(math.log(2))
    assert float(kl_per_token(logp, ref, kind="k3")) == pytest.approx(0.5 - 1 + math.log(2))
    with pytest.raises(ValueError):
        kl_per_token(logp, ref, kind="k2")


def test_dpo_loss_by_hand():
    loss, stats = dpo_loss(torch.tensor([-1.0]), torch.tensor([-2.0]), torch.tensor([-1.5]),
                           torch.tensor([-1.5]), beta=0.5)
    assert float(loss) == pytest.approx(math.log1p(math.exp(-0.5)))
    assert stats["accuracy"] == 1.0 and stats["margin"] == pytest.approx(0.5)


def test_token_logprobs_and_entropy_align_with_the_tokens():
    logits = torch.zeros(1, 3, 4)
    logits[0, 0, 2] = math.log(3.0)  # token 1 is 2 with p = 3/6
    ids = torch.tensor([[1, 2, 0]])
    lp = token_logprobs(logits, ids)
    assert lp[0, 0] == 0 and float(lp[0, 1]) == pytest.approx(math.log(0.5))
    assert float(lp[0, 2]) == pytest.approx(math.log(0.25))
    ent = entropy_from_logits(logits)
    assert float(ent[0, 2]) == pytest.approx(math.log(4))


# --- no bias when the policy controls the episode length ------------------------------------------

H, G = 4, 4  # horizon; episodes per group


def _stop_task_exact_gradient(theta: float) -> float:
    """Each turn the policy stops (p = sigmoid(theta), reward 0.5) or waits; surviving all H turns
    pays 1. J = 0.5 (1 - (1-p)^H) + (1-p)^H, so dJ/dtheta = -0.5 H (1-p)^(H-1) p (1-p)."""
    p = 1 / (1 + math.exp(-theta))
    return -0.5 * H * (1 - p) ** (H - 1) * p * (1 - p)


def _sample_groups(theta: float, groups: int, seed: int):
    """Episodes of the stop task: per episode its length, its stop/wait choices and its return."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + math.exp(-theta))
    stops = rng.random((groups * G, H)) < p
    first = np.where(stops.any(1), stops.argmax(1), H)  # turn of the stop, H if never
    lengths = np.minimum(first + 1, H)
    returns = np.where(first < H, 0.5, 1.0)
    return stops, lengths, returns, np.repeat(np.arange(groups), G)


def _gradient_through_the_loss(theta, stops, lengths, adv_per_turn, weight_per_turn):
    """d/dtheta of -ppo_policy_loss at ratio 1, rescaled to a per-episode mean."""
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    taken = np.arange(H)[None, :] < lengths[:, None]  # (episodes, H): turns that happened
    padded = np.zeros((len(lengths), H))
    for e, a in enumerate(adv_per_turn):
        padded[e, :len(a)] = a
    acts = torch.tensor(stops[taken])
    logp = torch.where(acts, torch.nn.functional.logsigmoid(t),
                       torch.nn.functional.logsigmoid(-t)).unsqueeze(-1)
    adv = torch.tensor((padded * np.asarray(weight_per_turn)[:, None])[taken])
    loss, _ = ppo_policy_loss(logp, logp.detach(), adv, torch.ones_like(logp), clip=0.2)
    loss.backward()
    return -float(t.grad) * len(acts) / len(lengths)


@pytest.mark.parametrize("theta", [0.0, -0.8])
def test_estimators_are_unbiased_where_length_normalising_is_not(theta):
    exact = _stop_task_exact_gradient(theta)
    stops, lengths, returns, groups = _sample_groups(theta, groups=15_000, seed=1)
    n = len(lengths)
    ones = np.ones(n)

    rloo = group_advantages(returns, groups, method="rloo")
    grpo = group_advantages(returns, groups, method="grpo")
    per_turn = [np.full(H, a) for a in rloo]
    # return-to-go of each turn (only the last turn is rewarded) with turn-index states
    rtg = [np.full(k, r) for k, r in zip(lengths, returns)]
    keys = [list(range(k)) for k in lengths]
    steps = step_group_advantages(rtg, keys, groups, fallback=returns - rloo)

    got = {
        "rloo": _gradient_through_the_loss(theta, stops, lengths, per_turn, ones),
        "grpo": _gradient_through_the_loss(theta, stops, lengths,
                                           [np.full(H, a) for a in grpo], ones),
        "step_groups": _gradient_through_the_loss(theta, stops, lengths, steps, ones),
        # the biased variant: each episode's turns divided by its own length
        "length_normalised": _gradient_through_the_loss(theta, stops, lengths, per_turn,
                                                        1.0 / lengths),
    }
    tol = 0.1 * abs(exact)  # Monte Carlo error was <= 2% of |exact| (60k episodes, seeds 1-3)
    assert got["rloo"] == pytest.approx(exact, abs=tol)
    assert got["step_groups"] == pytest.approx(exact, abs=tol)
    assert got["grpo"] == pytest.approx(exact * (G - 1) / G, abs=tol)
    assert abs(got["length_normalised"] - exact) > 3 * tol
