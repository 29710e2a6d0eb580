"""ALFWorld's six task types: goal sentences, milestones and the goal test.

The sentences are ALFWorld's templates (``alfworld/gen/goal_library.py``, filled in by
``alfworld.agents.utils.misc.get_templated_task_desc`` with lower-case class names); the goal
tests are the ``(:goal ...)`` of the same library, evaluated on the engine's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from agentgym.envs.household.world import Scene

__all__ = ["TASK_TYPES", "TEMPLATES", "TREATMENT", "Goal", "GoalTables"]

TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

TEMPLATES: dict[str, tuple[str, str]] = {
    "pick_and_place_simple": ("put a {obj} in {recep}", "put some {obj} on {recep}"),
    "look_at_obj_in_light": (
        "look at {obj} under the {toggle}", "examine the {obj} with the {toggle}"
    ),
    "pick_clean_then_place_in_recep": (
        "put a clean {obj} in {recep}", "clean some {obj} and put it in {recep}"
    ),
    "pick_heat_then_place_in_recep": (
        "put a hot {obj} in {recep}", "heat some {obj} and put it in {recep}"
    ),
    "pick_cool_then_place_in_recep": (
        "put a cool {obj} in {recep}", "cool some {obj} and put it in {recep}"
    ),
    "pick_two_obj_and_place": (
        "put two {obj} in {recep}", "find two {obj} and put them in {recep}"
    ),
}

# Object state bits (``State.flags``), shared with the engine.
CLEAN, HOT, COOL, SLICED, TOGGLED, ON = 1, 2, 4, 8, 16, 32

#: Task type → (state bit the object needs, receptacle class that gives it, verb).
TREATMENT: dict[str, tuple[int, str, str]] = {
    "pick_clean_then_place_in_recep": (CLEAN, "sinkbasin", "clean"),
    "pick_heat_then_place_in_recep": (HOT, "microwave", "heat"),
    "pick_cool_then_place_in_recep": (COOL, "fridge", "cool"),
}


@dataclass(frozen=True)
class Goal:
    """One ALFWorld goal, in the words of ALFRED's ``pddl_params``.

    Attributes:
        task_type: One of :data:`TASK_TYPES`.
        obj: Object class (``apple``).
        recep: Receptacle class (``fridge``); empty for ``look_at_obj_in_light``.
        toggle: Lamp class (``desklamp``/``floorlamp``) for ``look_at_obj_in_light``, else empty.
        template: Which of the type's two sentences ALFWorld drew (0 or 1).
        sentence: A task sentence to use instead of the template (e.g. a human annotation).
    """

    task_type: str
    obj: str
    recep: str = ""
    toggle: str = ""
    template: int = 0
    sentence: str = ""

    @property
    def text(self) -> str:
        """The task sentence, without the final period (``put a clean apple in fridge``)."""
        if self.sentence:
            return self.sentence
        return TEMPLATES[self.task_type][self.template].format(
            obj=self.obj, recep=self.recep, toggle=self.toggle
        )

    @property
    def treatment(self) -> tuple[int, str, str] | None:
        return TREATMENT.get(self.task_type)

    @property
    def subgoals(self) -> list[str]:
        """Milestones in the order an expert reaches them; the last one is the goal itself."""
        o, r = self.obj, self.recep
        if self.task_type == "look_at_obj_in_light":
            lamp = self.toggle
            return [f"pick up a {o}", f"turn on a {lamp}", f"look at a {o} under a {lamp}"]
        if self.task_type == "pick_two_obj_and_place":
            return [f"pick up a {o}", f"put a {o} in/on a {r}", f"pick up a second {o}",
                    f"put two {o} in/on one {r}"]
        treat = self.treatment
        if treat is None:
            return [f"pick up a {o}", f"put a {o} in/on a {r}"]
        verb = treat[2]
        adjective = {"clean": "clean", "heat": "hot", "cool": "cool"}[verb]
        return [f"pick up a {o}", f"{verb} the {o}", f"put a {adjective} {o} in/on a {r}"]


class GoalTables:
    """A goal resolved against one scene: which objects and receptacles it is about.

    Args:
        goal: The goal.
        scene: The scene it is played in.
    """

    def __init__(self, goal: Goal, scene: Scene) -> None:
        self.goal = goal
        self.scene = scene
        self.kind = goal.task_type
        self.targets = tuple(scene.objects_of(goal.obj))
        self.target_set = frozenset(self.targets)
        self.receps = tuple(scene.receptacles_of(goal.recep)) if goal.recep else ()
        self.recep_set = frozenset(self.receps)
        self.lamps = tuple(scene.objects_of(goal.toggle)) if goal.toggle else ()
        treat = goal.treatment
        self.need = treat[0] if treat else 0
        self.appliances = tuple(scene.receptacles_of(treat[1])) if treat else ()
        self.subgoals = goal.subgoals
        self.n_subgoals = len(self.subgoals)
        self.won_bit = 1 << (self.n_subgoals - 1)

    @cached_property
    def all_bits(self) -> int:
        return (1 << self.n_subgoals) - 1

    def progress(self, loc: int, held: int, where: tuple[int, ...], flags: tuple[int, ...]) -> int:
        """Bits of the milestones that hold in this state (the last bit: the goal holds)."""
        bits = 1 if held in self.target_set else 0
        kind = self.kind
        if kind == "look_at_obj_in_light":
            locations = self.scene.locations
            on = [lamp for lamp in self.lamps if flags[lamp] & TOGGLED and where[lamp] >= 0]
            if on:
                bits |= 2
                if bits & 1 and any(locations[where[lamp]] == loc for lamp in on):
                    bits |= 4
            return bits
        receps, need = self.recep_set, self.need
        if kind == "pick_two_obj_and_place":
            inside = [where[o] for o in self.targets if where[o] in receps]
            if inside:
                bits |= 2
                if bits & 1:
                    bits |= 4
                if len(inside) > len(set(inside)):
                    bits |= 8
            return bits
        if need:
            if any(flags[o] & need for o in self.targets):
                bits |= 2
            if any(where[o] in receps and flags[o] & need for o in self.targets):
                bits |= 4
            return bits
        if any(where[o] in receps for o in self.targets):
            bits |= 2
        return bits
