"""The tool runtime: tools declared with JSON schemas, their arguments checked, their calls fenced.

A :class:`Tool` is a name, a description, an OpenAI-style JSON schema of its parameters and a
function returning ``(text for the agent, value)``; the value is what rewards compare (a number,
the rows of a query, the ids of the documents found). :class:`ToolRuntime` checks a call's
arguments against the schema, runs it with the per-call limits of
:class:`~agentgym.envs.tools.limits.ToolLimits` and cuts long output.

While a call runs, a process-wide audit hook (:func:`sys.addaudithook`, installed once) refuses
the events that reach outside the process: opening files, sockets, subprocesses, ``os`` calls
that touch the file system, ``ctypes``, new SQLite connections. The built-in tools never need
them; a user's tool that tries gets an error message, as the agent does. SQLite's own file access
(``ATTACH``, ``VACUUM INTO``) happens below Python and is refused by the SQL tool's authorizer.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentgym.envs.tools.calls import Call
from agentgym.envs.tools.limits import ToolCallError, ToolLimits, clip_output
from agentgym.errors import AgentGymError, closest

__all__ = ["CallResult", "Tool", "ToolRuntime", "check_arguments", "fenced"]

#: ``run(**arguments) -> (text, value)``.
ToolFunction = Callable[..., tuple[str, Any]]

_BLOCKED_PREFIXES = ("socket.", "subprocess.", "shutil.", "ctypes.", "urllib.", "http.",
                     "ftplib.", "smtplib.", "webbrowser.", "pty.", "glob.", "sqlite3.")
_BLOCKED_EVENTS = frozenset({
    "open", "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
    "os.startfile", "os.kill", "os.killpg", "os.listdir", "os.scandir", "os.walk", "os.remove",
    "os.rename", "os.rmdir", "os.mkdir", "os.chdir", "os.chmod", "os.chown", "os.link",
    "os.symlink", "os.truncate", "os.utime", "os.putenv", "os.unsetenv", "os.add_dll_directory",
    "os.chflags", "os.lchflags", "os.lchmod", "os.lchown", "os.getxattr", "os.listxattr",
    "os.removexattr", "os.setxattr", "fcntl.ioctl", "mmap.__new__", "resource.setrlimit",
    "sys.addaudithook", "sys.settrace", "sys.setprofile", "code.__new__", "function.__new__",
    "pickle.find_class",
})  # not "import": it fires for modules already loaded too; loading a new one needs "open"
_STATE = threading.local()
_HOOK_LOCK = threading.Lock()
_HOOKED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_STATE, "depth", 0) and (event in _BLOCKED_EVENTS
                                        or event.startswith(_BLOCKED_PREFIXES)):
        raise PermissionError(f"tools may not use {event!r} (no file system, network or "
                              "processes)")


@contextlib.contextmanager
def fenced() -> Iterator[None]:
    """While inside, this thread may not reach outside the process (see the module docstring)."""
    global _HOOKED
    if not _HOOKED:
        with _HOOK_LOCK:
            if not _HOOKED:
                sys.addaudithook(_audit)
                _HOOKED = True
    _STATE.depth = getattr(_STATE, "depth", 0) + 1
    try:
        yield
    finally:
        _STATE.depth -= 1


@dataclass(frozen=True)
class Tool:
    """A tool the agent may call.

    Attributes:
        name: What the agent calls it.
        description: What it does, for the agent.
        parameters: JSON schema of its arguments (``{"type": "object", "properties": ...,
            "required": [...]}``); properties of type string, number, integer or boolean, with
            optional ``enum``, ``minimum``, ``maximum`` and ``default``.
        run: ``run(**arguments) -> (text, value)``; raises ``ToolCallError`` for the agent.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    run: ToolFunction

    def schema(self) -> dict[str, Any]:
        """The tool in OpenAI's function-calling format."""
        return {"type": "function", "function": {"name": self.name,
                                                 "description": self.description,
                                                 "parameters": dict(self.parameters)}}


@dataclass(frozen=True)
class CallResult:
    """What a call gave: ``ok`` with text and value, or not ``ok`` with the error in ``text``.

    ``well_formed`` is False when the call itself was wrong (unknown tool, bad arguments), True
    when it was well formed but the tool refused or failed it (a bad query, a time limit).
    """

    ok: bool
    text: str
    value: Any = None
    well_formed: bool = True
    arguments: Mapping[str, Any] | None = None


