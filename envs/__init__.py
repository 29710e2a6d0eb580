"""Built-in environments, registered with gymnasium under the ``agentgym/`` namespace.

Importing this package registers them; entry points are strings, so nothing heavy is imported
until an environment is made.
"""

from __future__ import annotations

import gymnasium as gym

__all__ = ["BUILTIN"]

BUILTIN: dict[str, dict] = {
    "agentgym/KeyDoor-v0": {
        "entry_point": "agentgym.envs.keydoor.env:KeyDoorEnv",
        "max_episode_steps": 50,
    },
    "agentgym/TextWorld-v0": {
        "entry_point": "agentgym.envs.textworld.env:TextWorldEnv",
        "max_episode_steps": 100,
    },
    "agentgym/ALFWorld-v0": {
        "entry_point": "agentgym.envs.alfworld.env:ALFWorldEnv",
        "max_episode_steps": 50,
    },
    "agentgym/Household-v0": {
        "entry_point": "agentgym.envs.household.env:HouseholdEnv",
        "max_episode_steps": 50,
    },
    "agentgym/WebShop-v0": {
        "entry_point": "agentgym.envs.web.env:WebShopEnv",
        "max_episode_steps": 30,
    },
    "agentgym/ToolUse-v0": {
        "entry_point": "agentgym.envs.tools.env:ToolUseEnv",
        "max_episode_steps": 12,
    },
}

for _id, _kw in BUILTIN.items():
    if _id not in gym.registry:
        gym.register(id=_id, **_kw)
