"""Policies by name, for configs and the CLI.

``policy.name`` picks an entry; the other keys of the ``policy`` section go to its config
dataclass. ``policy.name=mypkg.module:MyPolicy`` loads a user policy class, whose keyword
arguments are the remaining keys.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from agentgym.config import build, to_container
from agentgym.errors import ConfigError, UnknownNameError
from agentgym.policies.base import Policy

__all__ = ["POLICIES", "make_policy", "register_policy"]

#: name -> ("module:Class", "module:ConfigClass"); strings so heavy backends load only when used.
POLICIES: dict[str, tuple[str, str]] = {
    "random": ("agentgym.policies.base:RandomPolicy", "agentgym.policies.base:RandomPolicyConfig"),
    "oracle": ("agentgym.policies.base:OraclePolicy", "agentgym.policies.base:OraclePolicyConfig"),
    "hf": ("agentgym.policies.hf:HFPolicy", "agentgym.policies.hf:HFPolicyConfig"),
    "vllm": ("agentgym.policies.vllm:VLLMPolicy", "agentgym.policies.vllm:VLLMPolicyConfig"),
    "household_demonstrator": (
        "agentgym.envs.household.demonstrator:HouseholdDemonstrator",
        "agentgym.envs.household.demonstrator:HouseholdDemonstratorConfig",
    ),
    "best_of_n": (
        "agentgym.policies.best_of_n:best_of_n",
        "agentgym.policies.best_of_n:BestOfNConfig",
    ),
    "noisy": ("agentgym.policies.noisy:noisy_expert", "agentgym.policies.noisy:NoisyExpertConfig"),
    "openai": (
        "agentgym.policies.openai:OpenAIPolicy",
        "agentgym.policies.openai:OpenAIPolicyConfig",
    ),
    "ray": (
        "agentgym.policies.ray_policy:RayPolicy",
        "agentgym.policies.ray_policy:RayPolicyConfig",
    ),
}


def register_policy(name: str, policy: str, config: str) -> None:
    """Make ``policy.name=<name>`` build ``policy`` (``module:Class``) from ``config``."""
    POLICIES[name] = (policy, config)


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            "policy.name",
            f"cannot load {target!r}: {exc}.",
            "give 'package.module:ClassName' of an importable class.",
        ) from exc


def make_policy(section: Mapping[str, Any]) -> Policy:
    """Build a policy from a config section with a ``name`` key."""
    values = dict(to_container(section) or {})
    name = values.pop("name", None)
    if not name:
        raise ConfigError("policy.name", "missing.", f"use one of: {', '.join(POLICIES)}.")
    if ":" in name and name not in POLICIES:
        cls = _load(name)
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(
                "policy", f"{name} cannot be built from {sorted(values)}: {exc}.",
                "give only the keyword arguments its constructor takes.",
            ) from exc
    if name not in POLICIES:
        raise UnknownNameError(
            "policy", name, POLICIES, fix="Or give 'package.module:ClassName' for your own policy."
        )
    policy_path, config_path = POLICIES[name]
    config = build(_load(config_path), values, "policy")
    kwargs = {f: getattr(config, f) for f in config.__dataclass_fields__}
    return _load(policy_path)(**kwargs)
