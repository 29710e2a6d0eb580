"""A demonstrator that acts only on what it has seen: ALFWorld's hand-coded expert, text-only.

ALFWorld's ``HandCodedTWAgent`` reads the engine's facts; :class:`HouseholdDemonstrator` reads
nothing but the episode's text (the goal sentence, the observations, its own past commands and
the admissible commands), so its trajectories are ones a policy can learn to imitate. It keeps
ALFWorld's plan of sub-goals (find, take, heat/cool/clean, find the receptacle or lamp, put/use)
and its search prior (first the receptacles where ALFWorld lets the object lie, then the rest),
opens closed receptacles to look inside, and remembers every receptacle's contents.

It is a :class:`~agentgym.policies.Policy`: ``act`` takes a batch of
:class:`~agentgym.types.AgentInput` from any number of envs. It keeps no state between calls:
each call rebuilds the episode's memory from ``history``, so batches may mix episodes freely.
Use it from configs as ``policy.name=agentgym.envs.household.demonstrator:HouseholdDemonstrator``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agentgym.envs.household.goals import TEMPLATES, TREATMENT
from agentgym.envs.household.world import CAN_CONTAIN, DECOR_PLACES, OPENABLE

from agentgym.types import ActionOutput, AgentInput

__all__ = ["HouseholdDemonstrator", "HouseholdDemonstratorConfig", "Memory", "parse_goal_sentence"]

_SLOTS = {"obj": r"(?P<obj>\S+)", "recep": r"(?P<recep>\S+)", "toggle": r"(?P<toggle>\S+)"}
_GOAL_PATTERNS = [
    (re.compile("^" + t.format(**_SLOTS) + "$"), kind)
    for kind, templates in TEMPLATES.items() for t in templates
]
_SEE = re.compile(
    r"(?:On the (?P<on>[\w ]+?), you see|The (?P<in>[\w ]+?) is open\. In it, you see) "
    r"(?P<list>[^.]*)\.$"
)
_CLOSED = re.compile(r"The ([\w ]+?) is closed\.$")


def parse_goal_sentence(goal: str) -> tuple[str, str, str, str] | None:
    """``(task_type, obj, recep, toggle)`` of an ALFWorld task sentence, or ``None``."""
    goal = goal.strip().removeprefix("Your task is to: ").rstrip(".")
    for pattern, kind in _GOAL_PATTERNS:
        match = pattern.match(goal)
        if match:
            found = match.groupdict()
            return kind, found.get("obj", ""), found.get("recep") or "", found.get("toggle") or ""
    return None


def _items(text: str) -> list[str]:
    """Names in a TextWorld list (``a apple 1, and a mug 2`` → ``["apple 1", "mug 2"]``)."""
    text = text.strip().rstrip(".")
    if text == "nothing":
        return []
    parts = [p.strip().removeprefix("and ").strip() for p in text.split(",")]
    return [p.removeprefix("a ").strip() for p in parts if p]


def _kind(name: str) -> str:
    return name.rsplit(" ", 1)[0]


@dataclass
class Memory:
    """What the demonstrator knows of an episode, rebuilt from its text."""

    receptacles: list[str] = field(default_factory=list)
    contents: dict[str, list[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)
    at: str = ""
    holding: str = ""
    treated: set[str] = field(default_factory=set)
    lamps_on: set[str] = field(default_factory=set)
    placed: dict[str, str] = field(default_factory=dict)  # object → goal receptacle it went to

    def see(self, text: str) -> None:
        """Update from one observation."""
        if "Looking quickly around you, you see" in text and not self.receptacles:
            listing = text.split("you see", 1)[1].split("\n", 1)[0]
            self.receptacles = _items(listing)
        arrive = re.match(r"You arrive at ([\w ]+?)\. ", text)
        if arrive:
            self.at = arrive.group(1)
        closed = _CLOSED.search(text)
        if closed:
            self.closed.add(closed.group(1))
        seen = _SEE.search(text)
        if seen:
            where = seen.group("on") or seen.group("in")
            self.contents[where] = _items(seen.group("list"))
            self.checked.add(where)
            self.closed.discard(where)

    def act(self, command: str, result: str) -> None:
        """Update from one command and its feedback."""
        if result.startswith("Nothing happens"):
            return
        taken = re.match(r"You pick up the ([\w ]+?) from the ([\w ]+?)\.$", result)
        moved = re.match(r"You move the ([\w ]+?) to the ([\w ]+?)\.$", result)
        treated = re.match(r"You (?:heat|cool|clean) the ([\w ]+?) using", result)
        if taken:
            self.holding = taken.group(1)
            items = self.contents.get(taken.group(2), [])
            if self.holding in items:
                items.remove(self.holding)
            self.placed.pop(self.holding, None)
        elif moved:
            self.holding = ""
            self.contents.setdefault(moved.group(2), []).append(moved.group(1))
            self.placed[moved.group(1)] = moved.group(2)
        elif treated:
            self.treated.add(treated.group(1))
        elif result.startswith("You turn on the "):
            self.lamps_on.add(result.removeprefix("You turn on the ").rstrip("."))
        elif result.startswith("You close the "):
            self.closed.add(result.removeprefix("You close the ").rstrip("."))
        self.see(result)


@dataclass(kw_only=True)
class HouseholdDemonstratorConfig:
    """Config of :class:`HouseholdDemonstrator`."""

    think: bool = False
    """Write ReAct text (``Thought: ...`` then ``Action: ...``) as the raw output."""


class HouseholdDemonstrator:
    """ALFWorld's hand-coded expert, acting on observations only (see the module docstring).

    Args:
        think: Make the raw output ReAct text with a short thought, as a model should write it.
    """

    def __init__(self, *, think: bool = False) -> None:
        self.think = think

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        out = []
        for inp in batch:
            action, thought = self.decide(inp)
            if self.think:
                from agentgym.prompts import ReActFormat

                text = ReActFormat(think=True).render_action(action, thought)
            else:
                text = action
            out.append(ActionOutput(text=text, action=action))
        return out

    @staticmethod
    def remember(inp: AgentInput) -> Memory:
        """The memory of ``inp``'s episode, rebuilt from its history and observation."""
        memory = Memory()
        turns = list(inp.history)
        if turns:
            memory.see(turns[0].observation)
        for i, turn in enumerate(turns):
            result = turns[i + 1].observation if i + 1 < len(turns) else inp.observation
            memory.act(turn.action, result)
        if not turns:
            memory.see(inp.observation)
        return memory

    def decide(self, inp: AgentInput) -> tuple[str, str]:
        """The next command and a one-line reason."""
        goal = parse_goal_sentence(inp.goal)
        admissible = set(inp.admissible_actions)
        if goal is None:
            return "look", "I do not understand the task; look around."
        return _Plan(goal, self.remember(inp), admissible).next()


