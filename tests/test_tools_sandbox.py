"""The sandboxed tools of agentgym/ToolUse-v0: correct answers, and every escape refused quickly.

Real parts only: the real calculator walker, a real in-memory SQLite database, real dates and
units. The time bounds asserted here are security bounds (a refused call must not first do the
expensive work), not speed benchmarks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentgym.envs.tools.calculator import INT_LIMIT, calculate, format_number
from agentgym.envs.tools.dates import date_add, date_diff, weekday
from agentgym.envs.tools.limits import Budget, ToolCallError, ToolLimits, clip_output
from agentgym.envs.tools.sqltool import MAX_VALUE_BYTES, QueryResult, SQLDatabase
from agentgym.envs.tools.units import UNITS, canonical_unit, convert
from agentgym.errors import ConfigError

#: A refused call must come back within this many seconds (it must not do the work first).
REFUSE_S = 0.5


def refused(call: Callable[[], object], *, within: float = REFUSE_S) -> ToolCallError:
    """Run ``call``, assert it raises ToolCallError within ``within`` seconds; return the error."""
    start = time.perf_counter()
    with pytest.raises(ToolCallError) as caught:
        call()
    elapsed = time.perf_counter() - start
    assert elapsed < within, f"refusal took {elapsed:.3f} s"
    assert str(caught.value), "a refusal must carry a message for the agent"
    return caught.value


# --------------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    "field, value",
    [("time_s", 0), ("cpu_s", -1.0), ("max_output_chars", 0), ("max_rows", 1.5),
     ("max_expression_chars", True), ("max_sql_chars", float("nan")), ("time_s", "1")],
)
def test_tool_limits_reject_bad_values(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        ToolLimits(**{field: value})
    assert caught.value.field.endswith(field)
    assert field in str(caught.value)


def test_tool_limits_defaults_and_keyword_only() -> None:
    limits = ToolLimits()
    assert (limits.time_s, limits.cpu_s, limits.max_output_chars, limits.max_rows) == (
        1.0, 1.0, 2000, 50)
    assert (limits.max_expression_chars, limits.max_sql_chars) == (500, 2000)
    with pytest.raises(TypeError):
        ToolLimits(2.0)  # type: ignore[misc]


def test_clip_output_keeps_short_text_and_marks_cuts() -> None:
    assert clip_output("short", 10) == "short"
    clipped = clip_output("x" * 5000, 2000)
    marker = "\n... [output cut at 2000 characters]"
    assert clipped == "x" * 2000 + marker
    assert len(clipped) <= 2000 + len(marker)


def test_budget_stops_on_wall_time_and_cpu_time() -> None:
    budget = Budget(ToolLimits(time_s=0.02))
    budget.check()  # fresh budget: fine
    time.sleep(0.03)
    assert budget.exceeded()
    with pytest.raises(ToolCallError, match=r"time limit of 0\.02 s"):
        budget.check()
    cpu = Budget(ToolLimits(time_s=10.0, cpu_s=0.02))
    deadline = time.perf_counter() + 2.0
    while not cpu.exceeded() and time.perf_counter() < deadline:
        sum(range(1000))
    with pytest.raises(ToolCallError, match="CPU time limit"):
        cpu.check()


# ----------------------------------------------------------------------------- calculator


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("2 + 3 * 4", 14), ("(2 + 3) * 4", 20), ("2 ** 3 ** 2", 512), ("-2 ** 2", -4),
        ("7 / 2", 3.5), ("7 // 2", 3), ("-7 // 2", -4), ("7 % 3", 1), ("+5 - -5", 10),
        ("round(2.675, 2)", 2.67), ("round(2.5)", 2), ("round(1234, -2)", 1200),
        ("sqrt(16)", 4), ("abs(-3.5)", 3.5), ("min(3, 1, 2)", 1), ("max(3, 1, 2)", 3),
        ("floor(-2.5)", -3), ("ceil(2.1)", 3), ("log(8, 2)", 3), ("log10(1000)", 3),
        ("exp(0)", 1), ("sin(0)", 0), ("cos(pi)", -1), ("10 ** 100", 10**100),
        ("1.5e3 + 0.5", 1500.5), ("2 ** -1", 0.5), ("(12.5 + 3) * 0.2", 3.1),
    ],
)
def test_calculator_values(expression: str, expected: float) -> None:
    assert calculate(expression) == pytest.approx(expected, rel=1e-12)


def test_calculator_types_and_constants() -> None:
    assert isinstance(calculate("sqrt(16)"), int)  # whole results come back as int
    assert isinstance(calculate("7 / 2"), float)
    assert calculate("pi") == pytest.approx(math.pi)
    assert calculate("e") == pytest.approx(math.e)
    assert calculate("sqrt(2)") == pytest.approx(math.sqrt(2))
    assert calculate("0.1 + 0.2") == pytest.approx(0.3)
    assert calculate("12345678901234567890 * 10") == 123456789012345678900


@pytest.mark.parametrize(
    "value, text",
    [(2.5, "2.5"), (1 / 3, "0.3333333333"), (1e20, "1e+20"), (4, "4"), (-0.0, "0"),
     (0.1 + 0.2, "0.3"), (10**30, "1" + "0" * 30), (-1.25e-7, "-1.25e-07")],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


ESCAPES = [
    "__import__('os').system('echo hi')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd')",
    "eval('1')",
    "lambda: 1",
    "[x for x in range(10**9)]",
    "9**9**9",
    "10**10**10",
    "2**100000",
    "(10**50)*(10**60)",
    "'a'*10**9",
    "(" * 5000 + "1" + ")" * 5000,
    "1" * 100_000,
    "1/0",
    "sqrt(-1)",
    "1e308*10",
    "10**100 + 1",
    "1e999",
    "(-8) ** (1/3)",
    "log(0)",
    "True + 1",
    "1j * 1j",
    "x",
    "abs(x=1)",
    "max(*[1, 2])",
    "1 if 1 else 2",
    "f'{1}'",
    "-" * 400 + "1",
    "",
]


@pytest.mark.parametrize("expression", ESCAPES, ids=lambda e: repr(e[:30]))
def test_calculator_refuses_escapes_quickly(expression: str) -> None:
    refused(lambda: calculate(expression))


@pytest.mark.parametrize(
    "expression",
    ["(" * 5000 + "1" + ")" * 5000, "-" * 5000 + "1", "1+" * 20000 + "1",
     "sqrt(" * 3000 + "4" + ")" * 3000],
    ids=["parens", "unary", "chain", "calls"],
)
def test_calculator_refuses_deep_nesting_even_without_length_limit(expression: str) -> None:
    refused(lambda: calculate(expression, limits=ToolLimits(max_expression_chars=200_000)))


def test_calculator_messages_name_the_problem() -> None:
    assert "`__import__` is not a function the calculator knows" in str(
        refused(lambda: calculate("__import__('os')")))
    assert "open" in str(refused(lambda: calculate("open('/etc/passwd')")))
    assert "**" in str(refused(lambda: calculate("2 ^ 3")))
    assert "ListComp" in str(refused(lambda: calculate("[x for x in range(3)]")))
    assert "limit is 500" in str(refused(lambda: calculate("1" * 501)))
    assert "zero" in str(refused(lambda: calculate("1 // 0")))
    assert "sqrt" in str(refused(lambda: calculate("sqrt(-1)")))
    assert "takes" in str(refused(lambda: calculate("sqrt(1, 2)")))
    assert "1e100" in str(refused(lambda: calculate("2 ** 100000")))


def test_calculator_still_works_after_every_refusal() -> None:
    for expression in ESCAPES:
        with pytest.raises(ToolCallError):
            calculate(expression)
    assert calculate("2+2") == 4


def test_calculator_power_bound_is_checked_before_computing() -> None:
    # Just within the bound is computed exactly; the next power up is refused at once.
    assert calculate("2 ** 332") == 2**332
    assert 2**332 < INT_LIMIT < 2**333
    refused(lambda: calculate("2 ** 333"))
    refused(lambda: calculate("2 ** 1000000000000"), within=0.05)
    refused(lambda: calculate("1.0000001 ** 10**100"), within=0.05)
    assert calculate("0.5 ** 10**100") == 0


# ------------------------------------------------------------------------------------ SQL

SCRIPT = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     total REAL, day TEXT);
CREATE INDEX orders_by_customer ON orders(customer_id);
INSERT INTO customers VALUES (1, 'Ada', 'Paris'), (2, 'Bob', 'Oslo'), (3, 'Cy', 'Paris');
INSERT INTO orders VALUES (1, 1, 10.5, '2024-01-02'), (2, 1, 4.5, '2024-02-03'),
                          (3, 2, 20.0, '2024-03-04');
"""
FAST = ToolLimits(time_s=0.3, cpu_s=0.3)
COUNTS = "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)"
COUNT_TO_TEN_THOUSAND = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "
)


