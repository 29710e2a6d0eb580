"""Step rewarders by name, for configs (``scorer: {name: admissible}``) and the CLI.

``name`` picks an entry; the other keys go to the rewarder's constructor. ``name`` may also be
``package.module:ClassName`` for a rewarder of your own (anything with ``name`` and ``score``).
A learned rewarder saved with ``save(folder)`` comes back with ``{name: agentprm, path: folder}``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from agentgym.config import to_container
from agentgym.errors import ConfigError, UnknownNameError

__all__ = ["REWARDERS", "make_rewarder", "register_rewarder"]

#: name -> "module:Class"; strings so that heavy rewarders (PRMs) load only when used.
REWARDERS: dict[str, str] = {
    "admissible": "agentgym.rewards.grounding:AdmissibleReward",
    "outcome": "agentgym.rewards.base:OutcomeReward",
    "agentprm": "agentgym.rewards.agentprm:AgentPRM",
    "inverseprm": "agentgym.rewards.inverseprm:InversePRM",
    "spa": "agentgym.rewards.spa:SPA",
    "checklist": "agentgym.rewards.checklist:ChecklistReward",
    "checklist_judge": "agentgym.rewards.checklist:PromptedJudge",
    "pav": "agentgym.rewards.pav:PAV",
    "implicit": "agentgym.rewards.implicit:ImplicitPRM",
}
"""Learned rewarders load a saved model with ``path: <folder written by save()>``."""


def register_rewarder(name: str, target: str) -> None:
    """Make ``{name: <name>}`` build ``target`` (``module:Class``)."""
    REWARDERS[name] = target


def make_rewarder(section: Mapping[str, Any], *, field: str = "scorer"):
    """Build a step rewarder from a config section with a ``name`` key."""
    values = dict(to_container(section) or {})
    name = values.pop("name", None)
    if not name:
        raise ConfigError(f"{field}.name", "missing.", f"use one of: {', '.join(REWARDERS)}.")
    target = REWARDERS.get(name) or (name if ":" in name else None)
    if target is None:
        raise UnknownNameError(field, name, REWARDERS,
                               fix="Or give 'package.module:ClassName' for your own rewarder.")
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{field}.name", f"cannot load {target!r}: {exc}.",
                          "give 'package.module:ClassName' of an importable class.") from exc
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(field, f"{name} cannot be built from {sorted(values)}: {exc}.",
                          "give only the keyword arguments its constructor takes.") from exc