class _Plan:
    """ALFWorld's sub-goal sequence for one task, against one memory."""

    def __init__(
        self, goal: tuple[str, str, str, str], memory: Memory, admissible: set[str]
    ) -> None:
        self.kind, self.obj, self.recep, self.toggle = goal
        self.m, self.admissible = memory, admissible
        treat = TREATMENT.get(self.kind)
        self.tool, self.verb = (treat[1], treat[2]) if treat else ("", "")

    # -- moves ---------------------------------------------------------------------------------

    def here(self, r: str) -> bool:
        """At ``r``'s location: arrived there, or no ``go to`` offered (a shared location)."""
        return self.m.at == r or (bool(self.m.at) and f"go to {r}" not in self.admissible)

    def visit(self, r: str, why: str) -> tuple[str, str]:
        if not self.here(r):
            return f"go to {r}", why
        if f"open {r}" in self.admissible:
            return f"open {r}", f"The {r} is closed; open it."
        return f"examine {r}", f"Look at what is in/on the {r}."

    def search(self, kinds_first: set[str], what: str, avoid: str = "") -> tuple[str, str]:
        """Visit the next receptacle not yet looked into, likely ones first."""
        m = self.m
        rank = {r: i for i, r in enumerate(m.receptacles)}
        order = sorted(m.receptacles, key=lambda r: (
            _kind(r) == avoid, _kind(r) not in kinds_first, _kind(r) in OPENABLE, rank[r]))
        if m.at and m.at not in m.checked and self.here(m.at) and m.at in order:
            return self.visit(m.at, f"Look for {what} in the {m.at}.")
        for r in order:
            if r not in m.checked:
                return self.visit(r, f"Look for {what} in the {r}.")
        return "look", f"I have looked everywhere and found no {what}."

    def find_take(self, exclude: set[str]) -> tuple[str, str]:
        m = self.m
        seen = [(r, o) for r, items in m.contents.items() for o in items
                if _kind(o) == self.obj and o not in exclude]
        if seen:
            r, o = min(seen, key=lambda ro: (not self.here(ro[0]), m.receptacles.index(ro[0])
                                             if ro[0] in m.receptacles else 0))
            if self.here(r) and f"take {o} from {r}" in self.admissible:
                return f"take {o} from {r}", f"Take the {o}."
            return self.visit(r, f"The {o} is in/on the {r}; go there.")
        places = {r for r, objs in CAN_CONTAIN.items() if self.obj in objs}
        # The goal does not hold at the start: the object is elsewhere (pick-two excepted).
        avoid = "" if self.kind == "pick_two_obj_and_place" else self.recep
        return self.search(places, f"a {self.obj}", avoid=avoid)

    def deliver(self, o: str, target: str = "") -> tuple[str, str]:
        m = self.m
        options = [target] if target else [r for r in m.receptacles if _kind(r) == self.recep]
        if not options:
            return "look", f"There is no {self.recep} here."
        r = next((r for r in options if self.here(r)), options[0])
        if not self.here(r):
            return f"go to {r}", f"Bring the {o} to the {r}."
        if f"open {r}" in self.admissible:
            return f"open {r}", f"Open the {r} to put the {o} in it."
        return f"move {o} to {r}", f"Put the {o} in/on the {r}."

    # -- the sub-goals -------------------------------------------------------------------------

    def next(self) -> tuple[str, str]:
        m = self.m
        if m.holding and _kind(m.holding) != self.obj:
            return f"move {m.holding} to {m.at}", f"I do not need the {m.holding}; put it down."
        if self.kind == "look_at_obj_in_light":
            return self.look()
        if self.kind == "pick_two_obj_and_place":
            return self.two()
        if not m.holding:
            return self.find_take(set())
        if self.tool and m.holding not in m.treated:
            tools = [r for r in m.receptacles if _kind(r) == self.tool]
            if not tools:
                return "look", f"There is no {self.tool} to {self.verb} the {m.holding} with."
            tool = next((r for r in tools if self.here(r)), tools[0])
            verb = self.verb.capitalize()
            if not self.here(tool):
                return f"go to {tool}", f"{verb} the {m.holding} with the {tool}."
            return f"{self.verb} {m.holding} with {tool}", f"{verb} the {m.holding}."
        return self.deliver(m.holding)

    def two(self) -> tuple[str, str]:
        m = self.m
        placed = {o: r for o, r in m.placed.items()
                  if _kind(o) == self.obj and _kind(r) == self.recep}
        target = next(iter(placed.values()), "")
        if m.holding:
            return self.deliver(m.holding, target)
        return self.find_take(set(placed))

    def look(self) -> tuple[str, str]:
        m = self.m
        if not m.holding:
            return self.find_take(set())
        lamps = [(r, o) for r, items in m.contents.items()
                 for o in items if _kind(o) == self.toggle]
        if not lamps:
            return self.search(set(DECOR_PLACES.get(self.toggle, ())), f"a {self.toggle}")
        r, lamp = min(lamps, key=lambda ro: not self.here(ro[0]))
        if not self.here(r):
            return f"go to {r}", f"Take the {m.holding} to the {lamp}."
        return f"use {lamp}", f"Turn on the {lamp} and look at the {m.holding}."
