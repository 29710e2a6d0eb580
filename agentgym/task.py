"""The :class:`Task` base: what an environment is *about*, apart from its infrastructure.

A task sets up an episode (goal, initial state), lists admissible actions, applies an action to
the state, judges the state (won / lost, named reward terms) and, where it can, names the expert's
next action. :class:`agentgym.TextEnv` turns any task into a gymnasium environment, so a new
environment is usually one small Task subclass plus one ``gymnasium.register`` call.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["Task", "TaskSpec", "Outcome", "Verdict"]

State = TypeVar("State")


@dataclass(kw_only=True)
class TaskSpec(Generic[State]):
    """The start of one episode.

    Attributes:
        goal: The instruction shown to the agent.
        state: The task's own initial state (any object; the task alone reads it).
        text: The first observation text.
        task_id: Stable id of this task instance (same seed ⇒ same id).
        task_type: Family of the task, for per-type metrics.
        subgoals: Named milestones (for checklists and progress rewards).
    """

    goal: str
    state: State
    text: str
    task_id: str = ""
    task_type: str = ""
    subgoals: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Outcome(Generic[State]):
    """What one action did.

    Attributes:
        state: The state after the action (unchanged when the action was invalid).
        text: Feedback to show the agent.
        valid: Whether the action was understood and executed.
        error: Why it was not, in words the agent can act on ("" when valid).
    """

    state: State
    text: str
    valid: bool = True
    error: str = ""


@dataclass(kw_only=True)
class Verdict:
    """The task's judgement of a state.

    Attributes:
        won: The goal is reached.
        lost: The episode is over without success (a dead end).
        reward_terms: Named parts of the reward earned *by the last transition*; they sum to the
            step reward.
        subgoals_done: Names of the subgoals reached so far.
    """

    won: bool = False
    lost: bool = False
    reward_terms: dict[str, float] = field(default_factory=dict)
    subgoals_done: list[str] = field(default_factory=list)

    @property
    def reward(self) -> float:
        return float(sum(self.reward_terms.values()))


class Task(ABC, Generic[State]):
    """One family of tasks. Subclass it and implement the five methods.

    Tasks are deterministic given the ``rng`` handed to :meth:`setup`: same seed, same episode.
    ``validate`` receives the state before and after the transition so rewards can be paid once,
    when a milestone is first reached.

    Args:
        split: Which split of task instances to draw from (``train``, ``valid``, ``test``).
    """

    #: Splits this task family offers.
    splits: tuple[str, ...] = ("train", "valid", "test")

    def __init__(self, *, split: str = "train") -> None:
        if split not in self.splits:
            from agentgym.errors import ConfigError, closest

            near = closest(split, self.splits)
            raise ConfigError(
                "split",
                f"{split!r} is not a split of {type(self).__name__}"
                + (f" (did you mean {near[0]!r}?)." if near else "."),
                f"use one of {list(self.splits)}.",
            )
        self.split = split

    @abstractmethod
    def setup(self, rng: np.random.Generator) -> TaskSpec[State]:
        """Draw a task instance and its initial state from ``rng``."""

    @abstractmethod
    def admissible(self, state: State) -> list[str]:
        """Actions that make sense now (empty list for an open action space)."""

    @abstractmethod
    def apply(self, state: State, action: str) -> Outcome[State]:
        """Apply an action. Must not raise on bad actions: return ``valid=False`` and an error."""

    @abstractmethod
    def validate(self, before: State, after: State) -> Verdict:
        """Judge the transition ``before → after``."""

    def oracle(self, state: State) -> str | None:
        """The expert's next action from ``state``, or ``None`` when the task has no oracle."""
        return None

    def rationale(self, state: State) -> str | None:
        """Why the oracle's next action makes sense, in a sentence (optional).

        Used as the ``Thought:`` of demonstrations (``agentgym collect``, behaviour cloning).
        """
        return None

    def describe(self, state: State) -> dict[str, Any]:
        """Extra, JSON-serialisable facts about the state for ``info`` (optional)."""
        return {}

    def copy_state(self, state: State) -> State:
        """An independent copy of ``state`` for snapshots.

        The default deep-copies; tasks whose states are immutable return ``state`` itself.
        """
        return copy.deepcopy(state)
