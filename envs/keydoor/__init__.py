"""Key-and-door maze: a small, fast, deterministic text environment with an oracle."""

from agentgym.envs.keydoor.env import KeyDoorEnv
from agentgym.envs.keydoor.task import KeyDoorTask

__all__ = ["KeyDoorEnv", "KeyDoorTask"]
