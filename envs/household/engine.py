"""The household engine: ALFWorld's PDDL actions and text grammar, in plain Python.

ALFWorld plays its text games with TextWorld's PDDL engine on ``alfred.pddl`` (the actions) and
``alfred.twl2`` (the sentences). This module implements the same actions with the same
preconditions and effects, and writes the same sentences, so a command sequence gives the same
observations and the same admissible-command lists as ALFWorld's engine (checked against it in
``tests/test_household.py`` where ALFWorld is installed). What the engine does, in short:

* ``go to R`` for every receptacle not at the agent's location; several receptacles may share a
  location, and all of them can then be used without moving.
* ``open``/``close`` openable receptacles at the location; ``take O from R`` (hands empty, ``R``
  open or not openable); ``move O to R`` (``R`` open, ``canContain``); ``heat``/``cool``/``clean``
  the held object with a microwave/fridge/sink basin at the location (closed or not);
  ``slice O with K`` holding a knife; ``use L`` for a lamp in a receptacle at the location;
  ``examine`` a receptacle at the location or the held object; ``look``, ``inventory``, ``help``.
* Anything else: ``Nothing happens.`` and no change. Admissible commands come sorted, as
  TextWorld sorts them.

States are immutable; each remembers its admissible commands once computed, and the expert plan
from it once planned, so stepping and snapshots are cheap.
"""

from __future__ import annotations

from typing import Any

from agentgym.envs.household.goals import CLEAN, COOL, HOT, ON, SLICED, TOGGLED, Goal, GoalTables
from agentgym.envs.household.world import CLEANS, COOLS, HEATS, PICK, RECOBJ, SLICES, TOGGLES, Scene

__all__ = ["Engine", "State", "NOTHING_HAPPENS", "HELP_TEXT", "join_list"]

NOTHING_HAPPENS = "Nothing happens."
WELCOME = "-= Welcome to TextWorld, ALFRED! =-"
HELP_TEXT = (
    "Available commands:\n"
    "  look:                             look around your current location\n"
    "  inventory:                        check your current inventory\n"
    "  go to (receptacle):               move to a receptacle\n"
    "  open (receptacle):                open a receptacle\n"
    "  close (receptacle):               close a receptacle\n"
    "  take (object) from (receptacle):  take an object from a receptacle\n"
    "  move (object) to (receptacle):  place an object in or on a receptacle\n"
    "  examine (something):              examine a receptacle or an object\n"
    "  use (object):                     use an object\n"
    "  heat (object) with (receptacle):  heat an object using a receptacle\n"
    "  clean (object) with (receptacle): clean an object using a receptacle\n"
    "  cool (object) with (receptacle):  cool an object using a receptacle\n"
    "  slice (object) with (object):     slice an object using a sharp object\n"
)

# Operation codes of admissible commands.
(GOTO, OPEN, CLOSE, TAKE, MOVE, HEAT, COOLOP, CLEANOP, SLICE, USE,
 EXR, EXO, LOOK, INV, HELP) = range(15)
_CHANGES_NOTHING = frozenset({EXR, EXO, LOOK, INV, HELP})
_APPLIANCE = {"microwave": (HEAT, HEATS, "heat"), "fridge": (COOLOP, COOLS, "cool"),
              "sinkbasin": (CLEANOP, CLEANS, "clean")}
_STATIC = {"look": (LOOK, -1, -1), "inventory": (INV, -1, -1), "help": (HELP, -1, -1)}


def join_list(items: list[str]) -> str:
    """TextWorld's list: ``nothing``, ``a``, ``a, and b``, ``a, b, and c``."""
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ", and " + items[-1]


