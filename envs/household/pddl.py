"""ALFRED PDDL problems in and out of the household engine.

:func:`export_problem` writes any household task as an ALFRED PDDL problem in the format
ALFWorld's engine reads (``docs/alfred_pddl.md``): ALFRED-style mangled ids ordered so that
ALFWorld's demangler gives every entity the name it has here, the ``canContain`` table, the goal
of ALFWorld's goal library. :func:`load_problem` reads such a problem (ours, or ALFWorld's
``initial_state.pddl``/``game.tw-pddl``) and builds an
:class:`~agentgym.envs.household.engine.Engine` that plays it:
``gymnasium.make("agentgym/Household-v0", pddl_problem=PATH)``.

Names follow ALFWorld's ``Demangler``: ids are lower-cased and sorted, the class is the id up to
the first ``_bar_`` (plus ``basin`` for basins), and within a class the first id in sorted order
gets the highest number.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from agentgym.envs.household.engine import Engine, State
from agentgym.envs.household.goals import CLEAN, COOL, HOT, ON, SLICED, TOGGLED, Goal
from agentgym.envs.household.world import CLEANS, COOLS, HEATS, PICK, RECOBJ, SLICES, TOGGLES, Scene

__all__ = ["CLASS_NAMES", "export_problem", "load_problem", "parse_problem"]

#: ALFRED's spelling of each class (PDDL is case-insensitive; this only keeps exports readable).
CLASS_NAMES = {c.lower(): c for c in (
    "AlarmClock Apple ArmChair BaseballBat BasketBall BathtubBasin Bed Book Bowl Box Bread "
    "ButterKnife Cabinet Candle Cart CD CellPhone Cloth CoffeeMachine CoffeeTable CounterTop "
    "CreditCard Cup Desk DeskLamp DiningTable DishSponge Drawer Dresser Egg FloorLamp Fork Fridge "
    "GarbageCan Glassbottle HandTowel HandTowelHolder HousePlant Kettle KeyChain Knife Ladle "
    "Laptop LaundryHamper Lettuce Microwave Mug Newspaper Ottoman Pan PaperTowel PaperTowelRoll "
    "Pen Pencil PepperShaker Pillow Plate Plunger Pot Potato RemoteControl Safe SaltShaker Shelf "
    "SideTable SinkBasin SoapBar SoapBottle Sofa Spatula Spoon SprayBottle Statue StoveBurner "
    "TVStand TennisRacket TissueBox Toaster Toilet ToiletPaper ToiletPaperHanger ToiletPaperRoll "
    "Tomato Towel TowelHolder Vase Watch WateringCan WineBottle"
).split()}
_PROPS = ((PICK, "pickupable"), (RECOBJ, "isReceptacleObject"), (CLEANS, "cleanable"),
          (HEATS, "heatable"), (COOLS, "coolable"), (TOGGLES, "toggleable"), (SLICES, "sliceable"))
_FLAGS = ((CLEAN, "isClean"), (HOT, "isHot"), (COOL, "isCool"), (SLICED, "isSliced"),
          (TOGGLED, "isToggled"), (ON, "isOn"))
_PLACE = ("(inReceptacle ?o ?r)", "(objectType ?o {obj}Type)", "(receptacleType ?r {recep}Type)")
_TREAT = {"pick_clean_then_place_in_recep": ("cleanable", "isClean"),
          "pick_heat_then_place_in_recep": ("heatable", "isHot"),
          "pick_cool_then_place_in_recep": ("coolable", "isCool")}


def _camel(kind: str) -> str:
    return CLASS_NAMES.get(kind, kind[:1].upper() + kind[1:])


def _goal_pddl(goal: Goal) -> str:
    """The ``(:goal ...)`` of ALFWorld's goal library for ``goal``."""
    obj, recep, toggle = _camel(goal.obj), _camel(goal.recep), _camel(goal.toggle)
    kind = goal.task_type
    if kind == "look_at_obj_in_light":
        return (
            f"(:goal (and (exists (?ot - object ?r - receptacle ?a - agent ?l - location) (and "
            f"(objectType ?ot {toggle}Type) (toggleable ?ot) (isToggled ?ot) "
            f"(receptacleAtLocation ?r ?l) (atLocation ?a ?l) (inReceptacle ?ot ?r))) "
            f"(exists (?o - object ?a - agent) (and (objectType ?o {obj}Type) (holds ?a ?o)))))"
        )
    place = " ".join(_PLACE).format(obj=obj, recep=recep)
    if kind == "pick_two_obj_and_place":
        second = place.replace("?o", "?o2")
        return (f"(:goal (and (exists (?r - receptacle) (exists (?o - object) (and {place} "
                f"(exists (?o2 - object) (and (not (= ?o ?o2)) {second})))))))")
    extra = " ".join(f"({p} ?o)" for p in _TREAT.get(kind, ()))
    return f"(:goal (and (exists (?r - receptacle) (exists (?o - object) (and {extra} {place})))))"


