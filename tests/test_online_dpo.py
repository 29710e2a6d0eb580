"""Online DPO: pairs from a scorer's ranking of sampled actions, and a DPO update that follows it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, rollout
from agentgym.trainers.online_dpo import OnlineDPOConfig, OnlineDPOTrainer, preference_pairs
from agentgym.trainers.rl_data import single_turn_row

ENV = "agentgym/KeyDoor-v0"


class ShortIsBetter:
    """A step scorer preferring short answers (minus the length of the last step's output)."""

    name = "short"

    def score(self, trajectories):
        return [np.array([-float(len(s.raw_output)) for s in t.steps]) for t in trajectories]


@pytest.fixture(scope="module")
def setup(tiny_checkpoint):
    policy = HFPolicy(str(tiny_checkpoint), temperature=1.0, max_new_tokens=10, seed=1)
    trajs = rollout(ENV, policy, episodes=4, seed=0,
                    config=RolloutConfig(num_envs=4, max_episode_steps=3, progress=False))
    pairs, stats = preference_pairs(trajs, policy, ShortIsBetter(), candidates=4, states=8,
                                    seed=0)
    return trajs, pairs, stats


def test_pairs_put_the_higher_scored_action_first(setup):
    _, pairs, stats = setup
    assert stats["dpo/states"] == 8 and 0 < len(pairs) <= 8
    for p in pairs:
        assert p.chosen_score > p.rejected_score
        assert p.chosen_ids != p.rejected_ids and p.prompt_ids
    assert stats["dpo/score_gap"] == pytest.approx(
        np.mean([p.chosen_score - p.rejected_score for p in pairs]))


def test_a_dpo_update_raises_the_chosen_over_the_rejected(tiny_checkpoint, setup):
    _, pairs, _ = setup
    trainer = OnlineDPOTrainer(tiny_checkpoint, OnlineDPOConfig(
        lr=3e-3, epochs=4, batch_pairs=4, beta=0.1, device="cpu", progress=False))
    chosen = [single_turn_row(p.prompt_ids, p.chosen_ids) for p in pairs]
    rejected = [single_turn_row(p.prompt_ids, p.rejected_ids) for p in pairs]
    before = (trainer.sequence_logprobs(chosen, grad=False)
              - trainer.sequence_logprobs(rejected, grad=False))
    metrics = trainer.update(pairs, seed=0)
    after = (trainer.sequence_logprobs(chosen, grad=False)
             - trainer.sequence_logprobs(rejected, grad=False))
    assert float((after - before).mean()) > 0.5
    assert float(((after - before) > 0).float().mean()) == 1.0
    assert metrics["loss/dpo"] < np.log(2)  # log 2 is the loss before any update
    assert 0 < metrics["dpo/accuracy"] <= 1


def test_no_pairs_is_no_update(tiny_checkpoint):
    trainer = OnlineDPOTrainer(tiny_checkpoint, OnlineDPOConfig(device="cpu", progress=False))
    before = [p.detach().clone() for p in trainer.model.parameters()]
    metrics = trainer.update([])
    assert np.isnan(metrics["loss/dpo"])
    assert all(torch.equal(p, q) for p, q in zip(trainer.model.parameters(), before))


@pytest.mark.parametrize("settings, field", [
    ({"candidates": 1}, "trainer.candidates"),
    ({"beta": 0.0}, "trainer.beta"),
    ({"dtype": "fp8"}, "trainer.dtype"),
])
def test_bad_settings_name_the_field(settings, field):
    with pytest.raises(ConfigError, match=field):
        OnlineDPOConfig(**settings)
