"""Reading a tool call out of an agent's action.

Two spellings are understood:

* JSON, as function-calling APIs write it: ``{"tool": "sql", "arguments": {"query": "..."}}``
  (``"name"`` may stand for ``"tool"``, and ``arguments`` may be a JSON string, as in OpenAI's
  ``tool_calls``), optionally inside a Markdown code fence;
* a function call: ``sql(query="SELECT 1")``, ``calculator("2 + 3")``, ``answer(42)``: positional
  arguments fill the tool's parameters in the order of its schema. Only literals are read
  (:func:`ast.literal_eval`); nothing is evaluated.

Malformed text comes back as a message for the agent, never as an exception.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANSWER", "Call", "parse_call", "render_call"]

#: The pseudo-tool that ends an episode with an answer.
ANSWER = "answer"
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HELP = ('Write one call: {"tool": "<name>", "arguments": {...}} or <name>(<argument>=...), '
         'or answer("...") to finish.')


@dataclass(frozen=True)
class Call:
    """One call: the tool's name and its arguments (positional ones still unnamed)."""

    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    positional: tuple[Any, ...] = ()


def render_call(tool: str, arguments: Mapping[str, Any]) -> str:
    """The canonical JSON spelling of a call (compact, keys in the given order)."""
    return json.dumps({"tool": tool, "arguments": dict(arguments)}, ensure_ascii=False)


def parse_call(action: str) -> Call | str:
    """The call written in ``action``, or a message saying why none could be read."""
    text = action.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if text.startswith("{"):
        return _from_json(text)
    return _from_function(text)


def _from_json(text: str) -> Call | str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"The call is not valid JSON ({exc.msg} at character {exc.pos}). {_HELP}"
    if not isinstance(data, dict):
        return f"The call must be a JSON object. {_HELP}"
    if "function" in data and isinstance(data["function"], dict):  # {"type": "function", ...}
        data = data["function"]
    tool = data.get("tool", data.get("name"))
    if not isinstance(tool, str) or not tool:
        return f'The call names no tool: put its name under "tool". {_HELP}'
    unknown = sorted(set(data) - {"tool", "name", "arguments", "type", "id"})
    if unknown:
        return (f"The call has unexpected keys {unknown}; a call has only \"tool\" and "
                f"\"arguments\". {_HELP}")
    arguments = data.get("arguments", {})
    if isinstance(arguments, str):  # OpenAI's tool_calls carry the arguments as a JSON string
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return f'"arguments" is a string that is not JSON ({exc.msg}). {_HELP}'
    if not isinstance(arguments, dict):
        return f'"arguments" must be a JSON object of named arguments. {_HELP}'
    return Call(tool, arguments)


def _from_function(text: str) -> Call | str:
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return f"The action could not be read as a call. {_HELP}"
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return f"The action is not a call of a tool by its name. {_HELP}"
    if not _NAME.match(node.func.id):
        return f"The action could not be read as a call. {_HELP}"
    try:
        positional = tuple(ast.literal_eval(arg) for arg in node.args)
        named = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                return f"Unpacked arguments (**) are not read. {_HELP}"
            named[keyword.arg] = ast.literal_eval(keyword.value)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return ("Arguments must be plain values (text in quotes, numbers, true/false); "
                f"nothing is computed inside a call. {_HELP}")
    return Call(node.func.id, named, positional)
