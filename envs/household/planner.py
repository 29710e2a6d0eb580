"""The household's omniscient planner (the oracle behind ``info["expert_action"]``).

Every command costs one step and every ``go to`` costs the same, so a plan's length only
depends on *which* object instances, receptacles, appliances and lamps it uses and on whether it
is already at their locations. The planner scores the choices with that cost model (fetch: go,
open, take; treat: go, heat/cool/clean; deliver: go, open, move; look: go, use), keeps the
cheapest (ties: lowest indices) and writes its commands. It plans from any state, so the oracle
can re-plan after the agent strays: a wrong object in hand is put down first where it may go.

Planning is linear in the number of goal receptacles and candidate objects (quadratic in the
candidates for ``pick_two_obj_and_place``), a few microseconds: the oracle re-plans on every
step a random agent takes.
"""

from __future__ import annotations

from agentgym.envs.household.engine import Engine, State
from agentgym.envs.household.goals import TOGGLED
from agentgym.envs.household.world import PICK

__all__ = ["plan"]

INF = 10**9
Choice = tuple[int, int]  # (cost, index)


class _Sim:
    """The commands of a plan, and where the agent stands and what is open as they run."""

    def __init__(self, engine: Engine, state: State) -> None:
        self.e = engine
        self.loc, self.opened = state.loc, state.opened
        self.cmds: list[str] = []

    def go(self, r: int) -> None:
        if self.e.loc_of[r] != self.loc:
            self.cmds.append(f"go to {self.e.rname[r]}")
            self.loc = self.e.loc_of[r]

    def open(self, r: int) -> None:
        if self.e.openable[r] and not self.opened >> r & 1:
            self.cmds.append(f"open {self.e.rname[r]}")
            self.opened |= 1 << r

    def take(self, o: int, r: int) -> None:
        self.go(r)
        self.open(r)
        self.cmds.append(f"take {self.e.oname[o]} from {self.e.rname[r]}")

    def put(self, o: int, r: int) -> None:
        self.go(r)
        self.open(r)
        self.cmds.append(f"move {self.e.oname[o]} to {self.e.rname[r]}")

    def treat(self, o: int, a: int, verb: str) -> None:
        self.go(a)
        self.cmds.append(f"{verb} {self.e.oname[o]} with {self.e.rname[a]}")

    def use(self, lamp: int, r: int) -> None:
        self.go(r)
        self.cmds.append(f"use {self.e.oname[lamp]}")


class _Places:
    """Cheapest receptacle of a set from any location: ``go`` (1 unless here) + ``open`` (1 if
    closed) + the action itself (1). One pass over the set, then O(1) per query."""

    def __init__(self, engine: Engine, opened: int, receps: tuple[int, ...] | list[int]) -> None:
        loc_of, openable = engine.loc_of, engine.openable
        self.loc_of = loc_of
        self.anywhere: Choice = (INF, -1)
        self.here: dict[int, Choice] = {}
        for r in receps:
            key = (1 if openable[r] and not opened >> r & 1 else 0, r)
            if key < self.anywhere:
                self.anywhere = key
            at = self.here.get(loc_of[r])
            if at is None or key < at:
                self.here[loc_of[r]] = key
        self.members = frozenset(receps)

    def best(self, loc: int, opened_r: int = -1) -> Choice:
        """(cost, receptacle) from ``loc``; ``opened_r`` was opened on the way (costs no open)."""
        cost, r = self.anywhere
        best = (cost + 2, r) if r >= 0 else (INF, -1)
        at = self.here.get(loc)
        if at is not None:
            best = min(best, (at[0] + 1, at[1]))
        if opened_r in self.members:
            cand = ((self.loc_of[opened_r] != loc) + 1, opened_r)
            if cand < best:
                best = cand
        return best


def _fetch(engine: Engine, state: State, o: int, loc: int) -> int:
    r = state.where[o]
    closed = 1 if engine.openable[r] and not state.opened >> r & 1 else 0
    return (engine.loc_of[r] != loc) + closed + 1


def _candidates(engine: Engine, state: State) -> list[int]:
    where, props = state.where, engine.props
    return [o for o in engine.goal_tables.targets if where[o] >= 0 and props[o] & PICK]


def _put_down(engine: Engine, state: State, sim: _Sim, held: int) -> bool:
    """Leave a wrong object where it may go: cheapest spot, preferring the targets' locations."""
    loc_of, where = engine.loc_of, state.where
    near = {loc_of[where[o]] for o in _candidates(engine, state)}
    options = [((loc_of[r] != state.loc) + (engine.openable[r] and not state.opened >> r & 1),
                loc_of[r] not in near, r) for r in engine.accepts[held]]
    if not options:
        return False
    sim.put(held, min(options)[2])
    return True


def _single_places(engine: Engine, opened: int) -> tuple[_Places, _Places]:
    """Goal receptacles and appliances as :class:`_Places`, cached on the engine: they change
    only when a goal receptacle opens or closes."""
    g = engine.goal_tables
    cache = engine.planner_cache
    mask = cache.get("mask")
    if mask is None:
        receps = [r for r in g.receps if r in engine.accepts[g.targets[0]]]
        mask = cache["mask"] = sum(1 << r for r in receps)
        cache["receps"] = receps
        cache["tools"] = _Places(engine, -1, g.appliances)  # appliances work closed
    key = opened & mask
    places = cache.get(key)
    if places is None:
        if len(cache) > 64:  # many open/close cycles: start afresh
            for k in [k for k in cache if isinstance(k, int)]:
                del cache[k]
        places = cache[key] = _Places(engine, opened, cache["receps"])
    return places, cache["tools"]