_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "number": (int, float),
                                        "integer": (int,), "boolean": (bool,)}


def _coerce(name: str, spec: Mapping[str, Any], value: Any) -> Any:
    kind = spec.get("type", "string")
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) and kind != "boolean" or not isinstance(value, _TYPES[kind]):
        raise ToolCallError(f"Argument {name!r} must be {'an' if kind[0] in 'ai' else 'a'} "
                            f"{kind}, got {json.dumps(value)[:60]}.")
    if kind == "number" and not math.isfinite(value):
        raise ToolCallError(f"Argument {name!r} must be a finite number.")
    if "enum" in spec and value not in spec["enum"]:
        raise ToolCallError(f"Argument {name!r} must be one of {list(spec['enum'])}, got "
                            f"{value!r}.")
    if "minimum" in spec and value < spec["minimum"] or "maximum" in spec and value > spec[
            "maximum"]:
        raise ToolCallError(f"Argument {name!r} must lie between {spec.get('minimum')} and "
                            f"{spec.get('maximum')}, got {value!r}.")
    return value


def check_arguments(tool: Tool, call: Call) -> dict[str, Any]:
    """The call's arguments, named, checked against ``tool``'s schema, defaults filled in.

    Raises:
        ToolCallError: Too many, unknown, missing or mistyped arguments (message for the agent).
    """
    properties: Mapping[str, Any] = tool.parameters.get("properties", {})
    order = list(properties)
    if len(call.positional) > len(order):
        raise ToolCallError(f"{tool.name} takes {len(order)} argument(s) ({', '.join(order)}), "
                            f"got {len(call.positional)} positional ones.")
    given = dict(zip(order, call.positional))
    for key, value in call.arguments.items():
        if key not in properties:
            near = closest(key, order)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ToolCallError(f"{tool.name} has no argument {key!r}.{hint} Its arguments: "
                                f"{', '.join(order)}.")
        if key in given:
            raise ToolCallError(f"Argument {key!r} of {tool.name} is given twice.")
        given[key] = value
    out = {}
    for key in order:
        if key in given:
            out[key] = _coerce(key, properties[key], given[key])
        elif key in tool.parameters.get("required", ()):
            raise ToolCallError(f"{tool.name} needs the argument {key!r}.")
        elif "default" in properties[key]:
            out[key] = properties[key]["default"]
    return out


class ToolRuntime:
    """Runs calls of a set of tools within limits.

    Args:
        tools: The tools, by their names (unique).
        limits: Per-call limits; the output limit is applied here, the others by the tools.
    """

    def __init__(self, tools: Sequence[Tool], *, limits: ToolLimits | None = None) -> None:
        self.tools = {t.name: t for t in tools}
        if len(self.tools) != len(tools):
            raise AgentGymError(f"Tool names must be unique, got {[t.name for t in tools]}.")
        self.limits = limits or ToolLimits()

    def schemas(self) -> list[dict[str, Any]]:
        """Every tool in OpenAI's function-calling format."""
        return [t.schema() for t in self.tools.values()]

    def call(self, call: Call) -> CallResult:
        """Check and run one call; errors come back in the result, never raised."""
        tool = self.tools.get(call.tool)
        if tool is None:
            near = closest(call.tool, self.tools)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            return CallResult(False, f"There is no tool {call.tool!r}.{hint} Tools: "
                                     f"{', '.join(self.tools)}.", well_formed=False)
        try:
            arguments = check_arguments(tool, call)
        except ToolCallError as exc:
            return CallResult(False, str(exc), well_formed=False)
        try:
            with fenced():
                text, value = tool.run(**arguments)
        except ToolCallError as exc:
            return CallResult(False, str(exc), arguments=arguments)
        except PermissionError as exc:
            return CallResult(False, f"{tool.name} was stopped: {exc}.", arguments=arguments)
        except (RecursionError, MemoryError, OverflowError, ValueError, ArithmeticError) as exc:
            return CallResult(False, f"{tool.name} failed: {type(exc).__name__}: {exc}",
                              arguments=arguments)
        return CallResult(True, clip_output(text, self.limits.max_output_chars), value,
                          arguments=arguments)
