"""The shared PRM model: packed episode inputs, candidate inputs, heads, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.errors import ConfigError
from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.rewards.prm import PRMModelConfig, ProcessRewardModel
from agentgym.rollout import RolloutConfig, rollout

SMALL = {"hidden_size": 64, "layers": 1, "heads": 2, "intermediate_size": 128}


@pytest.fixture(scope="module")
def household():
    """Short oracle episodes and long random ones (which need several chunks)."""
    cfg = RolloutConfig(num_envs=8, progress=False)
    kw = {"split": "train"}
    oracle = rollout("agentgym/Household-v0", OraclePolicy(), episodes=6, config=cfg,
                     env_kwargs=kw)
    randoms = rollout("agentgym/Household-v0", RandomPolicy(seed=0), episodes=4, seed=50,
                      config=cfg, env_kwargs=kw)
    return oracle, randoms


@pytest.fixture(scope="module")
def prm(household):
    oracle, randoms = household
    config = PRMModelConfig(tiny=SMALL, vocab_size=600, history_turns=8, max_tokens=768)
    return ProcessRewardModel.build(config, trajectories=oracle + randoms)


def test_short_episode_is_one_chunk_scoring_every_step(prm, household):
    oracle, _ = household
    traj = oracle[0]
    chunks = prm.encode_episode(traj)
    assert len(chunks) == 1
    c = chunks[0]
    assert c.steps == list(range(len(traj.steps)))
    # Each action ends with eos at its position; the state position is the token before it.
    decoded = prm.tokenizer.decode(c.ids[c.state_positions[0] + 1: c.action_positions[0] + 1])
    assert decoded.startswith(f"Action: {traj.steps[0].action}")
    assert all(c.ids[p] == prm.eos_id for p in c.action_positions)
    assert all(s < a for s, a in zip(c.state_positions, c.action_positions))


def test_long_episode_splits_into_chunks_within_limits(prm, household):
    _, randoms = household
    traj = randoms[0]
    chunks = prm.encode_episode(traj)
    assert len(chunks) > 1
    assert [i for c in chunks for i in c.steps] == list(range(len(traj.steps)))
    assert all(len(c.ids) <= prm.config.max_tokens for c in chunks)


def test_packed_scores_equal_one_step_at_a_time(prm, household):
    """One pass over an episode gives each step the score its own input gets alone."""
    _, randoms = household
    traj = randoms[1]
    packed = prm.score_episodes([prm.encode_episode(traj)], [len(traj.steps)])[0]
    inputs = [traj.agent_input(i) for i in range(len(traj.steps))]
    alone = prm.score_candidates(inputs, [s.action for s in traj.steps])
    np.testing.assert_allclose(packed[1, :, 0], alone[:, 0], atol=1e-5)


def test_candidates_share_the_history_view(prm, household):
    oracle, _ = household
    traj = oracle[1]
    i = len(traj.steps) - 1
    inp = traj.agent_input(i)
    others = [a for a in traj.steps[i].observation["admissible_actions"]
              if a != traj.steps[i].action][:3]
    chunks = prm.encode_candidates(inp, [traj.steps[i].action, *others])
    episode = prm.encode_episode(traj)[-1]
    assert chunks[0].ids == episode.ids[: episode.action_positions[-1] + 1]
    prefix = episode.ids[: episode.state_positions[-1] + 1]
    assert all(c.ids[: len(prefix)] == prefix for c in chunks)
    assert len({tuple(c.ids) for c in chunks}) == 4


def test_save_load_round_trip_and_plain_transformers(prm, household, tmp_path):
    from transformers import AutoModelForSequenceClassification

    oracle, _ = household
    before = prm.score_episodes([prm.encode_episode(oracle[2])], [len(oracle[2].steps)])[0]
    prm.save(tmp_path / "prm")
    again = ProcessRewardModel.load(tmp_path / "prm")
    after = again.score_episodes([again.encode_episode(oracle[2])], [len(oracle[2].steps)])[0]
    np.testing.assert_allclose(before, after, atol=1e-6)
    assert again.config.history_turns == 8
    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path / "prm")
    assert plain.config.num_labels == 1


def test_a_causal_lm_checkpoint_gets_a_fresh_head(tiny_checkpoint, household):
    oracle, _ = household
    prm = ProcessRewardModel.load(tiny_checkpoint, num_labels=3)
    out = prm.score_episodes([prm.encode_episode(oracle[0])], [len(oracle[0].steps)])[0]
    assert out.shape == (2, len(oracle[0].steps), 3)
    assert np.isfinite(out).all()


def test_bad_settings_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="reward.model.history_turns"):
        PRMModelConfig(history_turns=0)
    with pytest.raises(ConfigError, match="reward.model.path"):
        ProcessRewardModel.load(tmp_path / "missing")
    with pytest.raises(ConfigError, match="needs trajectories"):
        ProcessRewardModel.build(PRMModelConfig())