def _single(engine: Engine, state: State, sim: _Sim) -> bool:
    """Pick (and heat/cool/clean) one object and put it in a goal receptacle."""
    g = engine.goal_tables
    loc_of, where, flags, need = engine.loc_of, state.where, state.flags, g.need
    if not g.targets:
        return False
    places, tools = _single_places(engine, state.opened)

    def finish(o: int, loc: int, opened_r: int) -> tuple[int, int, int]:
        cost, tool = 0, -1
        if need and not flags[o] & need:
            cost, tool = tools.best(loc)
            if tool < 0:
                return INF, -1, -1
            loc = loc_of[tool]
        deliver, r = places.best(loc, opened_r)
        return cost + deliver, tool, r

    held = state.held
    if held >= 0 and held in g.target_set:
        cost, tool, r = finish(held, state.loc, -1)
        chosen = (cost, -1, tool, r)
    else:
        options = []
        for o in _candidates(engine, state):
            ro = where[o]
            cost, tool, r = finish(o, loc_of[ro], ro)
            options.append((_fetch(engine, state, o, state.loc) + cost, o, tool, r))
        if not options:
            return False
        chosen = min(options)
        if held >= 0 and not _put_down(engine, state, sim, held):
            return False
    cost, o, tool, r = chosen
    if cost >= INF:
        return False
    if o >= 0:
        sim.take(o, where[o])
    else:
        o = held
    if tool >= 0:
        sim.treat(o, tool, g.goal.treatment[2])
    sim.put(o, r)
    return True


def _two(engine: Engine, state: State, sim: _Sim) -> bool:
    """Put two objects of the goal class in one goal receptacle."""
    g = engine.goal_tables
    held, where, loc_of, openable = state.held, state.where, engine.loc_of, engine.openable
    if not g.targets:
        return False
    count = dict.fromkeys(g.receps, 0)
    for o in g.targets:
        if where[o] in count:
            count[where[o]] += 1
    others = _candidates(engine, state)
    near = {loc_of[where[o]] for o in others} | {state.loc}
    accepts = engine.accepts[g.targets[0]]
    # Receptacles worth scoring: those holding a target, those here or by a target, and the
    # cheapest of the rest (all others cost the same).
    receps = [r for r in g.receps if r in accepts and (count[r] or loc_of[r] in near)]
    rest = _Places(engine, state.opened, [r for r in g.receps if r in accepts and r not in receps])
    if rest.anywhere[1] >= 0:
        receps.append(rest.anywhere[1])
    holding = held >= 0 and held in g.target_set

    def closed(r: int, opened: int) -> int:
        return 1 if openable[r] and not opened >> r & 1 else 0

    best: tuple[int, list[int], int] = (INF, [], -1)
    for r in receps:
        lr = loc_of[r]
        away = [o for o in others if where[o] != r]
        for o1 in ([held] if holding else away):
            at = state.loc if o1 == held else loc_of[where[o1]]
            cost = (0 if o1 == held else _fetch(engine, state, o1, state.loc)) + (lr != at)
            cost += closed(r, state.opened) + 1
            seq = [o1]
            if count[r] < 1:
                opened = state.opened | 1 << r | (1 << where[o1] if o1 != held else 0)
                second = min(((2 * (loc_of[where[o2]] != lr) + closed(where[o2], opened) + 2, o2)
                              for o2 in away if o2 != o1), default=(INF, -1))
                cost += second[0]
                seq.append(second[1])
            if (cost, seq, r) < best:
                best = (cost, seq, r)
    if best[0] >= INF:
        return False
    if held >= 0 and not holding and not _put_down(engine, state, sim, held):
        return False
    _, seq, r = best
    for o in seq:
        if o != held or not holding:
            sim.take(o, where[o])
        sim.put(o, r)
    return True


def _look(engine: Engine, state: State, sim: _Sim) -> bool:
    """Hold an object of the goal class by a lamp of the goal class that is on."""
    g = engine.goal_tables
    where, flags, loc_of = state.where, state.flags, engine.loc_of
    lamps = [lamp for lamp in g.lamps if where[lamp] >= 0]
    if not lamps:
        return False

    def light(loc: int) -> Choice:
        return min(((loc_of[where[lamp]] != loc) + (not flags[lamp] & TOGGLED), lamp)
                   for lamp in lamps)

    held = state.held
    if not (held >= 0 and held in g.target_set):
        options = [(_fetch(engine, state, o, state.loc) + light(loc_of[where[o]])[0], o)
                   for o in _candidates(engine, state)]
        if not options or (held >= 0 and not _put_down(engine, state, sim, held)):
            return False
        o = min(options)[1]
        sim.take(o, where[o])
    lamp = light(sim.loc)[1]
    if flags[lamp] & TOGGLED:
        sim.go(where[lamp])
    else:
        sim.use(lamp, where[lamp])
    return True


_PLANNERS = {"look_at_obj_in_light": _look, "pick_two_obj_and_place": _two}


def plan(engine: Engine, state: State) -> tuple[str, ...]:
    """Commands that reach the goal from ``state`` (empty when it holds or cannot be reached)."""
    if state.won:
        return ()
    sim = _Sim(engine, state)
    ok = _PLANNERS.get(engine.goal.task_type, _single)(engine, state, sim)
    return tuple(sim.cmds) if ok else ()
