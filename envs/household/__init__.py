"""ALFWorld's household text games, re-implemented for speed (``agentgym/Household-v0``)."""

from agentgym.envs.household.env import HouseholdEnv
from agentgym.envs.household.task import HouseholdTask

__all__ = ["HouseholdEnv", "HouseholdTask"]
