"""A read-only SQLite database that an agent may query with single SELECT statements.

The environment builds the database in memory from a trusted setup script, then locks it down
before any agent query runs:

* ``PRAGMA query_only = ON`` and ``trusted_schema = OFF``;
* ``Connection.setlimit``: no attached databases, strings and blobs of at most 100,000 bytes (this
  stops ``zeroblob(1e9)``-style memory bombs and ``s || s`` doubling), short SQL, shallow
  expressions, few compound terms, small programs;
* an authorizer that is a *whitelist*: only reading tables, ``SELECT``, recursive CTEs and a set
  of pure functions pass; ``ATTACH`` (which ``VACUUM INTO`` also needs), ``PRAGMA``, writes,
  schema changes, transactions and ``load_extension`` are denied;
* a progress handler that interrupts a query once its :class:`~agentgym.envs.tools.limits.Budget`
  (wall clock and CPU) is spent;
* ``printf``/``format`` are replaced by a checked wrapper: SQLite 3.40's ``%c`` with a huge
  precision (``printf('%.*c', 1000000000, 'x')``) loops for seconds inside one function call,
  where the progress handler cannot stop it.

Extension loading is never enabled. Every failure reaches the agent as a
:class:`~agentgym.envs.tools.limits.ToolCallError`, and the connection stays usable afterwards.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from agentgym.envs.tools.limits import Budget, ToolCallError, ToolLimits, clip_output
from agentgym.errors import AgentGymError, closest

__all__ = ["ALLOWED_FUNCTIONS", "MAX_VALUE_BYTES", "QueryResult", "SQLDatabase"]

#: Largest string or blob (in bytes) a query may build.
MAX_VALUE_BYTES = 100_000
#: Most characters of row data one query keeps; fetching stops (truncated) beyond it.
MAX_RESULT_CHARS = 1_000_000
#: Largest width or precision allowed in a printf/format conversion.
MAX_PRINTF_WIDTH = 1000

#: Functions the authorizer lets a query call (all pure; lower case).
ALLOWED_FUNCTIONS = frozenset(
    {
        # aggregates
        "count", "sum", "avg", "min", "max", "total", "group_concat",
        # window functions
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
        "first_value", "last_value", "nth_value",
        # numbers
        "abs", "round", "sign", "ceil", "ceiling", "floor", "trunc", "sqrt", "pow", "power",
        "exp", "ln", "log", "log10", "log2", "mod", "pi",
        # text
        "lower", "upper", "length", "substr", "substring", "trim", "ltrim", "rtrim", "replace",
        "instr", "like", "glob", "printf", "format", "char", "unicode",
        # NULLs, conditions and types
        "coalesce", "ifnull", "nullif", "iif", "typeof", "likely", "unlikely", "likelihood",
        # dates
        "date", "time", "datetime", "julianday", "strftime", "unixepoch",
    }
)

_ACTIONS = (
    "CREATE_INDEX", "CREATE_TABLE", "CREATE_TEMP_INDEX", "CREATE_TEMP_TABLE",
    "CREATE_TEMP_TRIGGER", "CREATE_TEMP_VIEW", "CREATE_TRIGGER", "CREATE_VIEW", "DELETE",
    "DROP_INDEX", "DROP_TABLE", "DROP_TEMP_INDEX", "DROP_TEMP_TABLE", "DROP_TEMP_TRIGGER",
    "DROP_TEMP_VIEW", "DROP_TRIGGER", "DROP_VIEW", "INSERT", "PRAGMA", "READ", "SELECT",
    "TRANSACTION", "UPDATE", "ATTACH", "DETACH", "ALTER_TABLE", "REINDEX", "ANALYZE",
    "CREATE_VTABLE", "DROP_VTABLE", "FUNCTION", "SAVEPOINT", "RECURSIVE",
)
# Action codes only: several share numbers with result codes (24 is SQLITE_FORMAT too).
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in _ACTIONS
    if hasattr(sqlite3, f"SQLITE_{name}")
}
_ALWAYS_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
# One printf conversion as SQLite parses it: flags, width, precision, length, conversion.
_PRINTF_SPEC = re.compile(r"%[-+ 0#,!]*(\*|[0-9]*)(?:\.(\*|[0-9]*))?")
_SELECT_ONLY = (
    "Only read-only queries are allowed: one SELECT (or WITH ... SELECT) statement per call."
)


@dataclass(frozen=True)
class QueryResult:
    """The rows one query returned."""

    columns: tuple[str, ...]
    """Column names, in order."""
    rows: tuple[tuple[object, ...], ...]
    """At most ``max_rows`` rows."""
    truncated: bool
    """Whether the query had more rows than were kept."""

    def text(self, max_chars: int) -> str:
        """Render the result as a small pipe table for the agent.

        A header line, one line per row (``NULL`` for nulls, ``<N bytes>`` for blobs) and, when
        truncated, a note saying how to see the rest. The text is clipped with
        :func:`~agentgym.envs.tools.limits.clip_output`, so it is at most ``max_chars`` plus the
        clip marker long.

        Args:
            max_chars: Most characters to show (before the clip marker).

        Returns:
            The table.
        """
        lines = [" | ".join(self.columns)]
        lines += [" | ".join(_cell(value) for value in row) for row in self.rows]
        if not self.rows:
            lines.append("(no rows)")
        body = "\n".join(lines)
        if not self.truncated:
            return clip_output(body, max_chars)
        note = (
            f"[only the first {len(self.rows)} rows are shown: add a WHERE filter, an aggregate "
            "or a LIMIT to see fewer rows]"
        )
        room = max_chars - len(note) - 1
        if room <= 0:
            return clip_output(f"{body}\n{note}", max_chars)
        return f"{clip_output(body, room)}\n{note}"


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):  # 12 significant digits: no binary noise (2407.8300000000004)
        text = f"{value:.12g}"
        return text if any(c in text for c in ".en") else text + ".0"  # still reads as a float
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def _size(row: tuple[object, ...]) -> int:
    return sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row)


class SQLDatabase:
    """A locked-down, read-only, in-memory SQLite database for one environment.

    Args:
        script: Trusted setup SQL (``CREATE TABLE``/``INSERT``...), run once before lockdown.
        limits: Per-query limits; the defaults of :class:`ToolLimits` when ``None``.

    Raises:
        sqlite3.Error: The setup script failed (a programmer error).
        AgentGymError: This Python's sqlite3 lacks ``Connection.setlimit`` (Python < 3.11),
            without which string sizes cannot be bounded.
    """

    def __init__(self, script: str, *, limits: ToolLimits | None = None) -> None:
        self.limits = limits or ToolLimits()
        # No statement cache: every agent query is prepared afresh, so the authorizer sees it.
        self._conn = sqlite3.connect(
            ":memory:", check_same_thread=False, isolation_level=None, cached_statements=0
        )
        if not hasattr(self._conn, "setlimit"):
            self._conn.close()
            raise AgentGymError(
                "The SQL tool needs Python 3.11 or newer: it bounds string sizes with "
                "sqlite3.Connection.setlimit, which older versions lack. Fix: use Python >= 3.11."
            )
        self._conn.executescript(script)
        self._schema = self._read_schema()
        self._formatter = sqlite3.connect(":memory:", check_same_thread=False)
        self._formatter.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        self._budget: Budget | None = None
        self._denied: str | None = None
        self._udf_error: ToolCallError | None = None
        self._lock_down()

    def _read_schema(self) -> dict[str, list[tuple[str, str]]]:
        """Table and view names with their (column, type) pairs, read before lockdown."""
        names = [
            row[0]
            for row in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        schema = {}
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            info = self._conn.execute(f"PRAGMA table_info({quoted})").fetchall()
            schema[name] = [(column[1], column[2] or "ANY") for column in info]
        return schema

    def _lock_down(self) -> None:
        """Make the connection read-only and bounded before any agent query runs."""
        conn = self._conn
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        widest = max((len(columns) for columns in self._schema.values()), default=0)
        for limit, value in (
            (sqlite3.SQLITE_LIMIT_ATTACHED, 0),
            (sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES),
            (sqlite3.SQLITE_LIMIT_SQL_LENGTH, 4 * self.limits.max_sql_chars + 16),
            (sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100),
            (sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 20),
            (sqlite3.SQLITE_LIMIT_COLUMN, max(200, 4 * widest)),
            (sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000),
            (sqlite3.SQLITE_LIMIT_VDBE_OP, 100_000),
            (sqlite3.SQLITE_LIMIT_WORKER_THREADS, 0),
        ):
            conn.setlimit(limit, value)
        for name in ("printf", "format"):
            conn.create_function(name, -1, self._printf, deterministic=True)
        conn.set_authorizer(self._authorize)
        conn.set_progress_handler(self._progress, 1000)

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        """SQLite authorizer: a whitelist of reads, SELECTs and pure functions."""
        if action in _ALWAYS_ALLOWED:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in ALLOWED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        if self._denied is None:
            self._denied = _describe(action, arg1, arg2)
        return sqlite3.SQLITE_DENY

    def _progress(self) -> int:
        """SQLite progress handler: non-zero interrupts the query once its budget is spent."""
        return int(self._budget is not None and self._budget.exceeded())

    def _printf(self, fmt: object, *args: object) -> object:
        """``printf``/``format`` with bounded widths, computed by SQLite's own printf."""
        if fmt is None:
            return None
        text = fmt.decode("utf-8", "replace") if isinstance(fmt, bytes) else str(fmt)
        for match in _PRINTF_SPEC.finditer(text):
            for part in match.groups():
                if part == "*" or (part and (len(part) > 4 or int(part) > MAX_PRINTF_WIDTH)):
                    self._udf_error = ToolCallError(
                        f"printf/format conversion {match.group(0)!r} is not allowed: widths "
                        f"and precisions must be written as numbers up to {MAX_PRINTF_WIDTH} "
                        "(no *). Fix: e.g. printf('%.2f', x)."
                    )
                    raise ValueError("printf refused")
        placeholders = ", ".join("?" * (len(args) + 1))
        return self._formatter.execute(f"SELECT printf({placeholders})", (fmt, *args)).fetchone()[0]

    def tables(self) -> str:
        """Describe the schema for the tool description shown to the agent.

        Returns:
            One line per table or view: ``name(column TYPE, ...)``.
        """
        return "\n".join(
            f"{name}({', '.join(f'{column} {kind}' for column, kind in columns)})"
            for name, columns in self._schema.items()
        )

    def query(self, sql: str) -> QueryResult:
        """Run one read-only SELECT statement under the per-call limits.

        Args:
            sql: One SQL statement (a trailing ``;`` is fine).

        Returns:
            Its column names and at most ``limits.max_rows`` rows (``truncated`` says whether
            there were more).

        Raises:
            ToolCallError: The SQL is too long, empty, more than one statement, not read-only,
                invalid, builds a value over :data:`MAX_VALUE_BYTES` bytes or runs over the time
                budget. The database stays usable for the next query.
        """
        self._check_sql(sql)
        self._denied, self._udf_error = None, None
        self._budget = Budget(self.limits)
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            if cursor.description is None:
                raise ToolCallError(f"The SQL holds no SELECT statement. {_SELECT_ONLY}")
            return self._fetch(cursor)
        except (sqlite3.Error, sqlite3.Warning) as error:
            raise self._explain(error) from None
        finally:
            cursor.close()
            self._budget = None

    def _check_sql(self, sql: object) -> None:
        if not isinstance(sql, str):
            raise ToolCallError(
                f"The query must be a string of SQL, got {type(sql).__name__}. "
                "Fix: e.g. \"SELECT name FROM sqlite_master\"."
            )
        if len(sql) > self.limits.max_sql_chars:
            raise ToolCallError(
                f"The query is {len(sql)} characters long; the limit is "
                f"{self.limits.max_sql_chars}. Fix: write a shorter query."
            )
        if not sql.strip():
            raise ToolCallError(f"The query is empty. {_SELECT_ONLY}")

    def _fetch(self, cursor: sqlite3.Cursor) -> QueryResult:
        """Fetch at most ``max_rows`` rows (one more to know whether there are more)."""
        assert self._budget is not None
        columns = tuple(str(item[0]) for item in cursor.description)
        rows: list[tuple[object, ...]] = []
        size, truncated = 0, False
        while True:
            self._budget.check()
            row = cursor.fetchone()
            if row is None:
                break
            if len(rows) == self.limits.max_rows or size > MAX_RESULT_CHARS:
                truncated = True
                break
            rows.append(tuple(row))
            size += _size(row)
        return QueryResult(columns, tuple(rows), truncated)

    def _explain(self, error: Exception) -> ToolCallError:
        """Turn an sqlite3 error into a message that tells the agent how to fix its query."""
        message = str(error)
        if self._udf_error is not None:
            return self._udf_error
        if self._denied is not None:
            return _denied_error(self._denied)
        if "interrupted" in message:
            return ToolCallError(
                f"The query was stopped: it ran over the {self.limits.time_s:g} s time limit "
                f"(CPU limit {self.limits.cpu_s:g} s). Fix: filter earlier with WHERE, avoid "
                "cross joins and unbounded recursive CTEs, or add a LIMIT."
            )
        if "one statement at a time" in message:
            return ToolCallError(
                "Send one SQL statement per call; this query holds more than one. Fix: remove "
                "the extra statements (a single trailing ';' is fine)."
            )
        if isinstance(error, sqlite3.DataError) or "too big" in message:
            return ToolCallError(
                f"The query tried to build a string or blob over {MAX_VALUE_BYTES:,} bytes. "
                "Fix: ask for smaller values (e.g. substr() or length())."
            )
        if "readonly" in message or "attached databases" in message:
            return ToolCallError(f"{_SELECT_ONLY} Fix: rewrite it as a SELECT.")
        return ToolCallError(f"SQL error: {message}.{self._hint(message)}")

    def _hint(self, message: str) -> str:
        """A did-you-mean for unknown tables, columns and functions."""
        found = re.match(r"no such (table|column|function): (?:\w+\.)?(\S+)", message)
        if found is None:
            return " Fix: correct the query; the tables are: " + ", ".join(self._schema) + "."
        kind, name = found.groups()
        if kind == "table":
            known = list(self._schema)
        elif kind == "column":
            known = sorted({c for columns in self._schema.values() for c, _ in columns})
        else:
            known = sorted(ALLOWED_FUNCTIONS)
        near = closest(name, known)
        hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        listing = ", ".join(known) if len(known) <= 30 else ", ".join(known[:30]) + ", ..."
        return f"{hint} Known {kind}s: {listing}."