@pytest.fixture()
def db() -> SQLDatabase:
    """A fresh database per test, with short time limits."""
    return SQLDatabase(SCRIPT, limits=FAST)


def test_sql_select_aggregate_join_group_by(db: SQLDatabase) -> None:
    result = db.query(
        "SELECT c.name, count(o.id) AS n, sum(o.total) AS spent FROM customers c "
        "LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id ORDER BY c.name;"
    )
    assert result.columns == ("name", "n", "spent")
    assert result.rows == (("Ada", 2, 15.0), ("Bob", 1, 20.0), ("Cy", 0, None))
    assert not result.truncated
    assert result.text(2000) == "name | n | spent\nAda | 2 | 15.0\nBob | 1 | 20.0\nCy | 0 | NULL"
    dates = db.query("SELECT julianday(max(day)) - julianday(min(day)), "
                     "printf('%.2f', avg(total)), upper(substr(day, 1, 4)) FROM orders")
    assert dates.rows == ((62.0, "11.67", "2024"),)
    empty = db.query("SELECT name FROM customers WHERE city = 'Rome'")
    assert empty.rows == () and "(no rows)" in empty.text(100)
    assert db.query("SELECT x'0102'").text(100).endswith("<2 bytes>")


def test_sql_tables_describes_the_schema(db: SQLDatabase) -> None:
    text = db.tables()
    assert "customers(id INTEGER, name TEXT, city TEXT)" in text
    assert "orders(id INTEGER, customer_id INTEGER, total REAL, day TEXT)" in text


