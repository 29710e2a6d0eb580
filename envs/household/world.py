"""The household's vocabulary and its seeded scene generator.

Everything here follows ALFWorld (``alfworld/gen/constants.py``): the receptacle classes, which
object may lie in which receptacle (``VAL_RECEPTACLE_OBJECTS``, sliced variants left out, as
ALFWorld's text games leave sliced tasks out), which objects can be heated, cooled, cleaned,
sliced or switched on (``VAL_ACTION_OBJECTS``), the openable classes (``OPENABLE_CLASS_LIST``).
The rooms themselves start from ALFRED's 120 floor plans (``data/floorplans.json``, taken from
``alfworld/gen/layouts``): which receptacles a room has (and how many cabinets, drawers, ...) and
which object classes it holds. A :class:`Scene` is one seeded instance of a floor plan: numbered
receptacles, shared locations, object instances placed where ALFWorld allows them.

Names are ALFWorld's: lower-case class names, numbered per class (``cabinet 3``, ``apple 1``).
Entities are kept in ALFWorld's listing order, which is the order of ALFRED's object ids: by
class name, then by *descending* number (ALFWorld's demangler gives the first id of a class the
highest number), e.g. ``a cabinet 2, a cabinet 1, a countertop 1``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "CAN_CONTAIN",
    "COOLABLE",
    "CLEANABLE",
    "DECOR_PLACES",
    "FloorPlan",
    "HEATABLE",
    "KNIVES",
    "Needs",
    "OPENABLE",
    "PICKUPABLE",
    "RECEPTACLE_OBJECTS",
    "ROOM_TYPES",
    "Scene",
    "SceneKnobs",
    "SLICEABLE",
    "TOGGLEABLE",
    "floorplans",
    "generate_scene",
]

ROOM_TYPES = ("kitchen", "livingroom", "bedroom", "bathroom")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# ALFWorld's VAL_RECEPTACLE_OBJECTS (lower case, no sliced variants). ``papertowelroll`` goes where
# ``papertowel`` may: THOR scenes hold rolls, the constants only name the towel.
_TABLETOP = (
    "alarmclock apple baseballbat basketball book bowl box bread butterknife candle cd "
    "cellphone cloth creditcard cup dishsponge egg fork glassbottle handtowel kettle keychain "
    "knife ladle laptop lettuce mug newspaper pan papertowel papertowelroll pen pencil "
    "peppershaker plate pot potato remotecontrol saltshaker soapbar soapbottle spatula spoon "
    "spraybottle statue tennisracket tissuebox toiletpaper toiletpaperroll tomato vase watch "
    "wateringcan winebottle "
)
_SEAT = (
    "basketball book box cellphone cloth creditcard keychain laptop newspaper pillow "
    "remotecontrol"
)

#: Receptacle class → object classes it may hold (the ``canContain`` facts of a problem).
CAN_CONTAIN: dict[str, frozenset[str]] = {
    "armchair": _words(_SEAT),
    "bathtubbasin": _words("cloth dishsponge handtowel soapbar"),
    "bed": _words("baseballbat basketball book cellphone laptop newspaper pillow tennisracket"),
    "cabinet": _words(
        "book bowl box candle cd cloth cup dishsponge glassbottle handtowel kettle ladle "
        "mug newspaper pan peppershaker plate plunger pot saltshaker soapbar soapbottle "
        "spraybottle tissuebox toiletpaper toiletpaperroll vase wateringcan winebottle"
    ),
    "cart": _words(
        "candle cloth dishsponge handtowel mug papertowel papertowelroll plunger soapbar "
        "soapbottle spraybottle statue tissuebox toiletpaper toiletpaperroll vase"
    ),
    "coffeemachine": _words("mug"),
    "coffeetable": _words(_TABLETOP),
    "countertop": _words(_TABLETOP),
    "desk": _words(
        "alarmclock basketball book bowl box candle cd cellphone cloth creditcard cup "
        "glassbottle keychain laptop mug newspaper pen pencil plate remotecontrol soapbottle "
        "spraybottle statue tennisracket tissuebox toiletpaper toiletpaperroll vase watch "
        "wateringcan winebottle"
    ),
    "diningtable": _words(_TABLETOP),
    "drawer": _words(
        "book butterknife candle cd cellphone cloth creditcard dishsponge fork handtowel "
        "keychain knife ladle newspaper pen pencil peppershaker remotecontrol saltshaker "
        "soapbar soapbottle spatula spoon spraybottle tissuebox toiletpaper toiletpaperroll "
        "watch wateringcan"
    ),
    "dresser": _words(
        "alarmclock basketball book bowl box candle cd cellphone cloth creditcard cup "
        "glassbottle keychain laptop mug newspaper pen pencil plate remotecontrol spraybottle "
        "statue tennisracket tissuebox toiletpaper toiletpaperroll vase watch wateringcan "
        "winebottle"
    ),
    "fridge": _words(
        "apple bowl bread cup egg glassbottle lettuce mug pan plate pot potato tomato winebottle"
    ),
    "garbagecan": _words(
        "apple bread cd cloth dishsponge egg handtowel lettuce newspaper papertowel "
        "papertowelroll pen pencil potato soapbar soapbottle spraybottle tissuebox toiletpaper "
        "toiletpaperroll tomato winebottle"
    ),
    "handtowelholder": _words("handtowel"),
    "laundryhamper": _words("cloth"),
    "microwave": _words("apple bowl bread cup egg glassbottle mug plate potato tomato"),
    "ottoman": _words(_SEAT),
    "safe": _words("cd cellphone creditcard keychain statue vase watch"),
    "shelf": _words(
        "alarmclock book bowl box candle cd cellphone cloth creditcard cup dishsponge "
        "glassbottle handtowel kettle keychain mug newspaper papertowel papertowelroll pen "
        "pencil peppershaker plate pot remotecontrol saltshaker soapbar soapbottle spraybottle "
        "statue tissuebox toiletpaper toiletpaperroll vase watch wateringcan winebottle"
    ),
    "sidetable": _words(_TABLETOP),
    "sinkbasin": _words(
        "apple bowl butterknife cloth cup dishsponge egg fork glassbottle handtowel kettle "
        "knife ladle lettuce mug pan plate pot potato soapbar spatula spoon tomato"
    ),
    "sofa": _words(_SEAT),
    "stoveburner": _words("kettle pan pot"),
    "toaster": frozenset(),  # only sliced bread, which ALFWorld's text games leave out
    "toilet": _words(
        "candle cloth dishsponge handtowel newspaper papertowel papertowelroll soapbar "
        "soapbottle spraybottle tissuebox toiletpaper toiletpaperroll"
    ),
    "toiletpaperhanger": _words("toiletpaper toiletpaperroll"),
    "towelholder": _words("towel"),
    "tvstand": _words("tissuebox"),
}

OPENABLE = frozenset({"cabinet", "drawer", "fridge", "microwave", "safe"})
#: Objects that can be picked up: everything some receptacle may hold.
PICKUPABLE = frozenset().union(*CAN_CONTAIN.values())
HEATABLE = _words("apple bread cup egg mug plate potato tomato")
COOLABLE = _words("apple bowl bread cup egg lettuce mug pan plate pot potato tomato winebottle")
CLEANABLE = _words(
    "apple bowl butterknife cloth cup dishsponge egg fork kettle knife ladle lettuce mug pan "
    "plate pot potato soapbar spatula spoon tomato"
)
SLICEABLE = _words("apple bread egg lettuce potato tomato")
TOGGLEABLE = _words("desklamp floorlamp")
KNIVES = _words("butterknife knife")
#: Movable receptacles: ALFWorld marks them ``isReceptacleObject`` ("This is a normal mug 1. ...").
RECEPTACLE_OBJECTS = _words("bowl box cup mug pan plate pot")
#: Objects that cannot be picked up, and the receptacles they stand in or on.
DECOR_PLACES: dict[str, tuple[str, ...]] = {
    "desklamp": ("desk", "dresser", "sidetable"),
    "floorlamp": ("sidetable", "dresser", "armchair", "sofa", "coffeetable", "desk", "shelf"),
    "houseplant": ("countertop", "diningtable", "coffeetable", "sidetable", "shelf", "dresser"),
}
#: Receptacle classes that may share one location with a neighbour of the same class
#: (stacked drawers, cabinet rows, shelf units), with ALFRED's observed share rates.
SHARED_LOCATION_RATE = {"cabinet": 0.17, "drawer": 0.28, "shelf": 0.28}


# --------------------------------------------------------------------------- floor plans


@dataclass(frozen=True)
class FloorPlan:
    """One of ALFRED's floor plans: its room type, receptacle counts and object classes."""

    number: int
    room: str
    receptacles: dict[str, int]
    objects: tuple[str, ...]

    def has(self, recep: str) -> bool:
        return self.receptacles.get(recep, 0) > 0


