"""NoisyExpert: random admissible actions at rate epsilon, marked, and never cloned."""

from __future__ import annotations

import pytest

from agentgym.envs.household.demonstrator import HouseholdDemonstrator
from agentgym.errors import ConfigError
from agentgym.policies.noisy import NoisyExpert
from agentgym.policies.registry import make_policy
from agentgym.rollout import RolloutConfig, rollout
from agentgym.storage import load_trajectories, save_trajectories
from agentgym.types import AgentInput, Turn

_ENV = "agentgym/Household-v0"


def _inputs(n: int) -> list[AgentInput]:
    return [AgentInput(env_id=_ENV, goal="put some apple in fridge.", observation=f"room {i}",
                       admissible_actions=["look", "inventory", "go to fridge 1", f"go to x {i}"],
                       history=[Turn(observation="start", action="look")] * (i % 3))
            for i in range(n)]


def test_epsilon_bounds_the_share_of_random_actions() -> None:
    expert = HouseholdDemonstrator()
    batch = _inputs(400)
    wanted = [o.action for o in expert.act(batch)]
    assert [o.action for o in NoisyExpert(expert, epsilon=0.0).act(batch)] == wanted
    noisy = NoisyExpert(expert, epsilon=0.25, seed=3).act(batch)
    marked = [o for o in noisy if o.meta.get("explore")]
    assert 0.18 < len(marked) / len(batch) < 0.32
    for inp, out, expert_action in zip(batch, noisy, wanted):
        assert out.action in inp.admissible_actions
        if out.meta.get("explore"):
            assert out.action != expert_action and out.meta["expert_action"] == expert_action
        else:
            assert out.action == expert_action
    always = NoisyExpert(expert, epsilon=1.0).act(batch)
    assert all(o.meta["explore"] and o.action != w for o, w in zip(always, wanted))


def test_choices_do_not_depend_on_the_batch() -> None:
    policy = NoisyExpert(HouseholdDemonstrator(), epsilon=0.5, seed=7)
    batch = _inputs(40)
    together = [o.action for o in policy.act(batch)]
    alone = [policy.act([inp])[0].action for inp in batch]
    assert together == alone
    other_seed = [o.action for o in NoisyExpert(HouseholdDemonstrator(), epsilon=0.5,
                                                seed=8).act(batch)]
    assert other_seed != together


def test_noisy_household_demonstrations_recover_and_keep_their_marks(tmp_path) -> None:
    policy = make_policy({"name": "noisy", "epsilon": 0.2,
                          "policy": {"name": "household_demonstrator", "think": False}})
    trajs = rollout(_ENV, policy, episodes=16, seed=0,
                    config=RolloutConfig(num_envs=8, progress=False))
    steps = [s for t in trajs for s in t.steps]
    explored = [s for s in steps if s.meta.get("explore")]
    assert explored and len(explored) < len(steps) / 2
    # The demonstrator carries on from the random action's state and still wins most episodes.
    assert sum(t.success for t in trajs) >= 12
    loaded = load_trajectories(save_trajectories(trajs, tmp_path / "noisy.jsonl"))
    assert [s.meta for t in loaded for s in t.steps] == [s.meta for s in steps]


def test_sft_trains_on_the_expert_steps_only(tiny_checkpoint) -> None:
    from transformers import AutoTokenizer

    from agentgym.prompts import ReActFormat
    from agentgym.trainers.sft import IGNORE, build_samples

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    trajs = rollout(_ENV, NoisyExpert(HouseholdDemonstrator(), epsilon=0.3, seed=1), episodes=6,
                    seed=0, config=RolloutConfig(num_envs=6, progress=False))
    fmt = ReActFormat(think=False, history_style="chat", max_admissible=0, history_turns=60)
    samples = build_samples(trajs, tok, fmt, max_tokens=4096)
    assert len(samples) == len(trajs)  # explored steps stay in the packed conversation

    def spans(labels: list[int]) -> int:
        return sum(1 for i in range(1, len(labels))
                   if labels[i] != IGNORE and labels[i - 1] == IGNORE)

    for traj, sample in zip(trajs, samples):
        expert_steps = sum(not s.meta.get("explore") for s in traj.steps)
        assert spans(sample.labels) == expert_steps
        text = tok.decode(sample.input_ids)
        for step in traj.steps:
            assert step.action in text
    assert any(s.meta.get("explore") for t in trajs for s in t.steps)


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="policy.epsilon"):
        make_policy({"name": "noisy", "epsilon": 1.5})
    with pytest.raises(ConfigError, match="policy.policy.name"):
        make_policy({"name": "noisy", "policy": {"name": "noisy"}})
