"""agentgym: a gym for training LLM agents with reinforcement learning on step-level rewards.

Importing ``agentgym`` registers the built-in environments with gymnasium (``agentgym/...`` ids).
Heavy dependencies (torch, transformers, browsers) load only when a component that needs them is
used.
"""

from __future__ import annotations

from agentgym.env import TextEnv
from agentgym.errors import AgentGymError, ConfigError, UnknownEnvError
from agentgym.policies import OraclePolicy, Policy, RandomPolicy
from agentgym.prompts import ReActFormat
from agentgym.registration import describe_envs, make, registered_ids
from agentgym.rollout import RolloutConfig, RolloutEngine, rollout
from agentgym.spaces import TextList, Unicode
from agentgym.task import Outcome, Task, TaskSpec, Verdict
from agentgym.types import ActionOutput, AgentInput, Step, Trajectory, Turn

import agentgym.envs  # noqa: E402,F401  (registers the built-in environments)

__version__ = "0.1.0"

__all__ = [
    "ActionOutput",
    "AgentGymError",
    "AgentInput",
    "ConfigError",
    "OraclePolicy",
    "Outcome",
    "Policy",
    "RandomPolicy",
    "ReActFormat",
    "RolloutConfig",
    "RolloutEngine",
    "Step",
    "Task",
    "TaskSpec",
    "TextEnv",
    "TextList",
    "Trajectory",
    "Turn",
    "Unicode",
    "UnknownEnvError",
    "Verdict",
    "describe_envs",
    "make",
    "registered_ids",
    "rollout",
]
