"""Calendar arithmetic on strict ISO dates (``YYYY-MM-DD``, years 1 to 9999).

Dates are proleptic Gregorian (Python's :class:`datetime.date`). Every bad input raises
:class:`~agentgym.envs.tools.limits.ToolCallError` with an example of what is expected.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from agentgym.envs.tools.limits import ToolCallError
from agentgym.errors import closest

__all__ = ["MAX_DAYS", "UNITS", "WEEKDAYS", "date_add", "date_diff", "parse_date", "weekday"]

#: Largest number of days :func:`date_add` moves a date by (either way).
MAX_DAYS = 1_000_000
#: Units :func:`date_diff` counts in.
UNITS = ("days", "weeks")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_UNIT_ALIASES = {"days": "days", "day": "days", "weeks": "weeks", "week": "weeks"}


def parse_date(text: str, *, name: str = "date") -> dt.date:
    """Parse a strict ISO date.

    Args:
        text: The date, e.g. ``"2024-02-29"``.
        name: The argument's name, for the error message.

    Returns:
        The date.

    Raises:
        ToolCallError: ``text`` is not a string of the form ``YYYY-MM-DD`` naming a real day
            in the years 1 to 9999.
    """
    if not isinstance(text, str) or not _ISO.fullmatch(text.strip()):
        raise ToolCallError(
            f"`{name}` must be an ISO date written YYYY-MM-DD, got {text!r}. "
            "Fix: e.g. \"2024-02-29\"."
        )
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as error:
        raise ToolCallError(
            f"`{name}` {text!r} is not a real calendar day ({error}). "
            "Fix: check the month (01-12), the day of the month and the year (0001-9999)."
        ) from None


def date_diff(start: str, end: str, unit: str = "days") -> int:
    """Count from ``start`` to ``end``: positive when ``end`` is later.

    Args:
        start: The first date, ``YYYY-MM-DD``.
        end: The second date, ``YYYY-MM-DD``.
        unit: ``"days"``, or ``"weeks"`` for whole weeks truncated toward zero (13 days are 1
            week, -13 days are -1 week). Case-insensitive; the singular is accepted too.

    Returns:
        ``end - start`` in the unit.

    Raises:
        ToolCallError: A date is malformed or the unit is unknown.
    """
    first = parse_date(start, name="start")
    second = parse_date(end, name="end")
    key = unit.strip().lower() if isinstance(unit, str) else ""
    if key not in _UNIT_ALIASES:
        near = closest(str(unit), UNITS)
        hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        raise ToolCallError(
            f"Unknown unit {unit!r} for date_diff.{hint} Fix: use \"days\" or \"weeks\"."
        )
    days = (second - first).days
    if _UNIT_ALIASES[key] == "days":
        return days
    weeks = abs(days) // 7
    return weeks if days >= 0 else -weeks


def _whole_days(days: object) -> int:
    """``days`` as an int if it is a whole number within :data:`MAX_DAYS`, else raise."""
    if isinstance(days, float) and math.isfinite(days) and days.is_integer():
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int):
        raise ToolCallError(
            f"`days` must be a whole number, got {days!r}. Fix: e.g. 30 or -7."
        )
    if abs(days) > MAX_DAYS:
        raise ToolCallError(
            f"`days` must be between -{MAX_DAYS:,} and {MAX_DAYS:,}, got {days:,}. "
            "Fix: use a smaller number of days."
        )
    return days


def date_add(date: str, days: int) -> str:
    """Move a date by a number of days.

    Args:
        date: The date, ``YYYY-MM-DD``.
        days: Days to add (negative to go back); at most :data:`MAX_DAYS` either way.

    Returns:
        The new date, ``YYYY-MM-DD``.

    Raises:
        ToolCallError: The date is malformed, ``days`` is not a whole number in range, or the
            result falls outside the years 1 to 9999.
    """
    start = parse_date(date)
    offset = _whole_days(days)
    try:
        return (start + dt.timedelta(days=offset)).isoformat()
    except OverflowError:
        raise ToolCallError(
            f"{date} {'+' if offset >= 0 else '-'} {abs(offset):,} days falls outside the years "
            "0001 to 9999. Fix: use a smaller number of days."
        ) from None


def weekday(date: str) -> str:
    """Name the day of the week of a date.

    Args:
        date: The date, ``YYYY-MM-DD``.

    Returns:
        ``"Monday"`` ... ``"Sunday"``.

    Raises:
        ToolCallError: The date is malformed.
    """
    return WEEKDAYS[parse_date(date).weekday()]