def _ids(names: tuple[str, ...], kinds: tuple[str, ...]) -> list[str]:
    """ALFRED-style ids whose sorted order gives ALFWorld's numbers back (``N`` first)."""
    ids = []
    for name, kind in zip(names, kinds):
        number = int(name.rsplit(" ", 1)[1])
        tag = f"{1000 - number:03d}"
        if kind in ("sinkbasin", "bathtubbasin"):
            base = kind[: -len("basin")]
            ids.append(f"{_camel(base)}_bar_{tag}_bar_{_camel(kind)}")
        else:
            ids.append(f"{_camel(kind)}_bar_{tag}")
    return ids


def export_problem(state: State, *, name: str = "agentgym") -> str:
    """An ALFRED PDDL problem for the world and goal of ``state`` (ALFWorld's engine plays it)."""
    e = state.engine
    s = e.scene
    rids, oids = _ids(s.receptacle_names, s.receptacle_types), _ids(s.object_names, s.object_types)
    locs = [f"loc_bar_{i}_bar_0_bar_0_bar_30" for i in range(s.n_locations)]
    start = locs[state.loc] if state.loc >= 0 else "loc_bar_start_bar_0_bar_0_bar_30"
    rtypes, otypes = sorted(set(s.receptacle_types)), sorted(set(s.object_types))
    objects = ["agent1 - agent"]
    objects += [f"{_camel(k)}Type - otype" for k in otypes]
    objects += [f"{_camel(k)}Type - rtype" for k in rtypes]
    objects += [f"{i} - object" for i in oids] + [f"{i} - receptacle" for i in rids]
    objects += [f"{loc} - location" for loc in sorted(set(locs) | {start})]
    init = [f"(atLocation agent1 {start})"]
    for r, rid in enumerate(rids):
        init += [f"(receptacleType {rid} {_camel(s.receptacle_types[r])}Type)",
                 f"(receptacleAtLocation {rid} {locs[s.locations[r]]})"]
        if s.openable[r]:
            init.append(f"(openable {rid})")
            if state.is_open(r):
                init.append(f"(opened {rid})")
    for o, oid in enumerate(oids):
        init.append(f"(objectType {oid} {_camel(s.object_types[o])}Type)")
        init += [f"({fact} {oid})" for bit, fact in _PROPS if s.props[o] & bit]
        init += [f"({fact} {oid})" for bit, fact in _FLAGS if state.flags[o] & bit]
        r = state.where[o]
        if r >= 0:
            init += [f"(inReceptacle {oid} {rids[r]})",
                     f"(objectAtLocation {oid} {locs[s.locations[r]]})"]
        else:
            init += [f"(holds agent1 {oid})", "(holdsAny agent1)"]
    for rt in rtypes:
        init += [f"(canContain {_camel(rt)}Type {_camel(ot)}Type)"
                 for ot in otypes if ot in s.can_contain.get(rt, ())]
    header = f"; task: {e.goal.text}\n; task_type: {e.goal.task_type}\n"
    body = "\n        ".join(objects)
    facts = "\n        ".join(init)
    return (f"{header}(define (problem {name})\n(:domain alfred)\n"
            f"(:objects\n        {body}\n        )\n"
            f"(:init\n        {facts}\n        )\n{_goal_pddl(e.goal)}\n)\n")


# --------------------------------------------------------------------------- import


def _tokens(text: str) -> list:
    """The problem as nested lists of lower-case tokens (comments dropped)."""
    text = re.sub(r";[^\n]*", " ", text).lower()
    stack: list[list] = [[]]
    for tok in re.findall(r"\(|\)|[^\s()]+", text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) < 2:
                raise ValueError("The PDDL problem has an unbalanced ')'.")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1 or not stack[0]:
        raise ValueError("The PDDL problem has unbalanced parentheses or is empty.")
    return stack[0][0]


def _demangle(ids: set[str]) -> dict[str, tuple[str, str]]:
    """ALFWorld's Demangler: id → (class, name)."""
    classes = {}
    for i in ids:
        if "_bar_" in i:
            kind = i.split("_bar_", 1)[0] + ("basin" if "basin" in i else "")
            classes[i] = kind
    left = defaultdict(int)
    for kind in classes.values():
        left[kind] += 1
    out = {}
    for i in sorted(classes):
        kind = classes[i]
        out[i] = (kind, f"{kind} {left[kind]}")
        left[kind] -= 1
    return out


