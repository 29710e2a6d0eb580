"""The task catalog: ALFWorld-sized splits of reproducible household tasks.

Each split is a fixed, numbered list of tasks with ALFWorld's per-type counts (train 3,553,
``valid_seen`` 140, ``valid_unseen`` 134). Task ``i`` of a split is a pure function of
``(split, i)``: its task type (by the split's counts), floor plan, goal (object, receptacle or
lamp, sentence) and the seed of its scene. ``valid_unseen`` is out of distribution in two ways:
its floor plans are ALFRED's held-out test scenes (``TEST_SCENE_NUMBERS``: floor plans 1–6,
201–206, 301–306, 401–406), which ``train`` and ``valid_seen`` never use, and its
(object, receptacle-or-lamp) pairs come from a held-out fifth of all pairs that the other splits
never ask for. ``valid_seen`` uses the training floor plans and pairs with new scenes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from agentgym.envs.household.goals import TASK_TYPES, TREATMENT, Goal
from agentgym.envs.household.world import (
    CAN_CONTAIN,
    CLEANABLE,
    COOLABLE,
    DECOR_PLACES,
    HEATABLE,
    PICKUPABLE,
    FloorPlan,
    Needs,
    floorplans,
)

__all__ = [
    "SPLITS", "SPLIT_COUNTS", "TaskDef", "UNSEEN_FLOORPLANS", "held_out", "split_size", "task_def",
]

SPLITS = ("train", "valid_seen", "valid_unseen")
#: Tasks per split and type, as in ALFWorld's text games (``alfworld-download``'s json_2.1.1).
SPLIT_COUNTS: dict[str, dict[str, int]] = {
    "train": dict(zip(TASK_TYPES, (790, 308, 650, 459, 533, 813))),
    "valid_seen": dict(zip(TASK_TYPES, (35, 13, 27, 16, 25, 24))),
    "valid_unseen": dict(zip(TASK_TYPES, (24, 18, 31, 23, 21, 17))),
}
UNSEEN_FLOORPLANS = frozenset(
    [*range(1, 7), *range(201, 207), *range(301, 307), *range(401, 407)]
)
#: Room types each task type is drawn in (ALFWorld's ``GOALS_VALID``).
ROOMS: dict[str, frozenset[str]] = {
    "pick_and_place_simple": frozenset({"kitchen", "livingroom", "bedroom", "bathroom"}),
    "look_at_obj_in_light": frozenset({"livingroom", "bedroom"}),
    "pick_clean_then_place_in_recep": frozenset({"kitchen", "bathroom"}),
    "pick_heat_then_place_in_recep": frozenset({"kitchen"}),
    "pick_cool_then_place_in_recep": frozenset({"kitchen"}),
    "pick_two_obj_and_place": frozenset({"kitchen", "livingroom", "bedroom", "bathroom"}),
}
_SALT = {"train": 11, "valid_seen": 23, "valid_unseen": 37}


def held_out(obj: str, place: str) -> bool:
    """Whether the pair (object class, receptacle or lamp class) is kept for ``valid_unseen``."""
    return zlib.crc32(f"{obj}/{place}".encode()) % 5 == 0


def split_size(split: str) -> int:
    return sum(SPLIT_COUNTS[split].values())


@dataclass(frozen=True)
class TaskDef:
    """One task of the catalog: where it is played, what it asks, how its scene is drawn."""

    split: str
    index: int
    goal: Goal
    floorplan: int
    seed: int

    @property
    def task_id(self) -> str:
        return f"household-{self.split}-{self.index:04d}"


def needs(goal: Goal) -> Needs:
    """What a goal requires of a scene."""
    if goal.task_type == "look_at_obj_in_light":
        return Needs(targets={goal.obj: (1, 3), goal.toggle: (1, 1)})
    most = 4 if goal.task_type in ("pick_and_place_simple", "pick_two_obj_and_place") else 3
    least = 2 if goal.task_type == "pick_two_obj_and_place" else 1
    receptacles = {goal.recep}
    treat = TREATMENT.get(goal.task_type)
    if treat:
        receptacles.add(treat[1])
    return Needs(targets={goal.obj: (least, most)}, receptacles=frozenset(receptacles),
                 avoid={goal.obj: frozenset({goal.recep})})


def _startable(obj: str, plan: FloorPlan, avoid: str = "") -> bool:
    return any(obj in CAN_CONTAIN.get(r, ()) and r != avoid for r in plan.receptacles)


def _pairs(task_type: str, plan: FloorPlan) -> list[tuple[str, str]]:
    """(object, receptacle-or-lamp) pairs this floor plan can host for ``task_type``."""
    if plan.room not in ROOMS[task_type]:
        return []
    objects = [o for o in plan.objects if o in PICKUPABLE]
    if task_type == "look_at_obj_in_light":
        lamps = [lamp for lamp in ("desklamp", "floorlamp")
                 if lamp in plan.objects and any(plan.has(r) for r in DECOR_PLACES[lamp])]
        return [(o, lamp) for lamp in lamps for o in objects if _startable(o, plan)]
    treat = TREATMENT.get(task_type)
    if treat and not plan.has(treat[1]):
        return []
    able = {"pick_clean_then_place_in_recep": CLEANABLE, "pick_heat_then_place_in_recep": HEATABLE,
            "pick_cool_then_place_in_recep": COOLABLE}.get(task_type, PICKUPABLE)
    pairs = []
    for o in objects:
        if o not in able:
            continue
        for r in sorted(plan.receptacles):
            fits = o in CAN_CONTAIN.get(r, ()) and (not treat or r != treat[1])
            if fits and _startable(o, plan, r):
                pairs.append((o, r))
    return pairs


@lru_cache(maxsize=None)
def _choices(split: str, task_type: str) -> tuple[tuple[int, tuple[tuple[str, str], ...]], ...]:
    """(floor plan, allowed pairs) for each floor plan of the split that can host the type."""
    unseen = split == "valid_unseen"
    out = []
    for number, plan in sorted(floorplans().items()):
        if (number in UNSEEN_FLOORPLANS) != unseen:
            continue
        pairs = tuple(p for p in _pairs(task_type, plan) if held_out(*p) == unseen)
        if pairs:
            out.append((number, pairs))
    return tuple(out)


@lru_cache(maxsize=None)
def task_def(split: str, index: int) -> TaskDef:
    """Task ``index`` of ``split`` (``0 <= index < split_size(split)``)."""
    counts = SPLIT_COUNTS[split]
    if not 0 <= index < split_size(split):
        raise IndexError(f"task index {index} is outside 0..{split_size(split) - 1} of {split!r}")
    start = 0
    for task_type in TASK_TYPES:
        if index < start + counts[task_type]:
            break
        start += counts[task_type]
    rng = np.random.default_rng([_SALT[split], index])
    choices = _choices(split, task_type)
    number, pairs = choices[int(rng.integers(len(choices)))]
    obj, place = pairs[int(rng.integers(len(pairs)))]
    template = int(rng.integers(2))
    if task_type == "look_at_obj_in_light":
        goal = Goal(task_type, obj, toggle=place, template=template)
    else:
        goal = Goal(task_type, obj, recep=place, template=template)
    return TaskDef(split, index, goal, number, int(rng.integers(2**62)))
