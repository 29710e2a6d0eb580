"""Tool-use task families over the generated world, with their oracle plans and answers.

Five families, each answerable only through 2-3 tool calls and then an answer:

* ``sql_calc``: aggregate with SQL, then compute ("what did the couriers cost ...");
* ``fact_convert``: find a fact in the encyclopedia, then convert its unit;
* ``date_gap``: find two founding dates, then take their difference;
* ``sql_date``: a customer's first and last order dates by SQL, then their difference;
* ``fact_sql``: find a landmark's town in the encyclopedia, then count that town's orders.

Each task carries its oracle's plan: the calls (:class:`PlanStep`) and the answer. Expected values
come from running the tools themselves, so they equal what a correct agent reads. Splits: each
family's parameter list is shuffled once with a fixed seed; its first 40 go to ``test`` (200
tasks, families interleaved, seed ``i`` plays test task ``i % 200``), the rest to ``train``: no
test question is ever asked in training.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from agentgym.envs.tools.calculator import format_number
from agentgym.envs.tools.calls import Call
from agentgym.envs.tools.limits import ToolLimits
from agentgym.envs.tools.runtime import ToolRuntime
from agentgym.envs.tools.toolset import build_tools
from agentgym.envs.tools.world import World, build_world
from agentgym.errors import ConfigError, closest

__all__ = ["FAMILIES", "N_TEST", "PlanStep", "ToolTask", "answer_is_correct", "check_families",
           "held_out_task", "make_task", "train_pool"]

N_TEST = 200
_PER_FAMILY = N_TEST // 5
_YEARS = (2022, 2023, 2024)
_RATES = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.75, 0.8)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class PlanStep:
    """One call of the oracle's plan and how an agent's call of the same tool is judged.

    Attributes:
        name: The subgoal, in words ("Search the encyclopedia for the Danar Tower").
        tool: The tool.
        arguments: The oracle's arguments, in order.
        judge: ``value`` (the call returns the oracle's value), ``doc`` (the search finds the
            oracle's article) or ``args`` (the arguments equal the oracle's, one by one).
        expect: The oracle's value (``value``) or the article's id (``doc``).
    """

    name: str
    tool: str
    arguments: tuple[tuple[str, Any], ...]
    judge: str
    expect: Any = None


@dataclass(frozen=True)
class ToolTask:
    """One question with its plan and answer (``digits``: the rounding asked; None for text)."""

    task_id: str
    family: str
    question: str
    steps: tuple[PlanStep, ...]
    answer: str
    digits: int | None = 0


@lru_cache(maxsize=4)
def _oracle_runtime(world: World) -> ToolRuntime:
    return ToolRuntime(build_tools(world, limits=ToolLimits(time_s=10.0, cpu_s=10.0)))


def _run(world: World, tool: str, **arguments: Any) -> Any:
    result = _oracle_runtime(world).call(Call(tool, arguments))
    if not result.ok:
        raise AssertionError(f"the oracle's {tool} call failed: {result.text}")
    return result.value


def _step(world: World, name: str, tool: str, judge: str, **arguments: Any) -> PlanStep:
    value = _run(world, tool, **arguments)
    return PlanStep(name, tool, tuple(arguments.items()), judge,
                    value if judge == "value" else None)


def _search(world: World, title: str) -> PlanStep:
    doc = next(d for d in world.documents if d.title == title)
    step = _step(world, f"Search the encyclopedia for the {title}", "search", "doc", query=title)
    if doc.doc_id not in _run(world, "search", query=title):
        raise AssertionError(f"searching {title!r} does not find its article")
    return PlanStep(step.name, step.tool, step.arguments, "doc", doc.doc_id)


_BY_CUSTOMER = "FROM orders o JOIN customers c ON c.id = o.customer_id"
_JOIN = f"{_BY_CUSTOMER} JOIN products p ON p.id = o.product_id"


# -- families -------------------------------------------------------------------------------
def _sql_calc(world: World, town: str, year: int, rate: float) -> ToolTask:
    query = (f"SELECT SUM(o.quantity * p.weight_kg) {_JOIN} WHERE c.city = '{town}' "
             f"AND o.order_date LIKE '{year}-%'")
    sql = _step(world, f"Sum the weight shipped to {town} in {year} with SQL", "sql", "value",
                query=query)
    weight = format_number(sql.expect[0][0])
    calc = _step(world, "Multiply the weight by the rate", "calculator", "value",
                 expression=f"{weight} * {rate:g}")
    question = (f"The shop pays its couriers {rate:.2f} dollars per kilogram shipped. How much "
                f"did it pay them for the orders of customers from {town} in {year}? Give the "
                "amount in dollars, rounded to 2 decimals.")
    return ToolTask("", "sql_calc", question, (sql, calc), f"{calc.expect:.2f}", 2)


def _fact_convert(world: World, kind: str, index: int, unit: str) -> ToolTask:
    if kind == "landmark":
        entity = world.landmarks[index]
        value, base, asked = entity.height_m, "m", f"How tall is the {entity.name}"
    else:
        entity = world.rivers[index]
        value, base, asked = entity.length_km, "km", f"How long is the {entity.name}"
    words = {"ft": "feet", "yd": "yards", "mi": "miles"}
    search = _search(world, entity.name)
    conv = _step(world, f"Convert {format_number(value)} {base} to {words[unit]}", "convert",
                 "args", value=value, from_unit=base, to_unit=unit)
    result = _run(world, "convert", value=value, from_unit=base, to_unit=unit)
    question = f"{asked}, in {words[unit]}? Round to 1 decimal."
    return ToolTask("", "fact_convert", question, (search, conv), f"{result:.1f}", 1)


def _date_gap(world: World, first: int, second: int) -> ToolTask:
    a, b = world.companies[first], world.companies[second]
    diff = _step(world, f"Count the days from {a.founded} to {b.founded}", "date_diff", "args",
                 start=a.founded, end=b.founded)
    days = _run(world, "date_diff", start=a.founded, end=b.founded)
    question = (f"How many days after {a.name} was founded was {b.name} founded? Answer with a "
                "whole number of days.")
    return ToolTask("", "date_gap", question, (_search(world, a.name), _search(world, b.name),
                                               diff), str(days), 0)


def _sql_date(world: World, customer: int) -> ToolTask:
    name = world.customers[customer][1]
    query = f"SELECT MIN(o.order_date), MAX(o.order_date) {_BY_CUSTOMER} WHERE c.name = '{name}'"
    sql = _step(world, f"Find the first and last order dates of {name} with SQL", "sql",
                "value", query=query)
    first, last = sql.expect[0]
    diff = _step(world, f"Count the days from {first} to {last}", "date_diff", "args",
                 start=first, end=last)
    days = _run(world, "date_diff", start=first, end=last)
    question = (f"How many days passed between the first and the last order of {name}? Answer "
                "with a whole number of days.")
    return ToolTask("", "sql_date", question, (sql, diff), str(days), 0)


def _fact_sql(world: World, index: int, year: int) -> ToolTask:
    landmark = world.landmarks[index]
    query = (f"SELECT COUNT(*) {_BY_CUSTOMER} WHERE c.city = '{landmark.town}' "
             f"AND o.order_date LIKE '{year}-%'")
    sql = _step(world, f"Count the orders from {landmark.town} in {year} with SQL", "sql",
                "value", query=query)
    question = (f"How many orders did customers from the town of the {landmark.name} place in "
                f"{year}?")
    return ToolTask("", "fact_sql", question, (_search(world, landmark.name), sql),
                    str(sql.expect[0][0]), 0)


def _params(world: World, family: str) -> list[tuple[Any, ...]]:
    if family == "sql_calc":
        return list(itertools.product(world.towns, _YEARS, _RATES))
    if family == "fact_convert":
        return ([("landmark", i, u) for i in range(len(world.landmarks)) for u in ("ft", "yd")]
                + [("river", i, "mi") for i in range(len(world.rivers))])
    if family == "date_gap":
        order = sorted(range(len(world.companies)), key=lambda i: world.companies[i].founded)
        return [(a, b) for a, b in itertools.combinations(order, 2)
                if world.companies[a].founded < world.companies[b].founded]
    if family == "sql_date":
        return [(i,) for i in range(len(world.customers))]
    return [(i, y) for i in range(len(world.landmarks)) for y in _YEARS]


FAMILIES: dict[str, Callable[..., ToolTask]] = {
    "sql_calc": _sql_calc, "fact_convert": _fact_convert, "date_gap": _date_gap,
    "sql_date": _sql_date, "fact_sql": _fact_sql,
}


@lru_cache(maxsize=16)
def _pools(world: World, family: str) -> tuple[tuple[tuple[Any, ...], ...],
                                               tuple[tuple[Any, ...], ...]]:
    """``(test, train)`` parameters of ``family``: a fixed shuffle, the first 40 for test."""
    params = _params(world, family)
    order = np.random.default_rng(zlib.crc32(family.encode())).permutation(len(params))
    shuffled = tuple(params[i] for i in order)
    return shuffled[:_PER_FAMILY], shuffled[_PER_FAMILY:]


@lru_cache(maxsize=4096)
def make_task(world: World, family: str, params: tuple[Any, ...]) -> ToolTask:
    """The task of ``family`` with ``params`` (its id names both)."""
    task = FAMILIES[family](world, *params)
    key = "-".join(str(p).replace(" ", "_") for p in params)
    return ToolTask(f"{family}-{key}", family, task.question, task.steps, task.answer,
                    task.digits)


def check_families(families: Sequence[str] | None) -> tuple[str, ...]:
    """The families asked for (all when None), checked."""
    if families is None:
        return tuple(FAMILIES)
    for name in families:
        if name not in FAMILIES:
            near = closest(name, FAMILIES)
            raise ConfigError("env.kwargs.families", f"{name!r} is not a task family"
                              + (f" (did you mean {near[0]!r}?)." if near else "."),
                              f"use some of {list(FAMILIES)}.")
    if not families:
        raise ConfigError("env.kwargs.families", "is empty.", f"use some of {list(FAMILIES)}.")
    return tuple(families)


def held_out_task(index: int, *, world: World | None = None,
              families: Sequence[str] | None = None) -> ToolTask:
    """Test task ``index % 200`` (of the chosen families: ``index`` modulo their test count)."""
    world = world or build_world()
    names = check_families(families)
    count = _PER_FAMILY * len(names)
    index %= count
    family = names[index % len(names)]
    return make_task(world, family, _pools(world, family)[0][index // len(names)])


def train_pool(world: World, family: str) -> tuple[tuple[Any, ...], ...]:
    """The parameters of ``family``'s training tasks."""
    return _pools(world, family)[1]


def answer_is_correct(task: ToolTask, answer: str) -> bool:
    """Whether ``answer`` gives ``task``'s answer: the first number in it, within the rounding
    asked (an unrounded exact value counts), or the same words for a text answer."""
    if task.digits is None:
        return " ".join(answer.lower().split()) == " ".join(task.answer.lower().split())
    found = _NUMBER.search(answer)
    if found is None:
        return False
    try:
        given = float(found.group().replace(",", ""))
    except ValueError:
        return False
    expected = float(task.answer)
    tolerance = 0.5 * 10.0 ** -task.digits + 1e-9 * max(1.0, abs(expected))
    return math.isfinite(given) and abs(given - expected) <= tolerance
