"""ImplicitPRM (PRIME): zero before training, the log-ratio by hand, learning from outcomes,
save/load, what the LMs read, and config errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agentgym.errors import ConfigError  # noqa: E402
from agentgym.rewards.base import StepRewarder  # noqa: E402
from agentgym.rewards.implicit import ImplicitPRM  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The model is tiny: with other work on the CPU, extra torch threads only slow it down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trajectories():
    """Six won KeyDoor episodes (oracle) and six lost ones (random actions)."""
    from agentgym.policies.base import OraclePolicy, RandomPolicy
    from agentgym.rollout import RolloutConfig, rollout

    won = rollout("agentgym/KeyDoor-v0", OraclePolicy(), episodes=6,
                  config=RolloutConfig(num_envs=6, progress=False))
    lost = rollout("agentgym/KeyDoor-v0", RandomPolicy(seed=1), episodes=6, seed=100,
                   config=RolloutConfig(num_envs=6, progress=False, max_episode_steps=8))
    assert all(t.success for t in won) and not any(t.success for t in lost)
    return won + lost


@pytest.fixture(scope="module")
def ref_path(trajectories, tmp_path_factory):
    """A ~23k-parameter llama with a tokenizer trained on the episodes' text."""
    from agentgym.models.tiny import (
        TinyModelConfig,
        build_tiny_model,
        train_tokenizer,
        trajectory_texts,
    )

    path = tmp_path_factory.mktemp("implicit") / "ref"
    tok = train_tokenizer(trajectory_texts(trajectories), vocab_size=400, path=path)
    build_tiny_model(path, tokenizer=tok, config=TinyModelConfig(
        hidden_size=32, layers=1, heads=2, intermediate_size=64))
    return path


@pytest.fixture(scope="module")
def fitted(ref_path, trajectories):
    """An implicit PRM fitted for three epochs on the mixed episodes, and its fit history."""
    prm = ImplicitPRM(ref_path=str(ref_path), beta=0.05, lr=1e-2, epochs=3, batch_size=4,
                      progress=False)
    return prm, prm.fit(trajectories)


def _action_logprob(model, prompt: list[int], action: list[int]) -> float:
    """Sum of log model(action token | prefix), from one plain unpadded forward pass."""
    ids = torch.tensor([prompt + action])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
    return sum(float(logp[len(prompt) + k - 1, t]) for k, t in enumerate(action))


def test_zero_before_training(ref_path, trajectories):
    prm = ImplicitPRM(ref_path=str(ref_path))
    assert isinstance(prm, StepRewarder) and prm.name == "implicit"
    scores = prm.score(trajectories)
    assert [s.shape for s in scores] == [(len(t.steps),) for t in trajectories]
    assert all(s.dtype == np.float64 for s in scores)
    assert max(np.abs(s).max() for s in scores) < 1e-9


def test_step_reward_is_beta_times_the_log_ratio(fitted, trajectories):
    prm, _ = fitted
    traj = trajectories[-1]
    pairs = prm.encode(traj)
    scores = prm.score([trajectories[0], traj])[1]  # scored inside a padded batch
    for i in (0, len(pairs) - 1):
        prompt, action = pairs[i]
        expected = prm.config.beta * (_action_logprob(prm.model, prompt, action)
                                      - _action_logprob(prm.ref_model, prompt, action))
        assert abs(expected) > 1e-4  # fitting moved pi_phi away from the reference
        assert scores[i] == pytest.approx(expected, abs=1e-5)


def test_learns_to_rank_won_above_lost(fitted, trajectories):
    prm, history = fitted
    assert len(history) == 9  # 3 batches of 4 per epoch
    assert history[-1]["loss"] < history[0]["loss"]
    totals = np.array([s.sum() for s in prm.score(trajectories)])
    won = np.array([t.success for t in trajectories])
    assert totals[won].mean() > totals[~won].mean()
    # The reference stayed frozen: its parameters have no gradient and were never changed.
    assert not any(p.requires_grad for p in prm.ref_model.parameters())
    fresh = ImplicitPRM(ref_path=prm.config.ref_path)
    for a, b in zip(prm.ref_model.parameters(), fresh.ref_model.parameters()):
        assert torch.equal(a, b)