def attacks(tmp_path: Path) -> dict[str, str]:
    """Name -> SQL of every query the sandbox must refuse."""
    return {
        "attach": f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x",
        "vacuum_into": f"VACUUM INTO '{tmp_path / 'y.db'}'",
        "vacuum": "VACUUM",
        "pragma_query_only": "PRAGMA query_only = OFF",
        "pragma_writable_schema": "PRAGMA writable_schema = ON",
        "pragma_cached_text": 'PRAGMA table_info("customers")',
        "pragma_function": "SELECT * FROM pragma_table_info('customers')",
        "insert": "INSERT INTO customers VALUES (9, 'Eve', 'Rome')",
        "update": "UPDATE orders SET total = 0",
        "delete": "DELETE FROM orders",
        "replace": "REPLACE INTO customers VALUES (1, 'Eve', 'Rome')",
        "drop": "DROP TABLE orders",
        "create": "CREATE TABLE evil (a)",
        "create_temp": "CREATE TEMP TABLE evil AS SELECT * FROM orders",
        "alter": "ALTER TABLE orders ADD COLUMN evil",
        "begin": "BEGIN",
        "savepoint": "SAVEPOINT s",
        "detach": "DETACH main",
        "reindex": "REINDEX",
        "analyze": "ANALYZE",
        "load_extension": "SELECT load_extension('x')",
        "recursive_cte": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                         "WHERE x < 1000000000000) SELECT count(*) FROM c",
        "cross_join": "SELECT count(*) FROM " + ", ".join(f"orders t{i}" for i in range(30)),
        "zeroblob": "SELECT zeroblob(1000000000)",
        "randomblob": "SELECT randomblob(1000000000)",
        "printf_star": "SELECT printf('%.*c', 1000000000, 'x')",
        "printf_wide": "SELECT format('%.999999999c', 'x')",
        "doubling": "WITH RECURSIVE c(s) AS (SELECT 'ab' UNION ALL SELECT s || s FROM c) "
                    "SELECT length(s) FROM c",
        "two_statements": "SELECT 1; SELECT 2",
        "select_then_drop": "SELECT 1; DROP TABLE orders",
        "too_long": "SELECT 1 " + " " * 3000,
        "empty": "   ",
        "comment_only": "-- nothing",
        "syntax": "SELEC 1",
    }


