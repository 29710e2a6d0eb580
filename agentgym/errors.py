"""Typed errors raised by agentgym.

Every user-facing error says what was expected, what was given, and how to fix it. Unknown names
come with the closest known names (``did you mean``). Bad *agent* output never raises: it becomes an
observation (see :class:`agentgym.TextEnv`); these errors are for programmer and config mistakes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AgentGymError",
    "ConfigError",
    "UnknownEnvError",
    "UnknownNameError",
    "SchemaError",
    "WorkerError",
    "EnvCrashedError",
    "MissingExtraError",
    "require",
    "closest",
]


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``choices`` that look like ``name``, best first."""
    choices = list(choices)
    found = difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    if not found:
        lowered = {c.lower(): c for c in choices}
        found = [lowered[c] for c in difflib.get_close_matches(name.lower(), lowered, n=n, cutoff=0.5)]
    if not found:
        found = [c for c in choices if name.lower() in c.lower()][:n]
    return found


def _suggestion(name: str, choices: Iterable[str]) -> str:
    matches = closest(name, choices)
    return f" Did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""


class AgentGymError(Exception):
    """Base class of every error agentgym raises on purpose."""


class UnknownNameError(AgentGymError, KeyError):
    """A name (policy, rewarder, suite, ...) that is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, fix: str = "") -> None:
        known = sorted(known)
        self.kind, self.name, self.known = kind, name, known
        listing = ", ".join(known) if len(known) <= 20 else ", ".join(known[:20]) + ", ..."
        message = f"Unknown {kind} {name!r}.{_suggestion(name, known)} Known: {listing or '(none)'}."
        if fix:
            message += f" {fix}"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


class UnknownEnvError(UnknownNameError):
    """An environment id that gymnasium does not know."""

    def __init__(self, env_id: str, known: Iterable[str]) -> None:
        known = list(known)
        self.all_ids = known
        # Suggest from every id, but list only namespaced ones (agentgym/..., user envs):
        # gymnasium's control and Atari ids would bury them.
        listed = [k for k in known if "/" in k] or known
        near = closest(env_id, known)
        super().__init__(
            "environment id",
            env_id,
            sorted(set(listed) | set(near)),
            fix=(
                "Run `agentgym envs` for the list. A user env is used as 'module:Namespace/Name-v0' "
                "so that its module is imported (and registers it) first."
            ),
        )


class ConfigError(AgentGymError, ValueError):
    """A config field with a bad name or value.

    Args:
        field: Dotted path of the field, e.g. ``policy.temperature``.
        problem: What is wrong with the given value.
        fix: What to write instead.
    """

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        message = f"Config field '{field}': {problem}"
        if fix:
            message += f" Fix: {fix}"
        super().__init__(message)

    @classmethod
    def unknown_key(cls, section: str, key: str, allowed: Iterable[str]) -> ConfigError:
        """A key that the config section does not have."""
        allowed = sorted(allowed)
        field = f"{section}.{key}" if section else key
        return cls(
            field,
            f"no such field.{_suggestion(key, allowed)}",
            f"use one of: {', '.join(allowed)}.",
        )


class SchemaError(AgentGymError, ValueError):
    """Stored trajectories whose schema this version cannot read."""


class WorkerError(AgentGymError, RuntimeError):
    """An environment worker process failed; the message carries its traceback."""


class EnvCrashedError(AgentGymError, RuntimeError):
    """What an env raises when the engine behind it died mid-episode (a crashed browser, a
    killed game process): the episode cannot go on, but a reset can start a new one. The
    rollout engines run such an episode again from its seed, like one whose worker died."""


class MissingExtraError(AgentGymError, ImportError):
    """An optional dependency (an extra such as ``web`` or ``alfworld``) is not installed."""

    def __init__(
        self, feature: str, extra: str, missing: Iterable[str], *, fix: str = ""
    ) -> None:
        self.extra = extra
        fix = fix or (f"`pip install 'agentgym[{extra}]'` (or `make test`, which installs "
                      "every extra).")
        super().__init__(
            f"{feature} needs {', '.join(missing)}, which cannot be imported. Fix: {fix}"
        )


def require(feature: str, extra: str, modules: Iterable[str]) -> None:
    """Raise :class:`MissingExtraError` unless every module in ``modules`` can be imported."""
    from importlib.util import find_spec

    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        raise MissingExtraError(feature, extra, missing)