@lru_cache(maxsize=1)
def floorplans() -> dict[int, FloorPlan]:
    """ALFRED's 120 floor plans, by number (1–30 kitchens, 201–230 living rooms, 301–330
    bedrooms, 401–430 bathrooms)."""
    raw = json.loads(
        resources.files("agentgym.envs.household").joinpath("data/floorplans.json").read_text()
    )
    return {
        int(n): FloorPlan(int(n), p["room"], dict(p["receptacles"]), tuple(p["objects"]))
        for n, p in raw["floorplans"].items()
    }


# --------------------------------------------------------------------------- scenes

# Object state bit "cool" (the engine's ``COOL``), for objects that start in a fridge.
COOL_FLAG = 4
# Object property bits (``Scene.props``).
PICK, CLEANS, HEATS, COOLS, TOGGLES, SLICES, RECOBJ = 1, 2, 4, 8, 16, 32, 64


def object_props(kind: str) -> int:
    """The property bits of an object class."""
    return (
        (PICK if kind in PICKUPABLE else 0)
        | (CLEANS if kind in CLEANABLE else 0)
        | (HEATS if kind in HEATABLE else 0)
        | (COOLS if kind in COOLABLE else 0)
        | (TOGGLES if kind in TOGGLEABLE else 0)
        | (SLICES if kind in SLICEABLE else 0)
        | (RECOBJ if kind in RECEPTACLE_OBJECTS else 0)
    )