ATTACK_NAMES = list(attacks(Path("/nonexistent")))


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_sql_refuses_attacks_quickly_and_stays_usable(
    name: str, db: SQLDatabase, tmp_path: Path
) -> None:
    sql = attacks(tmp_path)[name]
    # Interrupted queries run for the whole time budget; the rest are refused at once.
    refused(lambda: db.query(sql), within=FAST.time_s + REFUSE_S)
    assert db.query(COUNTS).rows == ((3, 3),)
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "y.db").exists()


def test_sql_after_every_attack_the_data_is_unchanged(tmp_path: Path) -> None:
    database = SQLDatabase(SCRIPT, limits=FAST)
    before = database.query("SELECT * FROM customers, orders ORDER BY 1, 4").rows
    for sql in attacks(tmp_path).values():
        with pytest.raises(ToolCallError):
            database.query(sql)
    assert database.query(COUNTS).rows == ((3, 3),)
    assert database.query("SELECT * FROM customers, orders ORDER BY 1, 4").rows == before
    assert list(tmp_path.iterdir()) == []


def test_sql_error_messages_teach(db: SQLDatabase, tmp_path: Path) -> None:
    def message(sql: str) -> str:
        return str(refused(lambda: db.query(sql), within=FAST.time_s + REFUSE_S))

    assert "Only read-only queries" in message("INSERT INTO orders VALUES (9, 1, 1, 'x')")
    assert "PRAGMA query_only" in message("PRAGMA query_only = OFF")
    assert "ATTACH" in message(f"VACUUM INTO '{tmp_path / 'y.db'}'")
    assert "load_extension" in message("SELECT load_extension('x')")
    assert "one SQL statement per call" in message("SELECT 1; SELECT 2")
    assert f"{MAX_VALUE_BYTES:,} bytes" in message(
        "SELECT replace(printf('%.1000c', 'x'), 'x', printf('%.1000c', 'y'))")
    assert "0.3 s time limit" in message(attacks(tmp_path)["recursive_cte"])
    assert "Did you mean 'customers'" in message("SELECT * FROM customer")
    assert "Did you mean 'name'" in message("SELECT nme FROM customers")
    assert "no *" in message("SELECT printf('%*d', 5, 1)")


def test_sql_recursive_cte_is_interrupted_near_the_time_limit(db: SQLDatabase) -> None:
    start = time.perf_counter()
    with pytest.raises(ToolCallError, match="time limit"):
        db.query(attacks(Path("/nonexistent"))["recursive_cte"])
    elapsed = time.perf_counter() - start
    assert FAST.time_s * 0.9 <= elapsed < FAST.time_s + REFUSE_S


def test_sql_large_result_is_truncated_and_clipped() -> None:
    limits = ToolLimits(time_s=1.0, cpu_s=1.0, max_rows=50, max_output_chars=300)
    database = SQLDatabase(SCRIPT, limits=limits)
    result = database.query(COUNT_TO_TEN_THOUSAND + "SELECT x, x * x AS sq FROM c")
    assert isinstance(result, QueryResult)
    assert result.truncated and len(result.rows) == 50
    assert result.rows[0] == (1, 1) and result.rows[-1] == (50, 2500)
    text = result.text(limits.max_output_chars)
    marker = f"\n... [output cut at {limits.max_output_chars} characters]"
    assert len(text) <= limits.max_output_chars + len(marker)
    assert "only the first 50 rows" in text and "output cut" in text
    wide = database.query(COUNT_TO_TEN_THOUSAND + "SELECT printf('%.1000c', 'x') FROM c")
    assert wide.truncated and len(wide.text(300)) <= 300 + len(marker)


def test_sql_printf_with_small_widths_matches_sqlite(db: SQLDatabase) -> None:
    row = db.query("SELECT printf('%5d|%-4s|%.3f|%,d|%%|%.3c', 42, 'ab', 3.14159, 1234567, "
                   "'z'), format('%q', 'it''s')").rows[0]
    assert row == ("   42|ab  |3.142|1,234,567|%|zzz", "it''s")


# ---------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "start, end, unit, expected",
    [
        ("2024-01-01", "2025-01-01", "days", 366),  # leap year
        ("2023-01-01", "2024-01-01", "days", 365),
        ("2024-02-28", "2024-03-01", "days", 2),
        ("2023-02-28", "2023-03-01", "days", 1),
        ("2024-03-01", "2024-02-28", "days", -2),
        ("2024-01-01", "2024-01-14", "weeks", 1),  # 13 days: one whole week
        ("2024-01-14", "2024-01-01", "weeks", -1),  # truncated toward zero
        ("2024-01-01", "2024-01-15", "Weeks", 2),
        ("2024-01-01", "2024-01-02", "day", 1),
    ],
)
def test_date_diff(start: str, end: str, unit: str, expected: int) -> None:
    assert date_diff(start, end, unit) == expected


