"""ALFWorld's own games in agentgym's contract (``agentgym/ALFWorld-v0``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym

from agentgym.env import normalize_action
from agentgym.envs.alfworld.data import SPLITS, data_root, find_games
from agentgym.errors import ConfigError, closest
from agentgym.spaces import MAX_TEXT, Unicode, observation_space

__all__ = ["ALFWorldEnv"]

_TASK_LINE = re.compile(r"Your task is to: (.*)")
NOTHING_HAPPENS = "Nothing happens."


class ALFWorldEnv(gym.Env[dict, str]):
    """ALFWorld's household games played by ALFWorld's own engine (TextWorld + PDDL).

    ## Description
    Wraps the ``game.tw-pddl`` files of ALFWorld's data set (``$ALFWORLD_DATA`` or ``data_dir``)
    in agentgym's contract. The engine is ALFWorld's, so observations and admissible commands are
    exactly ALFWorld's; it is slow (a few to a few tens of steps per second, seconds per new
    game). ``agentgym/Household-v0`` plays the same way much faster (see the fidelity test).

    ## Observation
    ``Dict(text, goal, admissible_actions, last_action_error)``; ``goal`` is the sentence after
    ``Your task is to:``.

    ## Action
    One of ALFWorld's commands, matched exactly as ALFWorld does; anything else answers
    ``Nothing happens.`` with ``valid_action=False``.

    ## Rewards
    ``success``: 1.0 when the goal is reached.

    ## Episode end
    Terminated on success; truncated by ``max_episode_steps`` (50 when registered).

    ## Arguments
    ``split`` (``train``, ``valid_seen``, ``valid_unseen``), ``data_dir`` (default
    ``$ALFWORLD_DATA``), ``expert`` (``planner``: fast-downward's plan as ``expert_action``, or
    ``none``). ``reset(seed=k)`` plays game ``k mod n`` of the split (sorted paths);
    ``reset(options={"game": PATH})`` plays a given file.

    ## Version history
    * v0: initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    splits: ClassVar[tuple[str, ...]] = SPLITS

    def __init__(
        self,
        *,
        split: str = "valid_seen",
        data_dir: str | None = None,
        expert: str = "planner",
        render_mode: str | None = None,
    ) -> None:
        if split not in SPLITS:
            near = closest(split, SPLITS)
            raise ConfigError("env.kwargs.split", f"{split!r} is not an ALFWorld split"
                              + (f" (did you mean {near[0]!r}?)." if near else "."),
                              f"use one of {list(SPLITS)}.")
        if expert not in ("planner", "none"):
            raise ConfigError("env.kwargs.expert", f"{expert!r} is not allowed.", "planner or none.")
        self.split, self.expert, self.render_mode = split, expert, render_mode
        self.root = data_root(data_dir)
        self.games = find_games(split, self.root)
        self.observation_space = observation_space()
        self.action_space = Unicode(MAX_TEXT)
        self._engine: Any = None
        self._game: Path | None = None
        self._obs: dict[str, Any] | None = None
        self._plan: list[str] | None = None
        self._done = False
        self._steps = 0

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        game = Path((options or {}).get("game") or self._pick(seed))
        self._load(game)
        text, admissible, _ = self._engine.reset()
        self._done, self._steps, self._plan = False, 0, None
        match = _TASK_LINE.search(text)
        self._goal = match.group(1).strip() if match else ""
        obs = self._observation(text, admissible, "")
        return obs, self._info(valid=True, success=0.0, won=False)

    def step(self, action: Any):
        if self._engine is None or self._obs is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if self._done:
            obs = self._observation(self._obs["text"], [], "The episode is over; call reset().")
            return obs, 0.0, True, False, self._info(valid=False, success=0.0, won=True)
        self._steps += 1
        cleaned, error = normalize_action(action)
        if error:
            text, admissible, won, valid = NOTHING_HAPPENS, list(self._obs["admissible_actions"]), False, False
        else:
            text, admissible, won, info = self._engine.step(cleaned)
            valid = bool(info["valid"])
            if not valid:
                error = f"{cleaned!r} is not an admissible command here; ALFWorld matches exactly."
            self._advance_plan(cleaned, valid)
        self._done = won
        obs = self._observation(text, [] if won else admissible, error)
        reward = 1.0 if won else 0.0
        return obs, reward, won, False, self._info(valid=valid, success=reward, won=won)

    def render(self) -> str | None:
        return None if self._obs is None else f"Goal: {self._goal}\n{self._obs['text']}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    # -- helpers -------------------------------------------------------------------------------

    def _pick(self, seed: int | None) -> Path:
        index = seed if seed is not None else int(self.np_random.integers(len(self.games)))
        return self.games[index % len(self.games)]

    def _load(self, game: Path) -> None:
        if game == self._game and self._engine is not None:
            return
        from agentgym.envs.household.alfworld_engine import AlfworldEngine

        data = json.loads(game.read_text())
        keep = {"task": "UNKNOWN GOAL", "domain": data["pddl_domain"], "grammar": data["grammar"]}
        if self._engine is None:
            self._engine = AlfworldEngine(data["pddl_problem"], **keep)
        else:
            self._engine.load(data["pddl_problem"], **keep)
        self._game = game
        meta = game.parent / "traj_data.json"
        self._task_type = json.loads(meta.read_text()).get("task_type", "") if meta.exists() else ""

    def _advance_plan(self, action: str, valid: bool) -> None:
        if self._plan and valid and self._plan[0] == action:
            self._plan.pop(0)
        elif valid:
            self._plan = None  # off the plan: re-plan when next asked

    def _expert_action(self) -> str | None:
        if self.expert == "none" or self._done:
            return None
        if self._plan is None:
            self._plan = self._engine.planner_plan()
        return self._plan[0] if self._plan else None

    def _observation(self, text: str, admissible: list[str], error: str) -> dict[str, Any]:
        self._obs = {
            "text": text[:MAX_TEXT],
            "goal": self._goal[:MAX_TEXT],
            "admissible_actions": tuple(admissible),
            "last_action_error": error[:MAX_TEXT],
        }
        return dict(self._obs)

    def _info(self, *, valid: bool, success: float, won: bool) -> dict[str, Any]:
        task_id = os.path.relpath(self._game.parent, self.root) if self._game else ""
        info: dict[str, Any] = {
            "won": won,
            "lost": False,
            "valid_action": valid,
            "reward_terms": {"success": success},
            "task": {"id": task_id, "type": self._task_type, "split": self.split},
            "step": self._steps,
        }
        expert = self._expert_action()
        if expert is not None:
            info["expert_action"] = expert
        return info
