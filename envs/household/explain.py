"""Why a command did nothing: the ``last_action_error`` of the household.

ALFWorld answers every command it cannot carry out with ``Nothing happens.``; the observation
keeps that sentence, and this module says why in words an agent can act on (what was expected,
what was given, the fix), for agentgym's ``last_action_error``.
"""

from __future__ import annotations

import difflib
import re

from agentgym.envs.household.engine import Engine, State
from agentgym.envs.household.world import PICK, SLICES, TOGGLES

__all__ = ["explain"]

COMMANDS = (
    "look, inventory, help, go to (receptacle), open (receptacle), close (receptacle), "
    "take (object) from (receptacle), move (object) to (receptacle), examine (something), "
    "use (object), heat/cool/clean (object) with (receptacle), slice (object) with (object)"
)
_TOOL = {"heat": "microwave", "cool": "fridge", "clean": "sinkbasin"}
_ADJ = {"heat": "heated", "cool": "cooled", "clean": "cleaned"}


def _closest(word: str, options: list[str]) -> str:
    near = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" Did you mean '{near[0]}'?" if near else ""


class _Why:
    """Checks of one command against one state."""

    def __init__(self, engine: Engine, state: State) -> None:
        self.e, self.s = engine, state
        self.recep = {n: r for r, n in enumerate(engine.rname)}
        self.obj = {n: o for o, n in enumerate(engine.oname)}

    def receptacle(self, name: str) -> tuple[int, str]:
        r = self.recep.get(name)
        if r is None:
            near = _closest(name, list(self.recep))
            return -1, f"There is no receptacle called '{name}' here.{near}"
        return r, ""

    def object(self, name: str) -> tuple[int, str]:
        o = self.obj.get(name)
        if o is None:
            near = _closest(name, list(self.obj) + list(self.recep))
            return -1, f"There is no object called '{name}' here.{near}"
        return o, ""

    def at(self, r: int) -> str:
        if self.e.loc_of[r] != self.s.loc:
            name = self.e.rname[r]
            return f"You are not at the {name}. Go there first: 'go to {name}'."
        return ""

    def accessible(self, r: int) -> str:
        if self.e.openable[r] and not self.s.is_open(r):
            name = self.e.rname[r]
            return f"The {name} is closed. Open it first: 'open {name}'."
        return ""

    def holding(self, o: int) -> str:
        held = self.s.held
        if held == o:
            return ""
        if held < 0:
            return f"You are not carrying the {self.e.oname[o]} (your hands are empty)."
        return f"You are carrying the {self.e.oname[held]}, not the {self.e.oname[o]}."

    def go(self, target: str) -> str:
        r, err = self.receptacle(target)
        if err:
            return err
        return f"You are already at the {target}." if self.e.loc_of[r] == self.s.loc else ""

    def take(self, thing: str, place: str) -> str:
        o, err = self.object(thing)
        r, err2 = self.receptacle(place)
        if err or err2:
            return err or err2
        if not self.e.props[o] & PICK:
            return f"The {thing} cannot be picked up."
        if self.s.held == o:
            return f"You are already carrying the {thing}."
        if self.s.held >= 0:
            held = self.e.oname[self.s.held]
            return (f"Your hands are full: you carry the {held}, and you can carry one object at "
                    f"a time. Put it down first with 'move {held} to (receptacle)'.")
        if self.s.where[o] != r:
            return f"The {thing} is not in/on the {place}."
        return self.at(r) or self.accessible(r)

    def move(self, thing: str, place: str) -> str:
        o, err = self.object(thing)
        r, err2 = self.receptacle(place)
        if err or err2:
            return err or err2
        if r not in self.e.accepts[o]:
            kind = self.e.scene.object_types[o]
            return f"A {kind} cannot be put in/on the {place}; choose another receptacle."
        return self.holding(o) or self.at(r) or self.accessible(r)

    def open_close(self, verb: str, place: str) -> str:
        r, err = self.receptacle(place)
        if err:
            return err
        if not self.e.openable[r]:
            return f"The {place} cannot be opened or closed."
        if self.s.is_open(r) == (verb == "open"):
            return f"The {place} is already {'open' if verb == 'open' else 'closed'}."
        return self.at(r)

    def examine(self, thing: str) -> str:
        if thing in self.recep:
            return self.at(self.recep[thing])
        o, err = self.object(thing)
        if err:
            return err
        return (f"You can examine only the object you are carrying; to see what lies around, "
                f"examine the receptacle it is in/on. {self.holding(o)}")

    def treat(self, verb: str, thing: str, place: str) -> str:
        o, err = self.object(thing)
        r, err2 = self.receptacle(place)
        if err or err2:
            return err or err2
        tool = _TOOL[verb]
        if self.e.scene.receptacle_types[r] != tool:
            return f"You {verb} things with a {tool}; the {place} is not one."
        if self.e.appliance[r] is None or not self.e.props[o] & self.e.appliance[r][1]:
            return f"The {thing} cannot be {_ADJ[verb]}."
        return self.holding(o) or self.at(r)

    def slice(self, thing: str, knife: str) -> str:
        o, err = self.object(thing)
        k, err2 = self.object(knife)
        if err or err2:
            return err or err2
        if not self.e.knife[k]:
            return f"You can slice only with a knife or a butterknife, not with the {knife}."
        if not self.e.props[o] & SLICES:
            return f"The {thing} cannot be sliced."
        here = self.s.where[o] >= 0 and self.e.loc_of[self.s.where[o]] == self.s.loc
        return self.holding(k) or ("" if here else f"The {thing} is not here.")

    def use(self, thing: str) -> str:
        o, err = self.object(thing)
        if err:
            return err
        if not self.e.props[o] & TOGGLES:
            return f"You don't see any switch on the {thing}."
        r = self.s.where[o]
        return self.at(r) if r >= 0 else ""


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), name) for p, name in (
        (r"^go to (.+)$", "go"),
        (r"^take (.+) from (.+)$", "take"),
        (r"^move (.+) to (.+)$", "move"),
        (r"^(open|close) (.+)$", "open_close"),
        (r"^examine (.+)$", "examine"),
        (r"^(heat|cool|clean) (.+) with (.+)$", "treat"),
        (r"^slice (.+) with (.+)$", "slice"),
        (r"^use (.+)$", "use"),
    )
)


def explain(engine: Engine, state: State, command: str) -> str:
    """Why ``command`` is not admissible in ``state`` (never empty)."""
    admissible = engine.admissible(state)
    plain = command.lower().rstrip(".!").strip()
    if plain != command:
        hint = "Commands are lower case, without final punctuation"
        if plain in admissible:
            return f"{hint}: '{plain}'."
        return f"{hint}; and '{plain}': {_reason(engine, state, plain, admissible)}"
    return _reason(engine, state, command, admissible)


def _reason(engine: Engine, state: State, command: str, admissible: list[str]) -> str:
    put = re.match(r"^put (.+?) (?:in/on|in|on|into|onto) (.+)$", command)
    if put:
        return (f"This world puts things down with 'move (object) to (receptacle)', e.g. "
                f"'move {put.group(1)} to {put.group(2)}'.")
    why = _Why(engine, state)
    for pattern, name in _PATTERNS:
        match = pattern.match(command)
        if match:
            reason = getattr(why, name)(*match.groups())
            if reason:
                return reason
            break
    else:
        near = _closest(command[:200], admissible)
        return f"Unknown command '{command[:80]}'. Commands: {COMMANDS}.{near}"
    return f"'{command[:80]}' is not possible now.{_closest(command[:200], admissible)}"
