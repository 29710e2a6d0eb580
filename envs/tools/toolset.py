"""The built-in tools over a :class:`~agentgym.envs.tools.world.World`.

``calculator``, ``sql``, ``search``, ``date_diff``, ``date_add`` and ``convert``, each declared
with an OpenAI-style JSON schema. Every value a tool returns is what the agent could read off
its text, so rewards that compare values judge only what the agent saw.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agentgym.envs.tools.calculator import calculate, format_number
from agentgym.envs.tools.dates import date_add, date_diff
from agentgym.envs.tools.limits import ToolLimits
from agentgym.envs.tools.runtime import Tool
from agentgym.envs.tools.search import DocumentIndex
from agentgym.envs.tools.sqltool import SQLDatabase
from agentgym.envs.tools.units import UNITS, convert
from agentgym.envs.tools.world import World

__all__ = ["TOOL_NAMES", "build_tools", "document_index"]

TOOL_NAMES = ("calculator", "sql", "search", "date_diff", "date_add", "convert")
_DATE = {"type": "string", "description": "A date as YYYY-MM-DD."}


@lru_cache(maxsize=4)
def document_index(world: World) -> DocumentIndex:
    """The BM25 index of ``world``'s corpus (built once per world and process)."""
    return DocumentIndex(world.documents)


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def build_tools(world: World, *, limits: ToolLimits) -> list[Tool]:
    """The six tools, with a database of their own (one per env: queries cannot interfere)."""
    database = SQLDatabase(world.sql_script, limits=limits)
    index = document_index(world)

    def calculator(expression: str) -> tuple[str, Any]:
        value = calculate(expression, limits=limits)
        return format_number(value), value

    def sql(query: str) -> tuple[str, Any]:
        result = database.query(query)
        return result.text(limits.max_output_chars), result.rows

    def search(query: str, k: int = 3) -> tuple[str, Any]:
        hits = index.search(query, k)
        if not hits:
            return f"No article matches {query!r}.", ()
        text = "\n".join(f"[{h.doc.doc_id}] {h.doc.title}: {h.doc.text}" for h in hits)
        return text, tuple(h.doc.doc_id for h in hits)

    def date_diff_tool(start: str, end: str, unit: str = "days") -> tuple[str, Any]:
        value = date_diff(start, end, unit)
        return f"{value} {unit}", value

    def date_add_tool(date: str, days: int) -> tuple[str, Any]:
        value = date_add(date, days)
        return value, value

    def convert_tool(value: float, from_unit: str, to_unit: str) -> tuple[str, Any]:
        out = convert(value, from_unit, to_unit)
        return f"{format_number(out)} {to_unit}", out

    units = ", ".join(UNITS)
    return [
        Tool("calculator", "Evaluate an arithmetic expression: + - * / // % ** ( ), sqrt, abs, "
             "round, min, max, floor, ceil, log, log10, exp, sin, cos, tan, pi, e.",
             _object({"expression": _string("The expression, e.g. '(12.5 + 3) * 0.2'.")},
                     ["expression"]), calculator),
        Tool("sql", f"Run one read-only SQLite SELECT on the shop's database (at most "
             f"{limits.max_rows} rows come back). {database.tables()}",
             _object({"query": _string("One SELECT statement.")}, ["query"]), sql),
        Tool("search", "Search the encyclopedia (BM25); returns the best articles with their "
             "ids, titles and texts.",
             _object({"query": _string("Words to look for, e.g. a name."),
                      "k": {"type": "integer", "description": "How many articles (1-5).",
                            "minimum": 1, "maximum": 5, "default": 3}}, ["query"]), search),
        Tool("date_diff", "Time from start to end (negative when end comes first), in whole "
             "days or weeks.",
             _object({"start": _DATE, "end": _DATE,
                      "unit": {"type": "string", "enum": ["days", "weeks"], "default": "days"}},
                     ["start", "end"]), date_diff_tool),
        Tool("date_add", "The date a number of days after (or, if negative, before) a date.",
             _object({"date": _DATE, "days": {"type": "integer", "description": "Days to add."}},
                     ["date", "days"]), date_add_tool),
        Tool("convert", f"Convert a quantity between units of the same kind. Units: {units}.",
             _object({"value": {"type": "number", "description": "The quantity."},
                      "from_unit": _string("Its unit, e.g. 'm'."),
                      "to_unit": _string("The unit wanted, e.g. 'ft'.")},
                     ["value", "from_unit", "to_unit"]), convert_tool),
    ]
