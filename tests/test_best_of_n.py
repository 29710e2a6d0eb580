"""Best-of-N: N candidates per step in one policy call, the scorer's favourite is acted."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from agentgym.errors import ConfigError
from agentgym.policies.best_of_n import BestOfN, candidate_trajectory
from agentgym.rewards import AdmissibleReward
from agentgym.rollout import RolloutConfig, rollout
from agentgym.types import ActionOutput, AgentInput, Turn


class Sloppy:
    """Proposes an admissible action half the time and nonsense otherwise; records batch sizes."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls: list[int] = []

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        self.calls.append(len(batch))
        out = []
        for inp in batch:
            if self.rng.random() < 0.5 and inp.admissible_actions:
                action = inp.admissible_actions[int(self.rng.integers(len(inp.admissible_actions)))]
            else:
                action = f"dance {int(self.rng.integers(100))}"
            out.append(ActionOutput(text=f"Action: {action}", action=action))
        return out


def _inp(**kw) -> AgentInput:
    base = dict(env_id="x", goal="g", observation="o", admissible_actions=["look", "go north"])
    return AgentInput(**{**base, **kw})


def test_one_policy_call_per_step_over_all_candidates_and_the_best_is_chosen() -> None:
    base = Sloppy()
    best = BestOfN(base, AdmissibleReward(), n=6)
    outs = best.act([_inp(), _inp(admissible_actions=["take key"])])
    assert base.calls == [12]
    for out, allowed in zip(outs, (["look", "go north"], ["take key"])):
        info = out.meta["best_of_n"]
        assert len(info["actions"]) == 6 and info["scorer"] == "admissible"
        assert info["scores"][info["chosen"]] == max(info["scores"])
        assert out.action == info["actions"][info["chosen"]]
        if max(info["scores"]) == 1.0:
            assert out.action in allowed


def test_best_of_n_cuts_invalid_actions_in_real_rollouts() -> None:
    config = RolloutConfig(num_envs=4, progress=False)
    plain = rollout("agentgym/KeyDoor-v0", Sloppy(1), episodes=8, config=config)
    best = rollout("agentgym/KeyDoor-v0", BestOfN(Sloppy(1), AdmissibleReward(), n=8),
                   episodes=8, config=config)
    rate = lambda trajs: sum(t.invalid_actions for t in trajs) / sum(len(t) for t in trajs)  # noqa: E731
    assert rate(plain) > 0.3
    assert rate(best) < 0.05  # 8 candidates, each admissible with p=0.5: nearly always one is


def test_candidate_trajectory_carries_the_history_and_the_candidate_last() -> None:
    inp = _inp(history=[Turn(observation="o0", action="look")], last_action_error="bad")
    traj = candidate_trajectory(inp, ActionOutput(text="Action: go north", action="go north"))
    assert [s.action for s in traj.steps] == ["look", "go north"]
    assert traj.steps[-1].observation["admissible_actions"] == ("look", "go north")
    assert traj.steps[-1].observation["last_action_error"] == "bad"
    assert AdmissibleReward().score([traj])[0].tolist() == [1.0, 1.0]


def test_best_of_n_from_config(tiny_checkpoint, tmp_path) -> None:
    from agentgym.cli import main
    from agentgym.config import compose
    from agentgym.errors import UnknownNameError
    from agentgym.policies.hf import HFPolicy
    from agentgym.policies.registry import make_policy

    overrides = ["policy=best_of_n", "policy.n=3", f"policy.policy.path={tiny_checkpoint}",
                 "policy.policy.max_new_tokens=8", "+policy.policy.history_turns=1"]
    policy = make_policy(compose("eval", overrides).policy)
    assert isinstance(policy, BestOfN) and policy.n == 3
    assert isinstance(policy.policy, HFPolicy) and policy.policy.config.temperature == 1.0
    assert isinstance(policy.scorer, AdmissibleReward)
    out = policy.act([_inp(), _inp(observation="another room")])
    assert [len(o.meta["best_of_n"]["actions"]) for o in out] == [3, 3]
    # The whole eval runs from the command line.
    assert main(["eval", "suite=smoke", *overrides, "rollout.progress=false",
                 "rollout.max_episode_steps=3", f"run.dir={tmp_path}", "run.name=bon"]) == 0
    assert (tmp_path / "bon" / "results.json").exists()
    with pytest.raises(UnknownNameError, match="admissible"):
        make_policy(compose("eval", [*overrides, "policy.scorer.name=admissable"]).policy)


def test_n_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="policy.n"):
        BestOfN(Sloppy(), AdmissibleReward(), n=0)
