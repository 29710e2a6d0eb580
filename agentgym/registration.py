"""Making and listing environments through gymnasium's own registry.

agentgym adds no registry of its own: environments register with ``gymnasium.register`` under
the ``agentgym/`` namespace (or any namespace of the user's). This module resolves ids (including
gymnasium's ``module:Namespace/Name-v0`` form, which imports ``module`` first so that it can
register), gives close matches for unknown ids, and describes what is registered.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from agentgym.errors import AgentGymError, UnknownEnvError

__all__ = ["make", "spec", "registered_ids", "describe_envs", "EnvInfo", "NAMESPACE"]

NAMESPACE = "agentgym"


def _split_module(env_id: str) -> tuple[str | None, str]:
    if ":" in env_id:
        module, _, name = env_id.partition(":")
        return module, name
    return None, env_id


def spec(env_id: str) -> EnvSpec:
    """Return gymnasium's :class:`EnvSpec` for ``env_id`` (``module:id`` imports ``module``)."""
    import agentgym.envs  # noqa: F401  (registers the built-in environments)

    module, name = _split_module(env_id)
    if module:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise AgentGymError(
                f"Could not import module {module!r} named in env id {env_id!r}: {exc}. "
                "Fix: make the module importable (install it, or run from its folder)."
            ) from exc
    if name not in gym.registry:
        raise UnknownEnvError(name, gym.registry.keys())
    return gym.spec(name)


def make(env_id: str | EnvSpec, **kwargs: Any) -> gym.Env:
    """Make an environment by id, like ``gymnasium.make`` but with agentgym's errors.

    Args:
        env_id: A registered id (``agentgym/KeyDoor-v0``), ``module:id`` for a user env whose
            module registers it on import, or an :class:`EnvSpec`.
        **kwargs: Passed to the environment's constructor (e.g. ``split="test"``).
    """
    env_spec = env_id if isinstance(env_id, EnvSpec) else spec(env_id)
    return gym.make(env_spec, **kwargs)


def registered_ids(namespace: str | None = None) -> list[str]:
    """Sorted ids of registered environments, optionally of one namespace only."""
    import agentgym.envs  # noqa: F401

    ids = sorted(gym.registry)
    if namespace is not None:
        ids = [i for i in ids if gym.registry[i].namespace == namespace]
    return ids


@dataclass(frozen=True)
class EnvInfo:
    """One row of ``agentgym envs``."""

    id: str
    description: str
    max_episode_steps: int | None
    entry_point: str


def _first_line(entry_point: Any) -> str:
    try:
        if isinstance(entry_point, str):
            module, _, attr = entry_point.partition(":")
            target = getattr(importlib.import_module(module), attr)
        else:
            target = entry_point
        doc = inspect.getdoc(target) or ""
    except Exception as exc:  # a broken user env must not break the listing
        return f"(cannot import: {exc})"
    return doc.strip().splitlines()[0] if doc.strip() else ""


def describe_envs(namespace: str | None = NAMESPACE) -> list[EnvInfo]:
    """Registered envs with the first line of their class docstring."""
    rows = []
    for env_id in registered_ids(namespace):
        s = gym.registry[env_id]
        rows.append(
            EnvInfo(
                id=env_id,
                description=_first_line(s.entry_point),
                max_episode_steps=s.max_episode_steps,
                entry_point=str(s.entry_point),
            )
        )
    return rows
