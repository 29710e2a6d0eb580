"""ALFWorld game files: finding them, and writing household tasks in their layout.

ALFWorld keeps one ``game.tw-pddl`` per trial under
``$ALFWORLD_DATA/json_2.1.1/<split>/<task folder>/<trial>/``. :func:`find_games` lists them;
:func:`export_household_games` writes agentgym household tasks in the same layout, so ALFWorld's
own tooling (and ``agentgym/ALFWorld-v0``) can play them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from agentgym.errors import AgentGymError

__all__ = ["SPLITS", "data_root", "find_games", "export_household_games"]

SPLITS = ("train", "valid_seen", "valid_unseen")
JSON_DIR = "json_2.1.1"


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``data_dir``, else ``$ALFWORLD_DATA``, else ALFWorld's default ``~/.cache/alfworld``."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get("ALFWORLD_DATA") or Path.home() / ".cache" / "alfworld")


def find_games(split: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Sorted ``game.tw-pddl`` files of one split.

    Raises:
        AgentGymError: No games there, with where it looked and how to get them.
    """
    root = data_root(data_dir)
    folder = root / JSON_DIR / split
    games = sorted(folder.rglob("game.tw-pddl")) if folder.is_dir() else []
    if not games:
        raise AgentGymError(
            f"No ALFWorld games (game.tw-pddl) found under {folder}. Fix: download ALFWorld's data "
            "(`alfworld-download`) and set ALFWORLD_DATA to its folder, pass data_dir=..., or "
            "write household tasks in ALFWorld's layout with "
            "agentgym.envs.alfworld.export_household_games(DIR)."
        )
    return games


def export_household_games(
    out_dir: str | os.PathLike[str],
    *,
    per_split: int = 10,
    splits: Iterable[str] = SPLITS,
    max_receptacles: int | None = None,
    max_objects: int | None = None,
) -> list[Path]:
    """Write household tasks as ALFWorld game files (``json_2.1.1/<split>/.../game.tw-pddl``).

    Each trial folder also gets a ``traj_data.json`` with the task type and the task sentence.
    Existing files are kept, so a second call is cheap.

    Args:
        out_dir: The data root to write (use it as ``ALFWORLD_DATA`` or ``data_dir``).
        per_split: Tasks per split (the first ones of each household split).
        splits: Which splits.
        max_receptacles: Household knob: smaller scenes load faster in ALFWorld's engine.
        max_objects: Household knob, likewise.
    """
    from agentgym.envs.household.alfworld_engine import build_game_data
    from agentgym.envs.household.catalog import split_size, task_def
    from agentgym.envs.household.pddl import export_problem
    from agentgym.envs.household.task import build_engine
    from agentgym.envs.household.world import SceneKnobs

    knobs = SceneKnobs(max_receptacles=max_receptacles, max_objects=max_objects)
    written = []
    for split in splits:
        for index in range(min(per_split, split_size(split))):
            engine, state = build_engine(task_def(split, index), knobs)
            kind = engine.goal.task_type
            trial = Path(out_dir) / JSON_DIR / split / f"{kind}-household-{index:05d}" / "trial_0"
            game = trial / "game.tw-pddl"
            if not game.exists():
                trial.mkdir(parents=True, exist_ok=True)
                data = build_game_data(export_problem(state), task=engine.goal.text)
                game.write_text(json.dumps(data))
                meta = {"task_type": kind, "task": engine.goal.text, "source": "agentgym household"}
                (trial / "traj_data.json").write_text(json.dumps(meta, indent=1))
            written.append(game)
    return written
