"""ALFWorld's own games (``agentgym/ALFWorld-v0``), and household tasks written as ALFWorld games."""

from agentgym.envs.alfworld.data import SPLITS, data_root, export_household_games, find_games

__all__ = ["SPLITS", "data_root", "export_household_games", "find_games"]
