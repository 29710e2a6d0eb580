"""PPOTrainer on a tiny model: one update lowers its loss, the data path, critics, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.policies.hf import HFPolicy
from agentgym.prompts import ReActFormat, save_prompt_settings
from agentgym.rollout import RolloutConfig, rollout
from agentgym.trainers.ppo import PPOConfig, PPOTrainer

ENV = "agentgym/KeyDoor-v0"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small model with chat-history prompt settings (as the trainers save them)."""
    from agentgym.models import TinyModelConfig, make_tiny_checkpoint

    folder = make_tiny_checkpoint(tmp_path_factory.mktemp("chat-tiny"), env_ids=[ENV],
                                  episodes=6, vocab_size=512,
                                  config=TinyModelConfig(arch="llama", hidden_size=64, layers=2,
                                                         heads=2))
    save_prompt_settings(folder, ReActFormat(history_style="chat", think=False, max_admissible=0))
    return folder


@pytest.fixture(scope="module")
def episodes(checkpoint):
    """Sampled episodes of the tiny model (two per start) with a made-up reward on each step."""
    policy = HFPolicy(str(checkpoint), temperature=1.0, max_new_tokens=12, seed=3)
    trajs = rollout(ENV, policy, episodes=3, group_size=2, seed=5,
                    config=RolloutConfig(num_envs=6, max_episode_steps=4, progress=False))
    rng = np.random.default_rng(0)
    for traj in trajs:
        for step in traj.steps:
            step.rewards["total"] = float(rng.normal())
    return trajs


def _config(**kw) -> PPOConfig:
    base = dict(lr=3e-3, epochs=3, minibatch_turns=8, progress=False, device="cpu")
    return PPOConfig(**{**base, **kw})


def _params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("settings", [
    {"advantage": "gae", "critic": "shared"},
    {"advantage": "rloo", "critic": "none", "step_groups": True},
    {"advantage": "gae", "critic": "separate", "kl_coef": 0.1, "kl_mode": "loss",
     "kl_estimator": "k3"},
])
def test_one_update_moves_the_parameters_and_lowers_the_loss(checkpoint, episodes, settings):
    trainer = PPOTrainer(checkpoint, _config(**settings))
    batch = trainer.prepare(episodes)
    before, params = trainer.batch_loss(batch), _params(trainer.model)
    metrics = trainer.train_on(batch, seed=0)
    after = trainer.batch_loss(batch)
    assert after < before - 1e-3, (before, after)
    moved = sum(float((p.detach() - q).abs().max()) > 0
                for p, q in zip(trainer.model.parameters(), params))
    assert moved == len(params)
    assert np.isfinite(metrics["loss/policy"]) and metrics["train/entropy"] > 0


def test_recomputed_logprobs_match_the_rollout(checkpoint, episodes):
    trainer = PPOTrainer(checkpoint, _config())
    batch = trainer.prepare(episodes)
    steps = [s for t in episodes for s in t.steps]
    assert len(batch.measured["logp"]) == len(steps)
    for lp, step in zip(batch.measured["logp"], steps):
        assert lp.tolist() == pytest.approx(step.action_logprobs, abs=1e-4)


def test_packed_rows_measure_what_one_row_per_turn_measures(checkpoint):
    from agentgym.policies import OraclePolicy
    from agentgym.trainers.rl_data import turn_rows

    # oracle episodes without token ids: rows are rebuilt from the chat prompt, so each step's
    # prompt extends the previous row and the episode packs
    demos = rollout(ENV, OraclePolicy(think=False), episodes=3, seed=2,
                    config=RolloutConfig(num_envs=3, progress=False))
    trainer = PPOTrainer(checkpoint, _config())
    trainer.value_head.bias.data.fill_(0.3)
    torch.nn.init.normal_(trainer.value_head.weight, std=0.1)
    for pack in (True, False):
        rows, n = turn_rows(demos, trainer.tokenizer, trainer.format, max_prompt_tokens=2048,
                            pack=pack)
        assert n == sum(len(t.steps) for t in demos)
        measured = trainer._measure(rows, n)
        if pack:
            packed = measured
            assert len(rows) == len(demos)
        else:
            assert len(rows) == n
    assert packed["value"] == pytest.approx(measured["value"], abs=1e-4)
    for a, b in zip(packed["logp"], measured["logp"]):
        assert a.tolist() == pytest.approx(b.tolist(), abs=1e-4)


def test_kl_to_the_reference_starts_at_zero_then_grows(checkpoint, episodes):
    trainer = PPOTrainer(checkpoint, _config(kl_coef=0.05, kl_estimator="k3"))
    first = trainer.prepare(episodes)
    assert first.metrics["train/kl_ref"] == pytest.approx(0.0, abs=1e-6)
    trainer.train_on(first)
    assert trainer.prepare(episodes).metrics["train/kl_ref"] > 1e-4


def test_truncated_episodes_bootstrap_from_the_final_value(checkpoint, episodes):
    trainer = PPOTrainer(checkpoint, _config(lam=1.0, gamma=0.9))
    trainer.train_on(trainer.prepare(episodes))  # a critic that is no longer all zeros
    traj = episodes[0]
    rewards = [np.array([s.rewards["total"] for s in traj.steps])]
    values = [np.zeros(len(traj.steps))]
    last = traj.steps[-1]
    saved = last.terminated, last.truncated
    try:
        last.terminated, last.truncated = True, False
        ended, _ = trainer.advantages([traj], rewards, values)
        last.terminated, last.truncated = False, True
        cut, _ = trainer.advantages([traj], rewards, values)
    finally:
        last.terminated, last.truncated = saved
    v_final = trainer._bootstrap_values([traj])[0]
    assert abs(v_final) > 1e-6
    assert cut[0][-1] - ended[0][-1] == pytest.approx(0.9 * v_final, abs=1e-6)