@dataclass(frozen=True, eq=False)
class Scene:
    """The fixed parts of one household and where everything starts.

    Receptacles and objects are listed in ALFWorld's order (see the module docstring); an
    entity is referred to by its index in these tuples.

    Attributes:
        room: Room type (``kitchen``, ``livingroom``, ``bedroom``, ``bathroom``).
        floorplan: ALFRED floor plan number it was drawn from (0 for imported problems).
        receptacle_types: Class of each receptacle (``cabinet``).
        receptacle_names: ALFWorld name of each receptacle (``cabinet 3``).
        locations: Location index of each receptacle; several may share one.
        openable: Whether each receptacle opens and closes.
        object_types: Class of each object.
        object_names: ALFWorld name of each object.
        props: Property bits of each object (``PICK``, ``CLEANS``, ...).
        start_in: Receptacle each object starts in (-1: held by the agent at the start).
        start_open: Receptacles open at the start.
        start_flags: State bits of each object at the start (clean, hot, ..., see the engine).
        can_contain: Receptacle class → object classes it may hold.
        start_location: Where the agent starts (-1: the middle of the room).
    """

    room: str
    floorplan: int
    receptacle_types: tuple[str, ...]
    receptacle_names: tuple[str, ...]
    locations: tuple[int, ...]
    openable: tuple[bool, ...]
    object_types: tuple[str, ...]
    object_names: tuple[str, ...]
    props: tuple[int, ...]
    start_in: tuple[int, ...]
    start_open: frozenset[int] = frozenset()
    start_flags: tuple[int, ...] = ()
    can_contain: dict[str, frozenset[str]] = field(default_factory=lambda: dict(CAN_CONTAIN))
    start_location: int = -1

    @cached_property
    def n_locations(self) -> int:
        return max(self.locations, default=-1) + 1

    @cached_property
    def at_location(self) -> tuple[tuple[int, ...], ...]:
        """Receptacles at each location, in listing order."""
        groups: list[list[int]] = [[] for _ in range(self.n_locations)]
        for r, loc in enumerate(self.locations):
            groups[loc].append(r)
        return tuple(tuple(g) for g in groups)

    @cached_property
    def accepts(self) -> Accepts:
        """``accepts[o]``: the receptacles object ``o`` may be put in (``canContain``)."""
        return Accepts(self)

    def receptacles_of(self, kind: str) -> list[int]:
        return [r for r, t in enumerate(self.receptacle_types) if t == kind]

    def objects_of(self, kind: str) -> list[int]:
        return [o for o, t in enumerate(self.object_types) if t == kind]

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description (for debugging and task listings)."""
        return {
            "room": self.room,
            "floorplan": self.floorplan,
            "receptacles": list(self.receptacle_names),
            "objects": {
                self.object_names[o]: (self.receptacle_names[r] if r >= 0 else "agent")
                for o, r in enumerate(self.start_in)
            },
        }


class Accepts:
    """``accepts[o]`` of a scene, computed per object class on first use (most never are)."""

    __slots__ = ("scene", "by_kind")

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.by_kind: dict[str, frozenset[int]] = {}

    def __getitem__(self, o: int) -> frozenset[int]:
        kind = self.scene.object_types[o]
        found = self.by_kind.get(kind)
        if found is None:
            contain = self.scene.can_contain
            found = frozenset(r for r, rt in enumerate(self.scene.receptacle_types)
                              if kind in contain.get(rt, ()))
            self.by_kind[kind] = found
        return found


@dataclass(frozen=True, kw_only=True)
class SceneKnobs:
    """Difficulty knobs of the generator."""

    max_receptacles: int | None = None
    """Keep at most this many receptacles (those the task needs are always kept)."""
    max_objects: int | None = None
    """Keep at most this many object instances (those the task needs are always kept)."""
    open_fraction: float = 0.0
    """Chance that an openable receptacle starts open (ALFWorld: they start closed)."""
    shared_locations: bool = True
    """Let neighbouring cabinets/drawers/shelves share a location, as in ALFRED's scenes."""


