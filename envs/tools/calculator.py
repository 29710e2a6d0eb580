"""A safe arithmetic calculator: parses with :mod:`ast` and walks a whitelist of nodes.

No user text is ever given to ``eval``, ``exec`` or ``compile``. The expression is parsed with
``ast.parse(..., mode="eval")`` and evaluated node by node; only numbers, ``+ - * / // % **``,
unary ``+ -``, the names ``pi`` and ``e`` and calls of a few math functions by bare name are
allowed. Sizes are checked *before* each operation, so nothing huge is ever computed: integers stay
within ``10**100`` in magnitude, powers are estimated from logarithms first, and floats must stay
finite.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from agentgym.envs.tools.limits import Budget, ToolCallError, ToolLimits

__all__ = ["FUNCTIONS", "INT_LIMIT", "MAX_DEPTH", "calculate", "format_number"]

#: Largest magnitude an integer (input, intermediate or result) may have.
INT_LIMIT = 10**100
#: Deepest nesting of operations and calls accepted.
MAX_DEPTH = 50

_INT_LIMIT_BITS = INT_LIMIT.bit_length()
_LOG10_LIMIT = 100.0
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
#: Function name -> (smallest, largest) number of arguments; ``None``: no upper bound.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "sqrt": (1, 1), "abs": (1, 1), "round": (1, 2), "min": (1, None), "max": (1, None),
    "floor": (1, 1), "ceil": (1, 1), "log": (1, 2), "log10": (1, 1), "exp": (1, 1),
    "sin": (1, 1), "cos": (1, 1), "tan": (1, 1),
}
_FIX = "Use numbers, + - * / // % **, parentheses, pi, e and the functions " + ", ".join(
    FUNCTIONS
) + "."
_BINARY: dict[type, tuple[str, Callable[[object, object], object]]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod), ast.Pow: ("**", operator.pow),
}

Number = int | float


def _snippet(node: ast.AST, limit: int = 60) -> str:
    """Source text of ``node``, shortened for an error message."""
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):  # unparse recurses; the depth check usually runs first
        text = type(node).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refuse(what: str) -> ToolCallError:
    return ToolCallError(f"{what} is not allowed in a calculator expression. {_FIX}")


def _check_number(value: object) -> Number:
    """Return ``value`` if it is a real number within the bounds, else raise ToolCallError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolCallError(
            "The result is not a real number (e.g. a fractional power of a negative number). "
            "Fix: keep bases of fractional powers non-negative."
        )
    if isinstance(value, int):
        if value.bit_length() > _INT_LIMIT_BITS or abs(value) > INT_LIMIT:
            raise _too_big()
    elif not math.isfinite(value):
        raise _too_big()
    return value


def _too_big() -> ToolCallError:
    return ToolCallError(
        "A number in the calculation grew beyond 1e100 in magnitude (or overflowed a float). "
        "Fix: use smaller numbers or rewrite the expression, e.g. with log()."
    )


def _power_too_big(base: Number, exponent: Number) -> bool:
    """Whether ``base ** exponent`` would exceed the bound, judged from logarithms."""
    if base == 0 or abs(base) == 1 or exponent <= 0:
        return False
    return float(exponent) * math.log10(abs(base)) > _LOG10_LIMIT + 1


def _binary(op: ast.operator, left: Number, right: Number) -> Number:
    """Apply one binary operator after checking that its result stays small."""
    if isinstance(op, ast.BitXor):
        raise ToolCallError("`^` is not a power in the calculator. Fix: use ** for powers.")
    if type(op) not in _BINARY:
        raise _refuse(f"The operator `{type(op).__name__}`")
    symbol, function = _BINARY[type(op)]
    if symbol == "**" and _power_too_big(left, right):
        raise _too_big()
    if (
        symbol == "*"
        and isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > _INT_LIMIT_BITS + 1
    ):
        raise _too_big()
    try:
        return _check_number(function(left, right))
    except ZeroDivisionError:
        raise ToolCallError(
            f"Division by zero in `{symbol}`. Fix: make sure the divisor is not 0."
        ) from None
    except OverflowError:
        raise _too_big() from None


def _apply(name: str, args: list[Number]) -> Number:
    """Apply one whitelisted function to evaluated arguments."""
    low, high = FUNCTIONS[name]
    if len(args) < low or (high is not None and len(args) > high):
        wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
        raise ToolCallError(
            f"`{name}` takes {wanted} argument(s), got {len(args)}. Fix: e.g. {name}(2)."
        )
    try:
        if name == "round":
            return _round(args)
        if name == "log":
            return math.log(*args)
        if name == "abs":
            return abs(args[0])
        if name in ("min", "max"):
            return (min if name == "min" else max)(args)
        return getattr(math, name)(*args)
    except ValueError:
        raise ToolCallError(
            f"`{name}` is not defined for {', '.join(format_number(a) for a in args)} "
            "(math domain error). Fix: e.g. no sqrt or log of negative numbers."
        ) from None
    except ZeroDivisionError:
        raise ToolCallError(
            f"Division by zero inside `{name}`. Fix: check its arguments."
        ) from None
    except OverflowError:
        raise _too_big() from None


