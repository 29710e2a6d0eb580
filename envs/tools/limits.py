"""Per-call limits shared by the sandboxed tools, and the error a refused call raises.

Every tool call runs under a :class:`ToolLimits`: a wall-clock and a CPU-time budget (tracked by a
:class:`Budget` made at the start of the call), and caps on input and output sizes. A call that
breaks a limit, or asks for something a tool will not do, raises :class:`ToolCallError`; the
environment shows its message to the agent as an observation, so the message says what was wrong
and how to fix the call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields

from agentgym.errors import ConfigError

__all__ = ["Budget", "ToolCallError", "ToolLimits", "clip_output"]


class ToolCallError(Exception):
    """A tool refused or failed one call; the message is shown to the agent.

    This is not a programmer error: it reports bad or too expensive agent input. The message says,
    in one or two sentences, what was wrong and how to fix the call.
    """


@dataclass(frozen=True, kw_only=True)
class ToolLimits:
    """Budgets and size caps that every tool call runs under."""

    time_s: float = 1.0
    """Wall-clock budget of one call, in seconds."""
    cpu_s: float = 1.0
    """CPU-time budget of one call, in seconds (``time.thread_time``)."""
    max_output_chars: int = 2000
    """Longest text a call returns; longer output is cut with a marker."""
    max_rows: int = 50
    """Most rows an SQL query returns."""
    max_expression_chars: int = 500
    """Longest calculator expression accepted."""
    max_sql_chars: int = 2000
    """Longest SQL query accepted."""

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            wants_int = spec.type in ("int", int)
            kinds = (int,) if wants_int else (int, float)
            if (
                isinstance(value, bool)
                or not isinstance(value, kinds)
                or not math.isfinite(value)
                or value <= 0
            ):
                kind = "a positive integer" if wants_int else "a positive, finite number"
                raise ConfigError(
                    f"tools.limits.{spec.name}",
                    f"must be {kind}, got {value!r}.",
                    f"set {spec.name} to {kind}, e.g. {spec.default!r}.",
                )


class Budget:
    """The time spent by one tool call, checked against its :class:`ToolLimits`.

    Make one with ``Budget(limits)`` when a call starts, then call :meth:`check` (raises) or
    :meth:`exceeded` (returns a bool) as often as needed: each costs two clock reads.

    Args:
        limits: The limits of the call.
    """

    def __init__(self, limits: ToolLimits) -> None:
        self.limits = limits
        self._wall_start = time.perf_counter()
        self._cpu_start = time.thread_time()

    def wall_elapsed(self) -> float:
        """Wall-clock seconds since the call started."""
        return time.perf_counter() - self._wall_start

    def cpu_elapsed(self) -> float:
        """CPU seconds this thread spent since the call started."""
        return time.thread_time() - self._cpu_start

    def exceeded(self) -> bool:
        """Whether the call ran over its wall-clock or CPU budget."""
        return (
            self.wall_elapsed() > self.limits.time_s or self.cpu_elapsed() > self.limits.cpu_s
        )

    def check(self) -> None:
        """Raise :class:`ToolCallError` if the call ran over its wall-clock or CPU budget.

        Raises:
            ToolCallError: The budget is spent.
        """
        if self.wall_elapsed() > self.limits.time_s:
            raise ToolCallError(
                f"The call ran over its time limit of {self.limits.time_s:g} s and was stopped. "
                "Fix: ask for less work in one call (smaller numbers, fewer rows, simpler steps)."
            )
        if self.cpu_elapsed() > self.limits.cpu_s:
            raise ToolCallError(
                f"The call ran over its CPU time limit of {self.limits.cpu_s:g} s and was "
                "stopped. Fix: ask for less work in one call (smaller numbers, fewer rows, "
                "simpler steps)."
            )


def clip_output(text: str, limit: int) -> str:
    """Cut ``text`` to its first ``limit`` characters and append a marker saying so.

    Text no longer than ``limit`` comes back unchanged. Longer text keeps ``limit`` characters
    followed by ``"\\n... [output cut at {limit} characters]"``, so the result is at most
    ``limit + len(marker)`` characters long (the marker is about 40 characters).

    Args:
        text: The output of a tool call.
        limit: How many characters of ``text`` to keep; must be positive.

    Returns:
        ``text``, or its clipped form with the marker.
    """
    if limit <= 0:
        raise ValueError(f"clip_output needs a positive limit, got {limit}")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [output cut at {limit} characters]"
