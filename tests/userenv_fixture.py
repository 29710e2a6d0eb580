"""A user-defined environment, registered at runtime: the smallest complete example.

This module is what a user writes to add an environment: a :class:`~agentgym.Task` (setup,
admissible, apply, validate, oracle), a :class:`~agentgym.TextEnv` subclass naming it, and one
``gymnasium.register`` call with a *string* entry point, so subprocess workers can import it too.
Importing the module registers the env; pass its id as ``userenv_fixture:agentgym_user/Counter-v0``
and agentgym imports ``userenv_fixture`` first (in the parent and in every worker)::

    rollout("userenv_fixture:agentgym_user/Counter-v0", OraclePolicy(), episodes=4)

The tests use it for user-env rollouts in subprocess workers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np

from agentgym import Outcome, Task, TaskSpec, TextEnv, Verdict

__all__ = ["CounterEnv", "CounterState", "CounterTask", "ENV_ID"]

ENV_ID = "agentgym_user/Counter-v0"
ACTIONS = ("increment", "decrement", "submit")
STEP_REWARD = 0.1


@dataclass(frozen=True)
class CounterState:
    """The number to reach, the counter, and whether the agent has submitted."""

    target: int
    value: int = 0
    submitted: bool = False


class CounterTask(Task[CounterState]):
    """Count from 0 up to a target number, then submit.

    Args:
        split: ``train``, ``valid`` or ``test`` (all draw from the same targets here).
        high: Largest target (targets are drawn from 1 to ``high``).
    """

    def __init__(self, *, split: str = "train", high: int = 5) -> None:
        super().__init__(split=split)
        if high < 1:
            raise ValueError(f"high must be >= 1, got {high}.")
        self.high = high

    def setup(self, rng: np.random.Generator) -> TaskSpec[CounterState]:
        target = int(rng.integers(1, self.high + 1))
        return TaskSpec(
            goal=f"Count to {target}, then submit.",
            state=CounterState(target=target),
            text="The counter shows 0.",
            task_id=f"counter-{target}",
            task_type="counter",
            subgoals=[f"reach {target}", "submit"],
        )

    def admissible(self, state: CounterState) -> list[str]:
        return list(ACTIONS)

    def apply(self, state: CounterState, action: str) -> Outcome[CounterState]:
        if action == "increment":
            after = replace(state, value=state.value + 1)
        elif action == "decrement":
            after = replace(state, value=state.value - 1)
        elif action == "submit":
            return Outcome(state=replace(state, submitted=True), text=f"You submit {state.value}.")
        else:  # bad agent output is an observation, never an exception
            error = f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}."
            return Outcome(state=state, text="Nothing happens.", valid=False, error=error)
        return Outcome(state=after, text=f"The counter shows {after.value}.")

    def validate(self, before: CounterState, after: CounterState) -> Verdict:
        won = after.submitted and after.value == after.target
        # "progress" pays for moving towards the target and charges for moving away from it.
        closer = abs(before.target - before.value) - abs(after.target - after.value)
        done = [f"reach {after.target}"] if after.value == after.target else []
        return Verdict(
            won=won,
            lost=after.submitted and not won,
            reward_terms={
                "success": 1.0 if won and not before.submitted else 0.0,
                "progress": STEP_REWARD * closer,
            },
            subgoals_done=done + (["submit"] if after.submitted else []),
        )

    def oracle(self, state: CounterState) -> str:
        if state.value < state.target:
            return "increment"
        return "decrement" if state.value > state.target else "submit"


class CounterEnv(TextEnv):
    """Count to a number, then submit: a user-defined example environment.

    ## Description
    The goal names a target from 1 to ``high``; the counter starts at 0.

    ## Observation
    ``Dict(text, goal, admissible_actions, last_action_error)`` of unicode strings.

    ## Action
    ``increment``, ``decrement`` or ``submit``.

    ## Rewards
    ``success``: 1.0 for submitting the target. ``progress``: +0.1 per step towards the target,
    -0.1 per step away from it.

    ## Episode end
    Terminated on submitting (won if the counter shows the target, lost otherwise); truncated
    after 20 steps.

    ## Arguments
    ``split``, ``high`` (largest target, default 5).

    ## Version history
    * v0: initial version.
    """

    task_class = CounterTask


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="userenv_fixture:CounterEnv", max_episode_steps=20)