def _round(args: list[Number]) -> Number:
    if len(args) == 1:
        return round(args[0])
    digits = args[1]
    if not isinstance(digits, int) or abs(digits) > 100:
        raise ToolCallError(
            "The second argument of `round` must be a whole number of digits between -100 and 100. "
            "Fix: e.g. round(2.675, 2)."
        )
    return round(args[0], digits)


class _Evaluator:
    """Walks a parsed expression, evaluating only whitelisted nodes."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def eval(self, node: ast.AST, depth: int) -> Number:
        """Evaluate ``node`` at nesting ``depth``; anything off the whitelist raises."""
        if depth > MAX_DEPTH:
            raise ToolCallError(
                f"The expression is nested more than {MAX_DEPTH} levels deep. "
                "Fix: split it into smaller calculations."
            )
        self.budget.check()
        if isinstance(node, ast.Expression):
            return self.eval(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.BinOp):
            left = self.eval(node.left, depth + 1)
            right = self.eval(node.right, depth + 1)
            return _binary(node.op, left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            value = self.eval(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise _refuse(f"`{_snippet(node)}` ({type(node).__name__})")

    @staticmethod
    def _constant(node: ast.Constant) -> Number:
        if type(node.value) not in (int, float):
            kind = "a string" if isinstance(node.value, (str, bytes)) else "this constant"
            raise _refuse(f"`{_snippet(node)}` ({kind})")
        return _check_number(node.value)

    @staticmethod
    def _name(node: ast.Name) -> Number:
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        hint = " (it is a function: call it with parentheses)" if node.id in FUNCTIONS else ""
        raise ToolCallError(
            f"`{node.id}` is not a name the calculator knows{hint}; it knows the constants pi "
            f"and e. {_FIX}"
        )

    def _call(self, node: ast.Call, depth: int) -> Number:
        if not isinstance(node.func, ast.Name):
            raise _refuse(f"Calling `{_snippet(node.func)}`")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ToolCallError(
                f"`{name}` is not a function the calculator knows; it knows: "
                f"{', '.join(FUNCTIONS)}. Fix: use one of those, called by its bare name."
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ToolCallError(
                f"`{_snippet(node)}` uses keyword or starred arguments, which the calculator does "
                f"not accept. Fix: pass plain numbers, e.g. {name}(2)."
            )
        args = [self.eval(arg, depth + 1) for arg in node.args]
        return _check_number(_apply(name, args))


def _parse(expression: str, limits: ToolLimits) -> ast.Expression:
    """Check the length of ``expression`` and parse it, turning parser failures into errors."""
    if not isinstance(expression, str):
        raise ToolCallError(
            f"The expression must be a string, got {type(expression).__name__}. Fix: e.g. "
            '"2 * (3 + 4)".'
        )
    if len(expression) > limits.max_expression_chars:
        raise ToolCallError(
            f"The expression is {len(expression)} characters long; the limit is "
            f"{limits.max_expression_chars}. Fix: split it into smaller calculations."
        )
    if not expression.strip():
        raise ToolCallError('The expression is empty. Fix: e.g. "2 * (3 + 4)".')
    try:
        return ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ToolCallError(
            f"The expression is not valid arithmetic ({error.msg}). {_FIX}"
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise ToolCallError(
            "The expression could not be parsed (too deeply nested or malformed). "
            "Fix: split it into smaller calculations."
        ) from None


def calculate(expression: str, *, limits: ToolLimits | None = None) -> int | float:
    """Evaluate an arithmetic expression safely.

    Accepts int and float literals, ``+ - * / // % **``, unary ``+ -``, parentheses, the names
    ``pi`` and ``e`` and the functions in :data:`FUNCTIONS`, called by bare name. ``^`` is refused
    with a hint to use ``**``.

    Args:
        expression: The expression, e.g. ``"sqrt(2) * (3 + 4) ** 2"``.
        limits: Size and time limits; the defaults of :class:`ToolLimits` when ``None``.

    Returns:
        The value: an int when the result is a whole number (exact integer arithmetic, or a
        float with an integral value below ``2**53``), else a float.

    Raises:
        ToolCallError: The expression is too long, not arithmetic, uses something not on the
            whitelist, divides by zero, leaves a function's domain, grows a number beyond
            ``10**100`` or overflows a float, nests too deeply, or runs over the time budget.
    """
    limits = limits or ToolLimits()
    budget = Budget(limits)
    tree = _parse(expression, limits)
    try:
        value = _Evaluator(budget).eval(tree, 0)
    except (RecursionError, MemoryError):
        raise ToolCallError(
            "The expression is too deeply nested or too large to evaluate. "
            "Fix: split it into smaller calculations."
        ) from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def format_number(x: int | float) -> str:
    """Render a calculator result for the agent.

    Ints print in full; floats with up to 10 significant digits and no trailing zeros
    (``2.5``, ``0.3333333333``, ``1e+20``).

    Args:
        x: The number.

    Returns:
        Its text.
    """
    if isinstance(x, int):
        return str(x)
    text = f"{x:.10g}"
    return "0" if text == "-0" else text