class State:
    """One moment of an episode (immutable; build new ones with :meth:`Engine.apply`).

    Attributes:
        engine: The engine of the episode (scene and goal).
        loc: The agent's location (-1: the middle of the room).
        held: The object in the agent's hands (-1: none).
        opened: Bit ``r`` set when receptacle ``r`` is open.
        where: Receptacle of each object (-1: held).
        contents: Objects in each receptacle, in listing order.
        flags: State bits of each object (``CLEAN``, ``HOT``, ``COOL``, ``SLICED``, ``TOGGLED``,
            ``ON``).
        progress: Bits of the milestones reached so far; the last one is the goal.
    """

    __slots__ = ("engine", "loc", "held", "opened", "where", "contents", "flags", "progress",
                 "plan", "cache")

    def __init__(
        self, engine: Engine, loc: int, held: int, opened: int, where: tuple[int, ...],
        contents: tuple[tuple[int, ...], ...], flags: tuple[int, ...], progress: int,
    ) -> None:
        self.engine, self.loc, self.held, self.opened = engine, loc, held, opened
        self.where, self.contents, self.flags, self.progress = where, contents, flags, progress
        self.plan: tuple[str, ...] | None = None  # expert commands from here (set by the oracle)
        self.cache: tuple[list[str], dict[str, tuple[int, int, int]]] | None = None

    def world(self) -> tuple:
        """The comparable content of the state (no caches)."""
        return (self.loc, self.held, self.opened, self.where, self.flags, self.progress)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State) or other.world() != self.world():
            return False
        return other.engine is self.engine or other.engine.key == self.engine.key

    def __hash__(self) -> int:
        return hash(self.world())

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k != "cache"}

    def __setstate__(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            setattr(self, k, v)
        self.cache = None

    @property
    def won(self) -> bool:
        return bool(self.progress & self.engine.goal_tables.won_bit)

    def is_open(self, r: int) -> bool:
        return bool(self.opened >> r & 1)


class Engine:
    """The rules and sentences of one household (a scene and a goal).

    Args:
        scene: The household.
        goal: What the agent is asked to do.
    """

    def __init__(self, scene: Scene, goal: Goal) -> None:
        self.scene, self.goal = scene, goal
        self.goal_tables = GoalTables(goal, scene)
        s = scene
        self.rname, self.oname = s.receptacle_names, s.object_names
        self.a_obj = tuple(f"a {n}" for n in s.object_names)
        self.loc_of = s.locations
        self.openable = s.openable
        self.props = s.props
        self.accepts = s.accepts
        self.appliance = tuple(_APPLIANCE.get(t) for t in s.receptacle_types)
        self.knife = tuple(t in ("knife", "butterknife") for t in s.object_types)
        self.goto_ops = {f"go to {n}": r for r, n in enumerate(s.receptacle_names)}
        self._goto_sorted = sorted(self.goto_ops)
        self._goto_from: dict[int, list[str]] = {-1: self._goto_sorted}
        self.planner_cache: dict = {}  # the planner's tables of this household

    def goto_commands(self, loc: int) -> list[str]:
        """``go to`` commands admissible at ``loc``, sorted (cached per location)."""
        found = self._goto_from.get(loc)
        if found is None:
            ops, loc_of = self.goto_ops, self.loc_of
            found = [c for c in self._goto_sorted if loc_of[ops[c]] != loc]
            self._goto_from[loc] = found
        return found

    @property
    def key(self) -> tuple:
        """What makes two engines the same household (for comparing unpickled states)."""
        s = self.scene
        return (self.goal, s.receptacle_names, s.locations, s.object_names, s.start_in,
                s.start_open)

    # -- states ------------------------------------------------------------------------------

    def initial_state(self) -> State:
        s = self.scene
        where = s.start_in
        contents: list[list[int]] = [[] for _ in s.receptacle_names]
        for o, r in enumerate(where):
            if r >= 0:
                contents[r].append(o)
        held = next((o for o, r in enumerate(where) if r < 0), -1)
        flags = s.start_flags or (0,) * len(where)
        opened = sum(1 << r for r in s.start_open)
        progress = self.goal_tables.progress(s.start_location, held, where, flags)
        return State(self, s.start_location, held, opened, where,
                     tuple(tuple(c) for c in contents), flags, progress)

    def intro(self, state: State) -> str:
        """ALFWorld's first observation: welcome line, the room, the task."""
        if state.loc >= 0:
            room = self._look(state)
        else:
            names = join_list([f"a {n}" for n in self.rname])
            room = f"You are in the middle of a room. Looking quickly around you, you see {names}."
        return f"{WELCOME}\n\n{room}\n\nYour task is to: {self.goal.text}."

    # -- admissible commands -----------------------------------------------------------------

    def admissible(self, state: State) -> list[str]:
        """The commands ALFWorld's engine accepts in ``state``, sorted."""
        if state.cache is None:
            state.cache = self._commands(state)
        return state.cache[0]

    def _commands(self, state: State) -> tuple[list[str], dict[str, tuple[int, int, int]]]:
        ops: dict[str, tuple[int, int, int]] = {}
        held, loc = state.held, state.loc
        props, rname, oname = self.props, self.rname, self.oname
        if loc >= 0:
            contents, opened = state.contents, state.opened
            knife = held >= 0 and self.knife[held]
            for r in self.scene.at_location[loc]:
                name = rname[r]
                ops[f"examine {name}"] = (EXR, r, -1)
                visible = True
                if self.openable[r]:
                    visible = bool(opened >> r & 1)
                    if visible:
                        ops[f"close {name}"] = (CLOSE, r, -1)
                    else:
                        ops[f"open {name}"] = (OPEN, r, -1)
                for o in contents[r]:
                    p = props[o]
                    if held < 0 and visible and p & PICK:
                        ops[f"take {oname[o]} from {name}"] = (TAKE, o, r)
                    if p & TOGGLES:
                        ops[f"use {oname[o]}"] = (USE, o, r)
                    if knife and p & SLICES:
                        ops[f"slice {oname[o]} with {oname[held]}"] = (SLICE, o, held)
                if held >= 0:
                    if visible and r in self.accepts[held]:
                        ops[f"move {oname[held]} to {name}"] = (MOVE, held, r)
                    tool = self.appliance[r]
                    if tool is not None and props[held] & tool[1]:
                        ops[f"{tool[2]} {oname[held]} with {name}"] = (tool[0], held, r)
        if held >= 0:
            ops[f"examine {oname[held]}"] = (EXO, held, -1)
        ops.update(_STATIC)
        commands = sorted(self.goto_commands(loc) + list(ops))
        return commands, ops

    # -- dynamics ----------------------------------------------------------------------------

    def lookup(self, state: State, command: str) -> tuple[int, int, int] | None:
        """The operation of an admissible command, or ``None``."""
        r = self.goto_ops.get(command)
        if r is not None:
            return (GOTO, r, -1) if self.loc_of[r] != state.loc else None
        if state.cache is None:
            state.cache = self._commands(state)
        return state.cache[1].get(command)

    def apply(self, state: State, op: tuple[int, int, int], command: str) -> tuple[State, str]:
        """Carry out an admissible operation; return the new state and ALFWorld's feedback."""
        code, a, b = op
        if code in _CHANGES_NOTHING:
            return state, self._describe(state, code, a)
        loc, held, opened = state.loc, state.held, state.opened
        where, contents, flags = state.where, state.contents, state.flags
        if code == GOTO:
            loc = self.loc_of[a]
            text = f"You arrive at {self.rname[a]}. "
        elif code == OPEN:
            opened |= 1 << a
            text = f"You open the {self.rname[a]}. "
        elif code == CLOSE:
            opened &= ~(1 << a)
            text = f"You close the {self.rname[a]}."
        elif code == TAKE:
            held, where = a, _put(where, a, -1)
            contents = _put(contents, b, tuple(o for o in contents[b] if o != a))
            text = f"You pick up the {self.oname[a]} from the {self.rname[b]}."
        elif code == MOVE:
            held, where = -1, _put(where, a, b)
            contents = _put(contents, b, tuple(sorted(contents[b] + (a,))))
            text = f"You move the {self.oname[a]} to the {self.rname[b]}."
        else:
            flags, text = self._change_object(code, a, b, flags)
        nxt = State(self, loc, held, opened, where, contents, flags, state.progress)
        if code in (GOTO, OPEN):
            text += self.receptacle_text(nxt, a)
        nxt.progress |= self.goal_tables.progress(loc, held, where, flags)
        plan = state.plan
        if plan and plan[0] == command and len(plan) > 1:
            nxt.plan = plan[1:]
        return nxt, text

    def _change_object(
        self, code: int, a: int, b: int, flags: tuple[int, ...]
    ) -> tuple[tuple[int, ...], str]:
        o, n = self.oname[a], self.oname
        f = flags[a]
        if code == HEAT:
            return _put(flags, a, (f | HOT) & ~COOL), f"You heat the {o} using the {self.rname[b]}."
        if code == COOLOP:
            return _put(flags, a, (f | COOL) & ~HOT), f"You cool the {o} using the {self.rname[b]}."
        if code == CLEANOP:
            return _put(flags, a, f | CLEAN), f"You clean the {o} using the {self.rname[b]}."
        if code == SLICE:
            return _put(flags, a, f | SLICED), f"You sliced the {o} with the {n[b]}."
        assert code == USE, code
        # ALFWorld words the feedback after the effect, when isToggled always holds: "turn on".
        return _put(flags, a, (f | TOGGLED) ^ ON), f"You turn on the {o}."

    # -- sentences ---------------------------------------------------------------------------

    def receptacle_text(self, state: State, r: int) -> str:
        """``examineReceptacle.feedback`` of ALFWorld's grammar."""
        name = self.rname[r]
        if self.openable[r]:
            if not state.opened >> r & 1:
                return f"The {name} is closed."
            return f"The {name} is open. In it, you see {self._list(state.contents[r])}."
        return f"On the {name}, you see {self._list(state.contents[r])}."

    def _list(self, objects: tuple[int, ...]) -> str:
        a = self.a_obj
        return join_list([a[o] for o in objects])

    def object_text(self, state: State, o: int) -> str:
        """``examineObject.feedback`` of ALFWorld's grammar (first matching rule)."""
        name, p, f = self.oname[o], self.props[o], state.flags[o]
        if p & RECOBJ:
            return f"This is a normal {name}. In it, you see nothing."
        clean, hot, cool, sliced = f & CLEAN, f & HOT, f & COOL, f & SLICED
        rules = (
            (clean and hot and sliced, "This is a hot and clean sliced {}."),
            (clean and cool and sliced, "This is a cool and clean sliced {}."),
            (clean and sliced, "This is a clean sliced {}."),
            (hot and sliced, "This is a hot sliced {}."),
            (cool and sliced, "This is a cool sliced {}."),
            (clean and hot, "This is a hot and clean {}."),
            (clean and cool, "This is a cool and clean {}."),
            (hot, "This is a hot {}."),
            (clean, "This is a clean {}."),
            (cool, "This is a cold {}."),
            (p & TOGGLES and f & TOGGLED, "This {} is on."),
            (p & TOGGLES, "This {} is off."),
            (p & SLICES and sliced, "This is a sliced {}."),
        )
        return next((t for ok, t in rules if ok), "There's nothing special about {}.").format(name)

    def _look(self, state: State) -> str:
        if state.loc < 0:
            return "You are in the middle of a room. Looking quickly around you, you see nothing."
        names = join_list([self.rname[r] for r in self.scene.at_location[state.loc]])
        return f"You are facing the {names}. Next to it, you see nothing."

    def _describe(self, state: State, code: int, a: int) -> str:
        if code == EXR:
            return self.receptacle_text(state, a)
        if code == EXO:
            return self.object_text(state, a)
        if code == LOOK:
            return self._look(state)
        if code == INV:
            if state.held < 0:
                return "You are not carrying anything."
            return f"You are carrying: {self.a_obj[state.held]}."
        return HELP_TEXT


def _put(values: tuple, i: int, value: Any) -> tuple:
    """A copy of ``values`` with item ``i`` replaced."""
    return values[:i] + (value,) + values[i + 1:]