def test_save_load_round_trip(fitted, trajectories, tmp_path):
    prm, _ = fitted
    path = prm.save(tmp_path / "implicit")
    meta = json.loads((path / "agentgym_reward.json").read_text())
    assert meta["rewarder"] == "implicit" and meta["beta"] == 0.05
    assert Path(meta["ref_path"]) == Path(prm.config.ref_path).resolve()
    loaded = ImplicitPRM.load(path)
    assert loaded.config.beta == prm.config.beta
    before, after = prm.score(trajectories), loaded.score(trajectories)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    renamed = ImplicitPRM(path=str(path), beta=0.1, name="prime")
    assert renamed.name == "prime" and renamed.config.beta == 0.1
    # Same batch as `before` (another batch pads differently: float32 differs at 1e-7).
    for a, b in zip(renamed.score(trajectories), before):
        np.testing.assert_allclose(a, 2 * b, atol=1e-12)


def test_reads_what_hf_policy_reads(ref_path, trajectories, tmp_path):
    from agentgym.policies.hf import HFPolicy
    from agentgym.prompts import ReActFormat, save_prompt_settings

    traj = trajectories[0]
    # No saved prompt settings: ReActFormat(think=False) with history_turns.
    prm = ImplicitPRM(ref_path=str(ref_path), history_turns=2)
    policy = HFPolicy(str(ref_path), think=False, history_turns=2)
    for i, (prompt, action) in enumerate(prm.encode(traj)):
        assert prompt == policy.prompt_ids(traj.agent_input(i))[0]
        text = prm.tokenizer.decode(action, skip_special_tokens=False)
        assert text == traj.steps[i].raw_output + prm.tokenizer.eos_token
    # Saved prompt settings win.
    saved = tmp_path / "with-prompt"
    shutil.copytree(ref_path, saved)
    save_prompt_settings(saved, ReActFormat(think=True, history_turns=1))
    prm = ImplicitPRM(ref_path=str(saved))
    policy = HFPolicy(str(saved))
    assert prm.format.think and prm.format.history_turns == 1
    last = len(traj.steps) - 1
    assert prm.encode(traj)[last][0] == policy.prompt_ids(traj.agent_input(last))[0]


@pytest.mark.parametrize("kwargs, field", [
    ({"beta": 0.0}, "reward.beta"),
    ({"beta": -1.0}, "reward.beta"),
    ({"lr": 0.0}, "reward.lr"),
    ({"epochs": 0}, "reward.epochs"),
    ({"batch_size": 0}, "reward.batch_size"),
    ({"max_tokens": 1}, "reward.max_tokens"),
    ({"history_turns": -1}, "reward.history_turns"),
    ({"device": "nonsense"}, "reward.device"),
])
def test_bad_settings_name_the_field(ref_path, kwargs, field):
    with pytest.raises(ConfigError, match=field) as info:
        ImplicitPRM(ref_path=str(ref_path), **kwargs)
    assert info.value.field == field


def test_bad_checkpoints_name_the_field(ref_path, tmp_path):
    with pytest.raises(ConfigError) as info:
        ImplicitPRM()
    assert info.value.field == "reward.ref_path"
    with pytest.raises(ConfigError, match="cannot load a causal LM") as info:
        ImplicitPRM(ref_path=str(tmp_path / "missing"))
    assert info.value.field == "reward.ref_path"
    with pytest.raises(ConfigError, match="agentgym_reward.json") as info:
        ImplicitPRM(path=str(ref_path))  # a model folder, but not one written by save()
    assert info.value.field == "reward.path"