def test_date_add_and_weekday() -> None:
    assert date_add("2024-02-28", 1) == "2024-02-29"
    assert date_add("2023-02-28", 1) == "2023-03-01"
    assert date_add("2024-03-01", -1) == "2024-02-29"
    assert date_add("2024-01-01", 366) == "2025-01-01"
    assert date_add("2024-01-01", 7.0) == "2024-01-08"
    assert weekday("2024-02-29") == "Thursday"
    assert weekday("2000-01-01") == "Saturday"


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: date_diff("2024/01/01", "2024-01-02"), "YYYY-MM-DD"),
        (lambda: date_diff("2024-1-1", "2024-01-02"), "2024-02-29"),
        (lambda: date_diff("2023-02-29", "2024-01-02"), "not a real calendar day"),
        (lambda: weekday("0000-01-01"), "not a real calendar day"),
        (lambda: weekday("2024-13-01"), "not a real calendar day"),
        (lambda: weekday("٢٠٢٤-01-01"), "YYYY-MM-DD"),
        (lambda: date_diff("2024-01-01", "2024-01-02", "wekks"), "Did you mean 'weeks'"),
        (lambda: date_diff("2024-01-01", "2024-01-02", "months"), "days"),
        (lambda: date_add("2024-01-01", 2_000_000), "1,000,000"),
        (lambda: date_add("9999-12-31", 1), "outside"),
        (lambda: date_add("0001-01-01", -1), "outside"),
        (lambda: date_add("2024-01-01", 1.5), "whole number"),
        (lambda: date_add("2024-01-01", True), "whole number"),
    ],
)
def test_date_errors(call: Callable[[], object], words: str) -> None:
    assert words in str(refused(call))


# ---------------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    "value, source, target, expected",
    [
        (212, "F", "C", 100.0), (-40, "fahrenheit", "celsius", -40.0), (0, "C", "K", 273.15),
        (98.6, "F", "C", 37.0), (0, "K", "F", -459.67), (1, "mi", "km", 1.609344),
        (10, "km", "miles", 6.213711922373339), (1, "lb", "kg", 0.45359237),
        (1, "kg", "pounds", 2.2046226218487757), (1, "feet", "inches", 12.0),
        (3, "yd", "ft", 9.0), (1, "gal", "l", 3.785411784), (1, "cup", "floz", 8.0),
        (2, "hours", "minutes", 120.0), (1, "week", "days", 7.0),
        (60, "mph", "km/h", 96.56064), (10, "knots", "km/h", 18.52),
        (36, "km/h", "m/s", 10.0), (1, "Kilograms", "g", 1000.0), (1, "tonne", "kg", 1000.0),
        (16, "oz", "lb", 1.0), (1000, "ml", "litres", 1.0),
    ],
)
def test_convert(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_convert_exact_definitions_round_once() -> None:
    assert convert(1, "ft", "in") == 12.0  # not 12.000000000000002
    assert convert(1, "mi", "ft") == 5280.0
    assert canonical_unit("Miles") == "mi" and canonical_unit("degrees Celsius") == "C"
    assert canonical_unit("ms") is None  # no plural stripping of short symbols
    assert {"m", "kg", "l", "s", "C", "m/s"} <= set(UNITS)


@pytest.mark.parametrize(
    "value, source, target, words",
    [
        (1, "klogram", "g", "Did you mean 'kilogram'"),
        (1, "kg", "metres", "mass"),
        (1, "kg", "metres", "length"),
        (1, "C", "km", "temperature"),
        (float("nan"), "m", "km", "finite"),
        (float("inf"), "m", "km", "finite"),
        (1e16, "m", "km", "1e+15"),
        (-300, "C", "K", "absolute zero"),
        ("12", "m", "km", "number"),
        (True, "m", "km", "number"),
    ],
)
def test_convert_errors(value: object, source: str, target: str, words: str) -> None:
    assert words in str(refused(lambda: convert(value, source, target)))  # type: ignore[arg-type]
