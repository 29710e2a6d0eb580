"""Key-and-door maze: find the keys, unlock the doors, reach the exit.

The house is a ``size × size`` grid of rooms joined by a random spanning tree of passages, so there
is exactly one route between two rooms. ``keys`` locked doors of different colours stand on the
route from the start to the exit; the key of each door lies somewhere the agent can reach before
that door. The oracle plans with a breadth-first search over (room, keys held, doors unlocked).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from agentgym.errors import ConfigError
from agentgym.task import Outcome, Task, TaskSpec, Verdict

__all__ = ["KeyDoorTask", "Layout", "MazeState"]

Room = tuple[int, int]
Edge = frozenset  # frozenset of two rooms

DIRECTIONS: dict[str, tuple[int, int]] = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}
_SHORT = {"n": "north", "s": "south", "e": "east", "w": "west"}
COLOURS = ("red", "blue", "green", "yellow", "purple", "orange")
ROOM_NAMES = (
    "kitchen", "hall", "library", "cellar", "study", "pantry", "gallery", "attic", "bathroom",
    "bedroom", "nursery", "office", "garage", "laundry", "porch", "workshop", "conservatory",
    "ballroom", "chapel", "armoury", "vault", "parlour", "scullery", "den", "lounge",
)
SUBGOAL_REWARD = 0.1
SPLIT_BUCKET = {"train": range(0, 8), "valid": range(8, 9), "test": range(9, 10)}


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


@dataclass(frozen=True)
class Layout:
    """The fixed parts of one maze."""

    size: int
    passages: frozenset  # of Edge
    doors: dict  # Edge -> colour
    keys: dict  # colour -> room where the key lies
    start: Room
    exit: Room
    names: dict  # Room -> name


@dataclass(frozen=True)
class MazeState:
    """Where the agent is and what it has done."""

    layout: Layout = field(compare=False)  # fixed for the episode; not part of equality
    room: Room
    held: frozenset = frozenset()  # colours of keys carried
    unlocked: frozenset = frozenset()  # colours of doors opened


def _step(room: Room, direction: str) -> Room:
    dx, dy = DIRECTIONS[direction]
    return (room[0] + dx, room[1] + dy)


def _spanning_tree(size: int, rng: np.random.Generator) -> set[Edge]:
    """A random spanning tree of the grid (randomised depth-first search)."""
    start = (int(rng.integers(size)), int(rng.integers(size)))
    seen, stack, edges = {start}, [start], set()
    while stack:
        room = stack[-1]
        options = [
            _step(room, d) for d in DIRECTIONS
            if 0 <= _step(room, d)[0] < size and 0 <= _step(room, d)[1] < size
            and _step(room, d) not in seen
        ]
        if not options:
            stack.pop()
            continue
        nxt = options[int(rng.integers(len(options)))]
        edges.add(frozenset((room, nxt)))
        seen.add(nxt)
        stack.append(nxt)
    return edges


def _neighbours(room: Room, passages: frozenset) -> list[Room]:
    return [n for n in (_step(room, d) for d in DIRECTIONS) if frozenset((room, n)) in passages]


def _tree_path(a: Room, b: Room, passages: frozenset) -> list[Room]:
    parent: dict[Room, Room | None] = {a: None}
    queue = deque([a])
    while queue:
        room = queue.popleft()
        for n in _neighbours(room, passages):
            if n not in parent:
                parent[n] = room
                queue.append(n)
    path, room = [], b
    while room is not None:
        path.append(room)
        room = parent[room]
    return path[::-1]


def _component(root: Room, passages: frozenset, blocked: set) -> list[Room]:
    seen, queue = {root}, deque([root])
    while queue:
        room = queue.popleft()
        for n in _neighbours(room, passages):
            if n not in seen and frozenset((room, n)) not in blocked:
                seen.add(n)
                queue.append(n)
    return sorted(seen)


def build_layout(size: int, n_keys: int, rng: np.random.Generator) -> Layout:
    """Draw a maze whose exit lies behind ``n_keys`` locked doors."""
    passages = frozenset(_spanning_tree(size, rng))
    rooms = [(x, y) for y in range(size) for x in range(size)]
    start = rooms[int(rng.integers(len(rooms)))]
    paths = {r: _tree_path(start, r, passages) for r in rooms}
    longest = max(len(p) for p in paths.values())
    exit_room = min(r for r in rooms if len(paths[r]) == longest)
    route = paths[exit_room]
    cut = sorted(rng.choice(len(route) - 1, size=n_keys, replace=False).tolist())
    door_edges = [frozenset((route[i], route[i + 1])) for i in cut]
    colours = [COLOURS[i] for i in rng.permutation(len(COLOURS))[:n_keys]]
    doors = dict(zip(door_edges, colours))
    keys: dict[str, Room] = {}
    for i, colour in enumerate(colours):
        # Key i lies in the region reachable after doors 0..i-1 are open, before door i.
        anchor = route[cut[i - 1] + 1] if i else start
        region = _component(anchor, passages, set(door_edges))
        keys[colour] = region[int(rng.integers(len(region)))]
    names = dict(zip(rooms, (ROOM_NAMES[i] for i in rng.permutation(len(ROOM_NAMES))[: len(rooms)])))
    names[exit_room] = "exit"
    return Layout(
        size=size, passages=passages, doors=doors, keys=keys, start=start, exit=exit_room,
        names=names,
    )


class KeyDoorTask(Task[MazeState]):
    """Reach the exit of a maze of rooms, unlocking coloured doors with their keys.

    Args:
        split: ``train``, ``valid`` or ``test``; the splits draw disjoint mazes.
        size: Rooms per side of the square grid (2–5).
        keys: Locked doors (each with its key) on the way to the exit (0 to ``size - 1``).
    """

    def __init__(self, *, split: str = "train", size: int = 3, keys: int = 1) -> None:
        super().__init__(split=split)
        if not 2 <= size <= 5:
            raise ConfigError("env.kwargs.size", f"must be between 2 and 5, got {size}.")
        if not 0 <= keys <= min(size - 1, len(COLOURS)):
            raise ConfigError(
                "env.kwargs.keys", f"must be between 0 and size - 1 = {size - 1}, got {keys}."
            )
        self.size, self.keys = size, keys
        self._plan: dict[MazeState, str] = {}
        self._plan_layout: Layout | None = None

    # -- setup -------------------------------------------------------------------------------

    def setup(self, rng: np.random.Generator) -> TaskSpec[MazeState]:
        bucket = SPLIT_BUCKET[self.split]
        number = int(rng.integers(0, 10**8)) * 10 + int(rng.choice(list(bucket)))
        layout = build_layout(self.size, self.keys, np.random.default_rng(number))
        state = MazeState(layout=layout, room=layout.start)
        colours = [layout.doors[e] for e in sorted(layout.doors, key=lambda e: sorted(e))]
        subgoals = [g for c in colours for g in (f"take the {c} key", f"unlock the {c} door")]
        return TaskSpec(
            goal="Find your way to the exit." if not self.keys else
            "Find your way to the exit. Locked doors open with the key of their colour.",
            state=state,
            text=self._describe(state),
            task_id=f"keydoor-{self.size}x{self.size}-k{self.keys}-{number}",
            task_type=f"keydoor-k{self.keys}",
            subgoals=subgoals + ["reach the exit"],
        )

    # -- dynamics ----------------------------------------------------------------------------

    def admissible(self, state: MazeState) -> list[str]:
        lay = state.layout
        actions = []
        for d in DIRECTIONS:
            edge = frozenset((state.room, _step(state.room, d)))
            if edge not in lay.passages:
                continue
            colour = lay.doors.get(edge)
            if colour is None or colour in state.unlocked:
                actions.append(f"go {d}")
            elif colour in state.held:
                actions.append(f"unlock {d} door")
        actions += [f"take {c} key" for c in self._keys_here(state)]
        return actions + ["look", "inventory"]

    def apply(self, state: MazeState, action: str) -> Outcome[MazeState]:
        words = action.lower().rstrip(".!").split()
        verb, rest = (words[0], words[1:]) if words else ("", [])
        if verb in DIRECTIONS or verb in _SHORT:
            verb, rest = "go", [verb]
        if verb in ("go", "move", "walk") and len(rest) == 1:
            return self._go(state, _SHORT.get(rest[0], rest[0]))
        if verb in ("take", "get", "grab") or words[:2] == ["pick", "up"]:
            rest = rest[1:] if verb == "pick" else rest
            return self._take(state, [w for w in rest if w not in ("the", "key")])
        if verb in ("unlock", "open"):
            return self._unlock(state, [w for w in rest if w not in ("the", "door")])
        if verb in ("look", "l"):
            return Outcome(state=state, text=self._describe(state))
        if verb in ("inventory", "i"):
            held = ", ".join(f"a {c} key" for c in sorted(state.held)) or "nothing"
            return Outcome(state=state, text=f"You carry {held}.")
        return self._refuse(state, f"I don't understand {action!r}. Use one of the admissible actions.")

    def _go(self, state: MazeState, direction: str) -> Outcome[MazeState]:
        if direction not in DIRECTIONS:
            return self._refuse(state, f"{direction!r} is not a direction (north, south, east, west).")
        target = _step(state.room, direction)
        edge = frozenset((state.room, target))
        if edge not in state.layout.passages:
            return self._refuse(state, f"There is no way {direction} from here.")
        colour = state.layout.doors.get(edge)
        if colour is not None and colour not in state.unlocked:
            return self._refuse(state, f"The {colour} door to the {direction} is locked.")
        moved = replace(state, room=target)
        return Outcome(state=moved, text=self._describe(moved))

    def _take(self, state: MazeState, words: list[str]) -> Outcome[MazeState]:
        here = self._keys_here(state)
        if not here:
            return self._refuse(state, "There is no key here.")
        if not words and len(here) == 1:
            words = here
        if len(words) != 1 or words[0] not in here:
            return self._refuse(state, f"You can take: {', '.join(f'{c} key' for c in here)}.")
        taken = replace(state, held=state.held | {words[0]})
        return Outcome(state=taken, text=f"You take the {words[0]} key.")

    def _unlock(self, state: MazeState, words: list[str]) -> Outcome[MazeState]:
        doors = self._doors_here(state)  # direction -> colour of still-locked doors
        if not doors:
            return self._refuse(state, "There is no locked door here.")
        if not words and len(doors) == 1:
            words = list(doors)
        chosen = [d for d, c in doors.items() if words and words[0] in (d, c, d[0])]
        if len(words) != 1 or not chosen:
            return self._refuse(state, f"Which door? Locked: {', '.join(doors)}.")
        colour = doors[chosen[0]]
        if colour not in state.held:
            return self._refuse(state, f"The {colour} door needs the {colour} key.")
        opened = replace(state, unlocked=state.unlocked | {colour})
        return Outcome(state=opened, text=f"You unlock the {colour} door to the {chosen[0]}.")

    @staticmethod
    def _refuse(state: MazeState, error: str) -> Outcome[MazeState]:
        return Outcome(state=state, text="Nothing happens.", valid=False, error=error)

    # -- judgement ---------------------------------------------------------------------------

    def validate(self, before: MazeState, after: MazeState) -> Verdict:
        exit_room = after.layout.exit
        won = after.room == exit_room
        newly = len(after.held - before.held) + len(after.unlocked - before.unlocked)
        done = [f"take the {c} key" for c in sorted(after.held)]
        done += [f"unlock the {c} door" for c in sorted(after.unlocked)]
        return Verdict(
            won=won,
            reward_terms={
                "success": 1.0 if won and before.room != exit_room else 0.0,
                "subgoal": SUBGOAL_REWARD * newly,
            },
            subgoals_done=done + (["reach the exit"] if won else []),
        )

    def oracle(self, state: MazeState) -> str | None:
        """First action of a shortest plan to the exit (breadth-first over canonical actions).

        The whole plan is cached, so following the oracle costs one search per episode; a state
        off the plan (the agent deviated) triggers a new search from there.
        """
        if state.layout is not self._plan_layout:
            self._plan, self._plan_layout = {}, state.layout
        if state not in self._plan:
            self._plan.update(self._search(state))
        return self._plan.get(state)

    def rationale(self, state: MazeState) -> str | None:
        """A one-sentence reason for the oracle's next action (the thought of demonstrations)."""
        action = self.oracle(state)
        if action is None:
            return None
        verb, _, rest = action.partition(" ")
        if verb == "take":
            colour = rest.split()[0]
            return f"{_a(colour).capitalize()} {colour} key lies here; it opens the {colour} door."
        if verb == "unlock":
            colour = self._doors_here(state)[rest.split()[0]]
            return f"I carry the {colour} key, so I can unlock the {colour} door to the {rest.split()[0]}."
        return f"I go {rest} towards {self._next_milestone(state)}."

    def _next_milestone(self, state: MazeState) -> str:
        """What the oracle's walk is heading for: a key, a door or the exit."""
        for _ in range(len(self._plan) + 1):
            action = self._plan.get(state)
            if action is None:
                return "the exit"
            if not action.startswith("go "):
                colour = action.split()[1] if action.startswith("take") else (
                    self._doors_here(state)[action.split()[1]])
                return f"the {colour} key" if action.startswith("take") else f"the {colour} door"
            state = self.apply(state, action).state
        return "the exit"

    def _search(self, start: MazeState) -> dict[MazeState, str]:
        """Breadth-first search from ``start``; ``{state: action}`` along a shortest plan."""
        parent: dict[MazeState, tuple[MazeState, str] | None] = {start: None}
        queue = deque([start])
        while queue:
            s = queue.popleft()
            if s.room == s.layout.exit:
                plan = {}
                while parent[s] is not None:
                    s, action = parent[s]
                    plan[s] = action
                return plan
            for action in self.admissible(s):
                if action in ("look", "inventory"):
                    continue
                nxt = self.apply(s, action).state
                if nxt not in parent:
                    parent[nxt] = (s, action)
                    queue.append(nxt)
        return {}

    # -- text --------------------------------------------------------------------------------

    def _keys_here(self, state: MazeState) -> list[str]:
        return sorted(c for c, r in state.layout.keys.items() if r == state.room and c not in state.held)

    def _doors_here(self, state: MazeState) -> dict[str, str]:
        out = {}
        for d in DIRECTIONS:
            colour = state.layout.doors.get(frozenset((state.room, _step(state.room, d))))
            if colour is not None and colour not in state.unlocked:
                out[d] = colour
        return out

    def _describe(self, state: MazeState) -> str:
        lay = state.layout
        if state.room == lay.exit:
            return "You step through into the open air. You have found the exit!"
        exits, doors = [], []
        for d in DIRECTIONS:
            target = _step(state.room, d)
            edge = frozenset((state.room, target))
            if edge not in lay.passages:
                continue
            colour = lay.doors.get(edge)
            label = "the exit" if target == lay.exit else f"the {lay.names[target]}"
            if colour is not None and colour not in state.unlocked:
                doors.append(f"a locked {colour} door to the {d}")
            else:
                exits.append(f"{d} to {label}")
        parts = [f"You are in the {lay.names[state.room]}."]
        if exits:
            parts.append("Passages lead " + ", ".join(exits) + ".")
        if doors:
            parts.append("There is " + " and ".join(doors) + ".")
        for c in self._keys_here(state):
            parts.append(f"A {c} key lies on the floor.")
        return " ".join(parts)