def _describe(action: int, arg1: str | None, arg2: str | None) -> str:
    """Words for one denied authorizer request, e.g. ``PRAGMA query_only``."""
    name = _ACTION_NAMES.get(action, f"action {action}")
    if action == sqlite3.SQLITE_FUNCTION:
        return f"the function {arg2}()"
    if action == sqlite3.SQLITE_ATTACH:
        return "ATTACH of a database file (VACUUM and VACUUM INTO need it too)"
    if action == sqlite3.SQLITE_PRAGMA:
        return f"PRAGMA {arg1}"
    if arg1 in ("sqlite_master", "sqlite_temp_master", "sqlite_schema"):
        # CREATE/DROP write the schema table; table-valued functions (json_each,
        # pragma_table_info) declare a virtual table, which shows up as a schema write too.
        return "changing the schema (CREATE, DROP, ALTER, or a table-valued function)"
    return f"{name} ({arg1})" if arg1 else name


def _denied_error(denied: str) -> ToolCallError:
    if denied.startswith("the function "):
        return ToolCallError(
            f"{denied} is not available in this sandbox. Fix: use only these functions: "
            f"{', '.join(sorted(ALLOWED_FUNCTIONS))}."
        )
    return ToolCallError(
        f"{_SELECT_ONLY} {denied[:1].upper()}{denied[1:]} is not permitted. "
        "Fix: rewrite it as a SELECT."
    )