def parse_problem(text: str, *, task: str | None = None) -> tuple[Scene, Goal]:
    """The scene and goal of an ALFRED PDDL problem (see the module docstring).

    Args:
        text: The problem (or the JSON of a ``game.tw-pddl`` file).
        task: The task sentence; default: the file's ``; task:`` header, else template 0.

    Raises:
        ValueError: The text is not a problem this engine can play (the message says why).
    """
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        found = re.search(r"Your task is to: (.*?)\.\"", data.get("grammar", ""))
        task = task or (found.group(1) if found and found.group(1) != "UNKNOWN GOAL" else None)
        text = data["pddl_problem"]
    header = re.search(r"^\s*;\s*task\s*:\s*(.+?)\s*$", text, re.MULTILINE)
    task = task or (header.group(1) if header else None)
    tree = _tokens(text)
    sections = {part[0]: part[1:] for part in tree if isinstance(part, list) and part}
    facts = [f for f in sections.get(":init", []) if isinstance(f, list) and f and f[0] != "="]
    by = defaultdict(list)
    for f in facts:
        by[f[0]].append(f[1:])
    names = _demangle({a for f in facts for a in f[1:] if isinstance(a, str)})
    return _scene(by, names), _goal(text, task)


def _scene(by: dict[str, list], names: dict[str, tuple[str, str]]) -> Scene:
    kind_of = {a[0]: a[1].removesuffix("type") for a in by["receptacletype"] + by["objecttype"]}
    at = {r: loc for r, loc in by["receptacleatlocation"]}
    receps = sorted(r for r in at if r in names)
    loc_index: dict[str, int] = {}
    for r in receps:
        loc_index.setdefault(at[r], len(loc_index))
    r_index = {r: i for i, r in enumerate(receps)}
    held = {o for _, o in by["holds"]}
    inside = {}
    for o, r in by["inreceptacle"]:
        if r in r_index and o not in inside:
            inside[o] = r_index[r]
    objs = sorted(o for o in names if o in held or o in inside)
    single = {k: {a[0] for a in by[k]} for k in
              ("pickupable", "isreceptacleobject", "cleanable", "heatable", "coolable",
               "toggleable", "sliceable", "isclean", "ishot", "iscool", "issliced", "istoggled",
               "ison", "opened",
               "openable")}
    props = tuple(sum(bit for bit, fact in _PROPS if o in single[fact.lower()]) for o in objs)
    flags = tuple(sum(bit for bit, fact in _FLAGS if o in single[fact.lower()]) for o in objs)
    contain: dict[str, set[str]] = defaultdict(set)
    for rt, ot in by["cancontain"]:
        contain[rt.removesuffix("type")].add(ot.removesuffix("type"))
    agent_at = next((loc for a, loc in by["atlocation"]), None)
    rtypes = tuple(kind_of.get(r, names[r][0]) for r in receps)
    return Scene(
        room="", floorplan=0,
        receptacle_types=rtypes,
        receptacle_names=tuple(names[r][1] for r in receps),
        locations=tuple(loc_index[at[r]] for r in receps),
        openable=tuple(r in single["openable"] for r in receps),
        object_types=tuple(kind_of.get(o, names[o][0]) for o in objs),
        object_names=tuple(names[o][1] for o in objs),
        props=props,
        start_in=tuple(inside.get(o, -1) if o not in held else -1 for o in objs),
        start_open=frozenset(r_index[r] for r in single["opened"] if r in r_index),
        start_flags=flags,
        can_contain={k: frozenset(v) for k, v in contain.items()},
        start_location=loc_index.get(agent_at, -1) if agent_at is not None else -1,
    )


def _goal(text: str, task: str | None) -> Goal:
    from agentgym.envs.household.alfworld_engine import parse_goal

    parsed = parse_goal(text)
    goal = Goal(parsed.task_type, parsed.obj.lower(), parsed.recep.lower(), parsed.toggle.lower())
    if task is None:
        return goal
    for template in (0, 1):
        candidate = Goal(goal.task_type, goal.obj, goal.recep, goal.toggle, template)
        if candidate.text == task:
            return candidate
    return Goal(goal.task_type, goal.obj, goal.recep, goal.toggle, 0, sentence=task)


def load_problem(path: str | Path, *, task: str | None = None) -> Engine:
    """An engine playing the ALFRED PDDL problem (or ``game.tw-pddl`` file) at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No PDDL problem at {str(path)!r}. Fix: give the path of an ALFRED problem file "
            "(e.g. one written by agentgym.envs.household.pddl.export_problem)."
        )
    scene, goal = parse_problem(path.read_text(), task=task)
    return Engine(scene, goal)