@dataclass(frozen=True)
class Needs:
    """What a task requires of a scene (see :func:`generate_scene`)."""

    targets: dict[str, tuple[int, int]]
    """Object class → (least, most) instances to place."""
    receptacles: frozenset[str] = frozenset()
    """Receptacle classes that must stay."""
    avoid: dict[str, frozenset[str]] = field(default_factory=dict)
    """Object class → receptacle classes it must not start in (the goal would hold already)."""


def _numbered(kinds: list[str]) -> tuple[list[str], list[str]]:
    """Types and names in ALFWorld's listing order: by class, numbers descending."""
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    types, names = [], []
    for k in sorted(counts):
        for n in range(counts[k], 0, -1):
            types.append(k)
            names.append(f"{k} {n}")
    return types, names


#: Object class → receptacle classes it may start in.
_START_PLACES: dict[str, frozenset[str]] = {
    kind: frozenset(r for r, objs in CAN_CONTAIN.items() if kind in objs) for kind in PICKUPABLE
}
_START_PLACES.update({kind: frozenset(places) for kind, places in DECOR_PLACES.items()})


def _can_start(kind: str, recep: str, needs: Needs) -> bool:
    return recep in _START_PLACES.get(kind, ()) and recep not in needs.avoid.get(kind, ())


def _receptacle_kinds(
    plan: FloorPlan, needs: Needs, knobs: SceneKnobs, rng: np.random.Generator
) -> list[str]:
    kinds = [k for k, n in sorted(plan.receptacles.items()) for _ in range(n)]
    cap = knobs.max_receptacles
    if cap is None or len(kinds) <= cap:
        return kinds
    pool = [kinds[i] for i in rng.permutation(len(kinds))]
    chosen = [k for k in sorted(needs.receptacles) if k in plan.receptacles]
    for k in chosen:
        pool.remove(k)
    for target in sorted(needs.targets):  # somewhere for each needed object to start
        if not any(_can_start(target, k, needs) for k in chosen):
            k = next((k for k in pool if _can_start(target, k, needs)), None)
            if k is not None:
                pool.remove(k)
                chosen.append(k)
    return sorted(chosen + pool[: max(0, cap - len(chosen))])


