"""A user defines an environment in their own module (this one), registers it, and uses it by id
everywhere: gymnasium, the rollout engine (in-process and in subprocess workers), ``agentgym eval``.
"""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np

import agentgym
from agentgym.cli import main


class LightsTask(agentgym.Task):
    """Turn on every lamp in the house."""

    def __init__(self, *, split: str = "train", lamps: int = 3) -> None:
        super().__init__(split=split)
        self.lamps = lamps

    def setup(self, rng: np.random.Generator) -> agentgym.TaskSpec:
        state = tuple(bool(b) for b in rng.integers(0, 2, size=self.lamps))
        if all(state):
            state = (False,) + state[1:]
        return agentgym.TaskSpec(goal="Turn on every lamp.", state=state, text=self._show(state),
                                 task_id=f"lights-{''.join('1' if s else '0' for s in state)}")

    def admissible(self, state: tuple) -> list[str]:
        return [f"switch {i}" for i in range(len(state))]

    def apply(self, state: tuple, action: str) -> agentgym.Outcome:
        word, _, arg = action.partition(" ")
        if word != "switch" or not arg.isdigit() or int(arg) >= len(state):
            return agentgym.Outcome(state=state, text="Nothing happens.", valid=False,
                                    error=f"Unknown action {action!r}; try 'switch 0'.")
        i = int(arg)
        new = state[:i] + (not state[i],) + state[i + 1:]
        return agentgym.Outcome(state=new, text=self._show(new))

    def validate(self, before: tuple, after: tuple) -> agentgym.Verdict:
        won = all(after)
        return agentgym.Verdict(won=won, reward_terms={"lit": 1.0 if won and not all(before) else 0.0})

    def oracle(self, state: tuple) -> str | None:
        return next((f"switch {i}" for i, on in enumerate(state) if not on), None)

    @staticmethod
    def _show(state: tuple) -> str:
        return " ".join(f"lamp {i} is {'on' if on else 'off'}." for i, on in enumerate(state))


class LightsEnv(agentgym.TextEnv):
    """Switch lamps on until all of them shine."""

    task_class = LightsTask


ENV_ID = "agentgym_user/Lights-v0"
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=f"{__name__}:LightsEnv", max_episode_steps=10)


def test_user_env_through_gymnasium_and_agentgym_make() -> None:
    env = agentgym.make(ENV_ID, lamps=4)
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs) and "expert_action" in info
    assert agentgym.make(f"{__name__}:{ENV_ID}").spec.id == ENV_ID


def test_user_env_in_the_rollout_engine_in_process_and_in_workers() -> None:
    results = []
    for workers in (0, 2):
        config = agentgym.RolloutConfig(num_envs=3, workers=workers, progress=False)
        with agentgym.RolloutEngine(f"{__name__}:{ENV_ID}", config=config) as engine:
            results.append(engine.run(agentgym.OraclePolicy(), episodes=6))
    local, remote = results
    assert all(t.success for t in local) and len(local) == 6
    assert [t.steps for t in local] == [t.steps for t in remote]


def test_user_env_through_agentgym_eval(tmp_path) -> None:
    code = main(["eval", f"env.id={__name__}:{ENV_ID}", "policy=oracle", "episodes=8",
                 f"run.dir={tmp_path}", "run.name=u", "rollout.progress=false"])
    assert code == 0
    report = json.loads((tmp_path / "u" / "results.json").read_text())
    assert report["overall"]["success_rate"] == 1.0
    assert report["overall"]["episodes"] == 8
