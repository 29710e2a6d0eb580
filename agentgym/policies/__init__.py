"""Policies: the protocol, baselines, and (as extras land) model-backed policies."""

from agentgym.policies.base import (
    OraclePolicy,
    OraclePolicyConfig,
    Policy,
    RandomPolicy,
    RandomPolicyConfig,
)

__all__ = ["Policy", "RandomPolicy", "RandomPolicyConfig", "OraclePolicy", "OraclePolicyConfig"]