def _locations(types: list[str], knobs: SceneKnobs, rng: np.random.Generator) -> list[int]:
    draws = rng.random(len(types))
    locs: list[int] = []
    run = n = 0
    for i, kind in enumerate(types):
        if (knobs.shared_locations and i > 0 and types[i - 1] == kind and run < 2
                and draws[i] < SHARED_LOCATION_RATE.get(kind, 0.0)):
            locs.append(locs[-1])
            run += 1
        else:
            locs.append(n)
            n += 1
            run = 0
    return locs


def _object_kinds(
    plan: FloorPlan, needs: Needs, holders: dict[str, list[int]], knobs: SceneKnobs,
    rng: np.random.Generator,
) -> list[str]:
    kinds: list[str] = []
    for kind, (lo, hi) in needs.targets.items():
        kinds += [kind] * int(rng.integers(lo, hi + 1))
    others = [k for k in plan.objects if k not in needs.targets and holders.get(k)]
    counts = rng.choice(np.array([1, 1, 1, 2, 2, 3]), size=len(others))
    extra: list[str] = []
    for kind, n in zip(others, counts.tolist()):
        extra += [kind] * (1 if kind in DECOR_PLACES else n)
    if knobs.max_objects is not None and len(kinds) + len(extra) > knobs.max_objects:
        keep = max(0, knobs.max_objects - len(kinds))
        extra = [extra[i] for i in sorted(rng.permutation(len(extra))[:keep].tolist())]
    return kinds + extra


def generate_scene(
    plan: FloorPlan, needs: Needs, rng: np.random.Generator, knobs: SceneKnobs | None = None
) -> Scene:
    """Draw one household from a floor plan.

    Objects start in receptacles that may hold them (uniformly), never a needed object in a
    receptacle class the goal asks for; like ALFRED's problem writer, objects of a needed class
    that start in a fridge start cool.

    Args:
        plan: The floor plan (receptacle counts, object classes).
        needs: Objects and receptacles the task requires.
        rng: The generator's randomness (same state ⇒ same scene).
        knobs: Difficulty knobs.

    Returns:
        The scene.

    Raises:
        ValueError: The floor plan cannot host a needed object (a programmer error: task
            catalogs only pair goals with floor plans that fit).
    """
    knobs = knobs or SceneKnobs()
    rtypes, rnames = _numbered(_receptacle_kinds(plan, needs, knobs, rng))
    locations = _locations(rtypes, knobs, rng)
    by_type: dict[str, list[int]] = {}
    for r, rt in enumerate(rtypes):
        by_type.setdefault(rt, []).append(r)
    holders = {
        kind: [r for rt, rs in by_type.items() if _can_start(kind, rt, needs) for r in rs]
        for kind in set(plan.objects) | set(needs.targets)
    }
    kinds = _object_kinds(plan, needs, holders, knobs, rng)
    otypes, onames = _numbered(kinds)
    draws = rng.random(len(otypes) + len(rtypes)).tolist()
    start_in = []
    for kind, u in zip(otypes, draws):
        options = holders[kind]
        if not options:
            raise ValueError(f"floor plan {plan.number} has no receptacle for a {kind}")
        start_in.append(options[int(u * len(options))])
    openable = tuple(rt in OPENABLE for rt in rtypes)
    start_open = frozenset(
        r for r, u in enumerate(draws[len(otypes):]) if openable[r] and u < knobs.open_fraction
    )
    flags = tuple(COOL_FLAG if kind in needs.targets and rtypes[r] == "fridge" else 0
                  for kind, r in zip(otypes, start_in))
    return Scene(
        room=plan.room,
        floorplan=plan.number,
        receptacle_types=tuple(rtypes),
        receptacle_names=tuple(rnames),
        locations=tuple(locations),
        openable=openable,
        object_types=tuple(otypes),
        object_names=tuple(onames),
        props=tuple(object_props(k) for k in otypes),
        start_in=tuple(start_in),
        start_open=start_open,
        start_flags=flags,
    )