def test_save_and_reload_keep_the_critic_and_the_optimizer(checkpoint, episodes, tmp_path):
    trainer = PPOTrainer(checkpoint, _config(critic="separate"))
    trainer.train_on(trainer.prepare(episodes))
    folder = trainer.save(tmp_path / "iter-1")
    again = PPOTrainer(folder, _config(critic="separate"))
    a, b = trainer.prepare(episodes), again.prepare(episodes)
    assert b.measured["value"] == pytest.approx(a.measured["value"], abs=1e-6)
    state = again.optimizer.state_dict()["state"]
    steps = {int(s["step"]) for s in state.values()}
    assert steps == {int(trainer.optimizer.state_dict()["state"][0]["step"])} and steps != {0}


def test_a_missing_reward_names_the_key(checkpoint, episodes):
    trainer = PPOTrainer(checkpoint, _config(reward_key="agentprm"))
    with pytest.raises(ConfigError, match="trainer.reward_key"):
        trainer.prepare(episodes)


@pytest.mark.parametrize("settings, field", [
    ({"advantage": "gae", "critic": "none"}, "trainer.critic"),
    ({"advantage": "gae", "step_groups": True}, "trainer.step_groups"),
    ({"advantage": "ppo"}, "trainer.advantage"),
    ({"clip": 1.5}, "trainer.clip"),
])
def test_bad_settings_name_the_field(settings, field):
    with pytest.raises(ConfigError, match=field):
        PPOConfig(**settings)


def test_constrained_logprobs_form_a_distribution_over_the_admissible_answers(checkpoint):
    from agentgym.policies.hf import answer_trie
    from agentgym.trainers.rl_data import AdmissibleConstraint, single_turn_row

    policy = HFPolicy(str(checkpoint), temperature=1.0, max_new_tokens=16, seed=0,
                      constrain="admissible")
    traj = rollout(ENV, policy, episodes=1, seed=4,
                   config=RolloutConfig(num_envs=1, max_episode_steps=3, progress=False))[0]
    assert all(s.valid for s in traj.steps)  # decoded under the constraint
    trainer = PPOTrainer(checkpoint, _config(constrain="admissible"))
    step = traj.steps[0]
    admissible = list(step.observation["admissible_actions"])
    eos = trainer.tokenizer.eos_token_id
    answers = []  # every path through the trie: each action, bare and rendered
    trie = answer_trie(trainer.tokenizer, trainer.format, admissible, eos)

    def walk(node, path):
        for token, child in node.items():
            if token == eos:
                answers.append(path + [token])
            walk(child, path + [token])
    walk(trie, [])
    rows = [single_turn_row(step.prompt_ids, a, k) for k, a in enumerate(answers)]
    constraint = AdmissibleConstraint(trainer.tokenizer, trainer.format, [admissible] * len(rows))
    measured = trainer._measure(rows, len(rows), constraint)
    total = sum(float(lp.sum().exp()) for lp in measured["logp"])
    assert total == pytest.approx(1.0, abs=1e-4)
    free = trainer._measure(rows, len(rows))
    assert sum(float(lp.sum().exp()) for lp in free["logp"]) < total
    # the sampled action is one of those answers; its constrained log-prob is what PPO uses
    batch = trainer.prepare([_with_reward(traj)])
    k = answers.index(list(step.action_ids))
    assert batch.measured["logp"][0].tolist() == pytest.approx(measured["logp"][k].tolist(),
                                                               abs=1e-5)


def _with_reward(traj):
    for s in traj.steps:
        s.rewards["total"] = 0.0
    return traj


def test_a_constrained_update_keeps_the_weights_finite(checkpoint):
    policy = HFPolicy(str(checkpoint), temperature=1.0, max_new_tokens=16, seed=0,
                      constrain="admissible")
    trajs = rollout(ENV, policy, episodes=4, seed=9,
                    config=RolloutConfig(num_envs=4, max_episode_steps=4, progress=False))
    for i, t in enumerate(trajs):
        for s in t.steps:
            s.rewards["total"] = float(i % 2)
    trainer = PPOTrainer(checkpoint, _config(constrain="admissible", ent_coef=0.01, lr=1e-3))
    batch = trainer.prepare(trajs)
    before = trainer.batch_loss(batch)
    metrics = trainer.train_on(batch)
    assert np.isfinite(metrics["train/grad_norm"]) and np.isfinite(metrics["train/entropy"])
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert trainer.batch_loss(batch) < before


def test_constrained_entropy_gradient_matches_finite_differences():
    from agentgym.trainers.losses import entropy_from_logits, token_logprobs
    from agentgym.trainers.rl_data import AdmissibleConstraint

    torch.manual_seed(0)
    logits = torch.randn(1, 4, 6, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([[0, 1, 2, 3]])
    where = {"row": torch.tensor([0, 0]), "pos": torch.tensor([1, 2]),
             "allowed": torch.tensor([[1, 2, -1], [2, 3, 4]])}

    def objective(x):
        logp, ent = AdmissibleConstraint.apply(x, token_logprobs(x, ids),
                                               entropy_from_logits(x), where)
        return ent[0, 1:3].sum() + logp[0, 1:3].sum()

    objective(logits).backward()
    numeric = torch.zeros_like(logits)
    for i in range(4):
        for v in range(6):
            up, down = logits.detach().clone(), logits.detach().clone()
            up[0, i, v] += 1e-3
            down[0, i, v] -= 1e-3
            numeric[0, i, v] = (objective(up) - objective(down)) / 2e-3
    assert torch.allclose(logits.grad, numeric, atol=5e-4)  # token log-probs are float32
