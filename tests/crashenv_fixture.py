"""A counter env whose "engine" can die mid-episode, for the rollout engines' restart path.

``crash_file``: the first step 2 of any episode, in any process, that finds the file removes
it and raises :class:`~agentgym.errors.EnvCrashedError` (removing a file succeeds once, so the
crash happens exactly once however many workers race for it). ``always``: every step 2 does.
Pass the id as ``crashenv_fixture:agentgym_user/FlakyCounter-v0`` so workers import it too.
"""

from __future__ import annotations

import os

import gymnasium as gym

from agentgym.errors import EnvCrashedError
from userenv_fixture import CounterEnv

ENV_ID = "agentgym_user/FlakyCounter-v0"


class FlakyCounterEnv(CounterEnv):
    """:class:`~userenv_fixture.CounterEnv` whose engine dies on demand (see the module)."""

    def __init__(self, *, crash_file: str | None = None, always: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.crash_file, self.always, self.steps = crash_file, always, 0

    def reset(self, *, seed=None, options=None):
        self.steps = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.steps += 1
        if self.steps == 2 and (self.always or self._claim()):
            raise EnvCrashedError("the counter's engine died")
        return super().step(action)

    def _claim(self) -> bool:
        if not self.crash_file:
            return False
        try:
            os.remove(self.crash_file)
        except FileNotFoundError:
            return False
        return True


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="crashenv_fixture:FlakyCounterEnv", max_episode_steps=20)
