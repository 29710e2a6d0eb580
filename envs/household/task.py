"""``HouseholdTask``: ALFWorld's six household tasks as an agentgym :class:`~agentgym.Task`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from functools import lru_cache
from pathlib import Path

import numpy as np
from agentgym.envs.household.catalog import SPLITS, TaskDef, needs, split_size, task_def
from agentgym.envs.household.engine import NOTHING_HAPPENS, Engine, State
from agentgym.envs.household.explain import explain
from agentgym.envs.household.goals import TASK_TYPES
from agentgym.envs.household.planner import plan
from agentgym.envs.household.world import SceneKnobs, floorplans, generate_scene

from agentgym.errors import ConfigError, UnknownNameError
from agentgym.task import Outcome, Task, TaskSpec, Verdict

__all__ = ["HouseholdTask", "build_engine"]

SUBGOAL_REWARD = 0.1


@lru_cache(maxsize=2048)
def _cached_engine(definition: TaskDef, knobs: SceneKnobs) -> tuple[Engine, State]:
    rng = np.random.default_rng(definition.seed)
    scene = generate_scene(floorplans()[definition.floorplan], needs(definition.goal), rng, knobs)
    engine = Engine(scene, definition.goal)
    return engine, engine.initial_state()


@lru_cache(maxsize=64)
def _indices(split: str, task_types: tuple[str, ...]) -> Sequence[int]:
    """Catalog indices of ``split`` whose type is one of ``task_types`` (shared by all tasks)."""
    if set(task_types) == set(TASK_TYPES):
        return range(split_size(split))
    return tuple(
        i for i in range(split_size(split)) if task_def(split, i).goal.task_type in task_types
    )


def build_engine(definition: TaskDef, knobs: SceneKnobs | None = None) -> tuple[Engine, State]:
    """The engine and initial state of a catalog task (cached: states are immutable)."""
    return _cached_engine(definition, knobs or SceneKnobs())


class HouseholdTask(Task[State]):
    """ALFWorld's household tasks: find, take, treat and place objects; look at them under a lamp.

    Args:
        split: ``train`` (3,553 tasks), ``valid_seen`` (140) or ``valid_unseen`` (134: held-out
            floor plans and object/receptacle pairs).
        task_types: Only draw these task types (default: all six).
        subgoal_rewards: Also pay ``subgoal_reward`` for each milestone first reached (reward
            term ``subgoal``); by default only ``success`` is paid.
        subgoal_reward: The milestone reward.
        max_receptacles: Difficulty knob: keep at most this many receptacles.
        max_objects: Difficulty knob: keep at most this many objects.
        open_fraction: Difficulty knob: chance that an openable receptacle starts open.
        shared_locations: Let neighbouring cabinets/drawers/shelves share a location.
        pddl_problem: Path of an ALFRED PDDL problem to play instead of the catalog (every
            reset plays it).
    """

    splits = SPLITS

    def __init__(
        self,
        *,
        split: str = "train",
        task_types: Sequence[str] | None = None,
        subgoal_rewards: bool = False,
        subgoal_reward: float = SUBGOAL_REWARD,
        max_receptacles: int | None = None,
        max_objects: int | None = None,
        open_fraction: float = 0.0,
        shared_locations: bool = True,
        pddl_problem: str | Path | None = None,
    ) -> None:
        super().__init__(split=split)
        for name in task_types or ():
            if name not in TASK_TYPES:
                raise UnknownNameError("task type", name, TASK_TYPES)
        if max_receptacles is not None and max_receptacles < 3:
            raise ConfigError("env.kwargs.max_receptacles", f"must be >= 3, got {max_receptacles}.")
        if max_objects is not None and max_objects < 1:
            raise ConfigError("env.kwargs.max_objects", f"must be >= 1, got {max_objects}.")
        if not 0.0 <= open_fraction <= 1.0:
            raise ConfigError(
                "env.kwargs.open_fraction", f"must be in [0, 1], got {open_fraction}."
            )
        self.task_types = tuple(task_types) if task_types else TASK_TYPES
        self.subgoal_rewards = bool(subgoal_rewards)
        self.subgoal_reward = float(subgoal_reward)
        self.knobs = SceneKnobs(
            max_receptacles=max_receptacles, max_objects=max_objects,
            open_fraction=float(open_fraction), shared_locations=bool(shared_locations),
        )
        self.indices = _indices(split, self.task_types)
        self._pending: int | None = None
        self._pddl: tuple[Engine, State, str] | None = None
        if pddl_problem is not None:
            from agentgym.envs.household.pddl import load_problem

            engine = load_problem(pddl_problem)
            self._pddl = (engine, engine.initial_state(), f"pddl-{Path(pddl_problem).stem}")

    def __len__(self) -> int:
        """Number of tasks this task family draws from."""
        return 1 if self._pddl else len(self.indices)

    def select(self, index: int | None) -> None:
        """Play task ``index % len(self)`` at the next :meth:`setup` (``None``: draw one)."""
        self._pending = None if index is None else int(index) % len(self)

    def definition(self, index: int) -> TaskDef:
        """The catalog entry of task ``index`` (``0 <= index < len(self)``)."""
        return task_def(self.split, self.indices[index])

    # -- Task API ------------------------------------------------------------------------------

    def setup(self, rng: np.random.Generator) -> TaskSpec[State]:
        if self._pddl is not None:
            engine, state, task_id = self._pddl
        else:
            index = self._pending if self._pending is not None else int(rng.integers(len(self)))
            definition = self.definition(index)
            engine, state = build_engine(definition, self.knobs)
            task_id = definition.task_id + self._knob_suffix()
        self._pending = None
        goal = engine.goal
        return TaskSpec(
            goal=f"{goal.text}.", state=state, text=engine.intro(state), task_id=task_id,
            task_type=goal.task_type, subgoals=engine.goal_tables.subgoals,
        )

    def _knob_suffix(self) -> str:
        default = SceneKnobs()
        if self.knobs == default:
            return ""
        changed = [f"{v}" for v, d in zip(astuple(self.knobs), astuple(default)) if v != d]
        return "-" + "-".join(changed)

    def admissible(self, state: State) -> list[str]:
        return state.engine.admissible(state)

    def apply(self, state: State, action: str) -> Outcome[State]:
        engine = state.engine
        op = engine.lookup(state, action)
        if op is None:
            return Outcome(state=state, text=NOTHING_HAPPENS, valid=False,
                           error=explain(engine, state, action))
        nxt, text = engine.apply(state, op, action)
        return Outcome(state=nxt, text=text)

    def validate(self, before: State, after: State) -> Verdict:
        tables = after.engine.goal_tables
        won_bit = tables.won_bit
        won = bool(after.progress & won_bit)
        terms = {"success": 1.0 if won and not before.progress & won_bit else 0.0}
        if self.subgoal_rewards:
            new = after.progress & ~before.progress & ~won_bit
            terms["subgoal"] = self.subgoal_reward * bin(new).count("1")
        names = tables.subgoals
        done = [names[i] for i in range(len(names)) if after.progress >> i & 1]
        return Verdict(won=won, reward_terms=terms, subgoals_done=done)

    def oracle(self, state: State) -> str | None:
        """The next command of a short plan (:func:`~agentgym.envs.household.planner.plan`).

        The plan is kept on the state and handed on to the next state when the agent follows
        it, so following the oracle costs one planning per episode; a state off the plan (the
        agent strayed) is planned afresh.
        """
        if state.plan is None:
            state.plan = plan(state.engine, state)
        return state.plan[0] if state.plan else None

    def rationale(self, state: State) -> str | None:
        """Why the oracle's next command makes sense, in a sentence (from the plan ahead)."""
        if self.oracle(state) is None:
            return None
        return _rationale(state.plan or (), state.engine.goal.obj)

    def copy_state(self, state: State) -> State:
        return state  # immutable


_VERBS = {"heat": "hot", "cool": "cool", "clean": "clean"}


def _rationale(plan: tuple[str, ...], kind: str) -> str:
    """A one-sentence thought for ``plan[0]``, looking ahead in the plan for its purpose."""
    command = plan[0]
    verb, _, rest = command.partition(" ")
    if verb == "go":
        target = rest.removeprefix("to ")
        purpose = next((c for c in plan[1:] if not c.startswith(("open ", "go to "))), "")
        p_verb, _, p_rest = purpose.partition(" ")
        if p_verb == "take":
            return f"The {p_rest.split(' from ')[0]} is in/on the {target}; I go there to take it."
        if p_verb == "move":
            return f"I bring the {p_rest.split(' to ')[0]} to the {target}."
        if p_verb in _VERBS:
            return f"I go to the {target} to {p_verb} the {p_rest.split(' with ')[0]}."
        if p_verb == "use":
            return f"The {p_rest} is by the {target}; I go there to switch it on."
        return f"The lamp by the {target} is on; I go there with the {kind}."
    if verb == "open":
        return f"The {rest} is closed; I open it."
    if verb == "take":
        return f"Here is the {rest.split(' from ')[0]}; I take it."
    if verb == "move":
        thing, place = rest.split(" to ")
        if thing.rsplit(" ", 1)[0] != kind:
            return f"I do not need the {thing}; I put it down in/on the {place}."
        return f"I put the {thing} in/on the {place}."
    if verb in _VERBS:
        thing = rest.split(" with ")[0]
        return f"The task wants a {_VERBS[verb]} {kind}, so I {verb} the {thing}."
    return f"I switch on the {rest} to look at the {kind} under it."
