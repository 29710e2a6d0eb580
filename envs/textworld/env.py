"""Gymnasium environment of real TextWorld games: ``agentgym/TextWorld-v0``.

:class:`TextWorldTask` drives one live TextWorld game (Inform 7 ``.z8`` run by Jericho, with
TextWorld's state tracker beside it); :class:`TextWorldEnv` is the :class:`~agentgym.TextEnv`
around it. The task's *state* is an immutable snapshot of the game after each command
(:class:`GameSnapshot`). A snapshot is a record, not a handle: the game itself cannot be rewound,
so :meth:`TextWorldTask.apply` accepts only the current snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.env import TextEnv
from agentgym.envs.textworld.games import (
    CHALLENGES,
    GameSpec,
    ensure_games,
    game_spec,
    require_textworld,
)
from agentgym.errors import ConfigError, UnknownNameError
from agentgym.task import Outcome, Task, TaskSpec, Verdict

__all__ = [
    "MAX_COMMAND_CHARS",
    "SPLIT_SEEDS",
    "GameSnapshot",
    "TextWorldEnv",
    "TextWorldTask",
    "start_game",
]

log = logging.getLogger(__name__)

SPLIT_SEEDS: dict[str, int] = {"train": 0, "valid": 1_000_000, "test": 2_000_000}
"""First generation seed of each split's games: split ``s`` plays seeds
``SPLIT_SEEDS[s] + range(num_games)``, so the splits never share a game."""

MAX_COMMAND_CHARS = 198
"""Jericho's input buffer: longer commands would be cut, so they are refused instead."""

# Commands that would desynchronise the interpreter from TextWorld's state tracker (restart,
# restore, undo), end the process's game (quit), write files (save, script) or reach TextWorld's
# own debug hooks (tw-*). They are refused before they reach the game.
_BLOCKED_WORDS = frozenset({
    "restart", "restore", "save", "undo", "quit", "q", "script", "unscript", "transcript",
    "noscript",
})
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")
# What the env asks TextWorld for (``moves`` counts the actions its state tracker recognised).
_ENV_INFOS: dict[str, bool] = {
    name: True
    for name in ("admissible_commands", "policy_commands", "intermediate_reward", "won", "lost",
                 "score", "max_score", "objective", "description", "inventory", "moves")
}
_FALLBACK_GOAL = "Explore the game and win it."
# tw-cooking and tw-simple have their own held-out objects for evaluation; use them.
_CHALLENGE_SPLIT_OPTION = {
    "tw-cooking": lambda split: {"split": split},
    "tw-simple": lambda split: {"test": split == "test"},
}


@dataclass(frozen=True)
class GameSnapshot:
    """The game after a command (the task's state).

    Attributes:
        episode: Which episode of the task (a snapshot of an earlier one cannot be played on).
        text: What the game printed.
        score: Game score so far; ``max_score``: the most there is.
        moves: Actions TextWorld's state tracker recognised so far.
        won: The quest is done; ``lost``: the game is lost.
        admissible: Commands that make sense now (TextWorld's ``admissible_commands``).
        policy: The walkthrough from here (TextWorld's ``policy_commands``).
        intermediate: TextWorld's intermediate reward of the last command (+1 the command brought
            the goal closer, -1 farther, 0 neither).
        description: The room description; ``inventory``: what the player carries.
    """

    episode: int
    text: str
    score: int
    max_score: int
    moves: int
    won: bool
    lost: bool
    admissible: tuple[str, ...]
    policy: tuple[str, ...]
    intermediate: float = 0.0
    description: str = ""
    inventory: str = ""
    _admissible_keys: frozenset = field(default=frozenset(), repr=False, compare=False)


def _command_key(command: str) -> str:
    return " ".join(command.lower().rstrip(".!").split())


def _snapshot(state: Any, episode: int) -> GameSnapshot:
    admissible = tuple(state.get("admissible_commands") or ())
    return GameSnapshot(
        episode=episode,
        text=str(state.get("feedback") or "").strip(),
        score=int(state.get("score") or 0),
        max_score=int(state.get("max_score") or 0),
        moves=int(state.get("moves") or 0),
        won=bool(state.get("won")),
        lost=bool(state.get("lost")),
        admissible=admissible,
        policy=tuple(state.get("policy_commands") or ()),
        intermediate=float(state.get("intermediate_reward") or 0.0),
        description=str(state.get("description") or "").strip(),
        inventory=str(state.get("inventory") or "").strip(),
        _admissible_keys=frozenset(_command_key(c) for c in admissible),
    )


def start_game(path: str | Path, *, description_and_inventory: bool = True) -> Any:
    """``textworld.start`` on a generated game with the infos this env reads.

    ``description_and_inventory=False`` leaves out the room description and the inventory (the
    game then prints neither on every turn: steps are another ~1.5x faster).

    TextWorld's ``Inform7Data`` layer reads the room description and the inventory from tags the
    game prints every turn; the Jericho layer underneath would *also* fetch them by stepping
    ``look`` and ``inventory`` and restoring the interpreter after every command, which makes a
    step 1.5-2.5x slower for identical results. So the Jericho layer gets its own, smaller
    ``EnvInfos`` (attribute lookups of the layers above it stop at ``Inform7Data``). Where the
    wrapper stack is not the expected one, the game runs unpatched.
    """
    textworld = require_textworld()
    from textworld.envs.wrappers.tw_inform7 import Inform7Data

    wanted = dict(_ENV_INFOS)
    if not description_and_inventory:
        wanted.update(description=False, inventory=False)
    full = textworld.EnvInfos(**wanted)
    with _quiet():  # "not fully supported" for some games: TextWorld's tracker does the work
        env = textworld.start(str(path), request_infos=full)
    layer = env
    while layer is not None and not isinstance(layer, Inform7Data):
        layer = getattr(layer, "_wrapped_env", None)
    if layer is not None and type(env.unwrapped).__name__ == "JerichoEnv":
        layer.request_infos = full
        env.unwrapped.request_infos = textworld.EnvInfos(
            **{**wanted, "description": False, "inventory": False, "admissible_commands": False}
        )
    return env


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Jericho warns on every step that it cannot list valid actions (TextWorld does that)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"jericho(\.|$)")
        yield


def _game_files(game: str | Sequence[str]) -> list[Path]:
    items = [game] if isinstance(game, (str, Path)) else list(game)
    files: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".z8", ".ulx"))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(
                "env.kwargs.game", f"{str(path)!r} is neither a game file nor a folder.",
                "give a .z8 file generated by TextWorld, a folder of them, or a list.",
            )
    if not files:
        raise ConfigError("env.kwargs.game", f"no .z8 games in {items}.",
                          "generate some: python -m agentgym.envs.textworld.games --help.")
    for path in files:
        if path.suffix == ".ulx":
            raise ConfigError(
                "env.kwargs.game", f"{path.name}: Glulx (.ulx) games need TextWorld < 1.7.",
                "regenerate the game as .z8 (tw-make or agentgym's games module).",
            )
        if not path.with_suffix(".json").is_file():
            raise ConfigError("env.kwargs.game", f"{path.name} has no {path.stem}.json beside it.",
                              "keep the .json that TextWorld wrote with the game (rewards, "
                              "walkthrough and admissible commands come from it).")
    return files


class TextWorldTask(Task[GameSnapshot]):
    """Win a TextWorld game: follow its objective through the parser's commands.

    Games come from ``game`` (files) or are generated from ``challenge`` and ``options`` (cached
    on disk; see :mod:`agentgym.envs.textworld.games`). Each split has its own ``num_games`` game
    seeds. :meth:`setup` plays the game named by :meth:`choose` (the env passes the reset seed),
    or else one drawn with the episode's ``rng``; the first time, it generates the split's missing
    games (in parallel worker processes).

    Args:
        split: ``train``, ``valid`` or ``test``: disjoint game seeds (and, for ``tw-cooking``
            and ``tw-simple``, the challenge's own held-out objects).
        game: A ``.z8`` path (its ``.json`` beside it), a folder of them or a list; overrides
            ``challenge``. ``split`` is then only a label.
        challenge: ``tw-simple``, ``tw-cooking``, ``tw-treasure_hunter``, ``tw-coin_collector`` or
            ``custom``.
        options: The challenge's settings, e.g. ``{"recipe": 2, "take": 1}`` or, for ``custom``,
            ``{"world_size": 3, "nb_objects": 5, "quest_length": 3}``.
        num_games: Games per split.
        game_seed: Play only the game of this generation seed instead of the split's seeds.
        cache_dir: Game cache (default ``$AGENTGYM_CACHE/textworld``, else
            ``~/.cache/agentgym/textworld``).
        intermediate_weight: Weight of TextWorld's intermediate reward term.
        description_and_inventory: Report the room description and the inventory in ``info``
            every step; ``False`` makes steps about 1.5x faster.
        max_loaded: Games kept loaded at once (switching back to one of them skips reloading).
    """

    def __init__(
        self,
        *,
        split: str = "train",
        game: str | Sequence[str] | None = None,
        challenge: str = "tw-simple",
        options: Mapping[str, Any] | None = None,
        num_games: int = 20,
        game_seed: int | None = None,
        cache_dir: str | None = None,
        intermediate_weight: float = 0.1,
        description_and_inventory: bool = True,
        max_loaded: int = 4,
    ) -> None:
        super().__init__(split=split)
        if not 1 <= num_games <= 1_000_000:
            raise ConfigError("env.kwargs.num_games", f"must be in [1, 1000000], got {num_games}.")
        if max_loaded < 1:
            raise ConfigError("env.kwargs.max_loaded", f"must be >= 1, got {max_loaded}.")
        self.intermediate_weight = float(intermediate_weight)
        self.description_and_inventory = bool(description_and_inventory)
        self.max_loaded = max_loaded
        self.cache_dir = cache_dir
        self._files: list[Path] | None = None
        self.game_specs: list[GameSpec] = []
        if game is not None:
            self._files = _game_files(game)
            self.challenge = ""
        else:
            if challenge not in CHALLENGES:
                raise UnknownNameError("TextWorld challenge", challenge, CHALLENGES)
            self.challenge = challenge
            settings = {**_CHALLENGE_SPLIT_OPTION.get(challenge, lambda s: {})(split),
                        **dict(options or {})}
            seeds = [game_seed] if game_seed is not None else [
                SPLIT_SEEDS[split] + i for i in range(num_games)]
            self.game_specs = [game_spec(challenge, s, settings) for s in seeds]
        self._envs: OrderedDict[Path, Any] = OrderedDict()
        self._env: Any = None
        self._current: GameSnapshot | None = None
        self._episode = 0
        self._chosen: int | None = None

    # -- games -------------------------------------------------------------------------------

    def games(self) -> list[Path]:
        """The split's game files, generating the ones not cached yet."""
        if self._files is None:
            self._files = ensure_games(self.game_specs, cache_dir=self.cache_dir)
        return self._files

    def _load(self, path: Path) -> Any:
        env = self._envs.pop(path, None)
        if env is None:
            env = start_game(path, description_and_inventory=self.description_and_inventory)
            while len(self._envs) >= self.max_loaded:
                self._envs.popitem(last=False)[1].close()
        self._envs[path] = env  # most recently used last
        return env

    def close(self) -> None:
        """Close every loaded game."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        self._env = self._current = None

    # -- Task --------------------------------------------------------------------------------

    def choose(self, game: int | str | None) -> None:
        """Name the game of the next episode.

        Args:
            game: An index into :meth:`games` (taken modulo their number), a game id (file stem),
                or ``None``: :meth:`setup` then draws one with its ``rng``.
        """
        if isinstance(game, str):
            stems = [p.stem for p in self.games()]
            if game not in stems:
                raise UnknownNameError("TextWorld game", game, stems)
            game = stems.index(game)
        elif isinstance(game, bool) or not isinstance(game, int | np.integer | None):
            raise ConfigError("reset options.game", f"expected an int or a game id, got {game!r}.")
        self._chosen = None if game is None else int(game)

    def setup(self, rng: np.random.Generator) -> TaskSpec[GameSnapshot]:
        files = self.games()
        chosen, self._chosen = self._chosen, None
        path = files[chosen % len(files) if chosen is not None else int(rng.integers(len(files)))]
        self._env = self._load(path)
        self._episode += 1
        with _quiet():
            self._current = _snapshot(self._env.reset(), self._episode)
        objective = str(self._env.state.get("objective") or "").strip()
        stem = path.stem
        known = (c for c in CHALLENGES if stem.startswith(c + "-"))
        kind = self.challenge or next(known, "textworld")
        return TaskSpec(
            goal=objective or _FALLBACK_GOAL,
            state=self._current,
            text=self._current.text,
            task_id=stem,
            task_type=kind,
        )

    def admissible(self, state: GameSnapshot) -> list[str]:
        return list(state.admissible)

    def apply(self, state: GameSnapshot, action: str) -> Outcome[GameSnapshot]:
        if state is not self._current:
            raise RuntimeError(
                "TextWorldTask plays one live game: apply() takes only its current state, "
                "not an earlier snapshot (TextWorld games cannot be rewound)."
            )
        refusal = self._refusal(action)
        if refusal:
            return Outcome(state=state, text="Nothing happens.", valid=False, error=refusal)
        try:
            with _quiet():
                game_state, _, _ = self._env.step(action)
            after = _snapshot(game_state, state.episode)
        except Exception as exc:  # the interpreter choked on input; the game goes on unchanged
            log.warning("TextWorld failed on %r: %s", action, exc)
            return Outcome(state=state, text="Nothing happens.", valid=False,
                           error=f"The game could not read {action!r}. Use an admissible command.")
        self._current = after
        # Valid: listed as admissible, or TextWorld's tracker saw the game carry out an action
        # (e.g. "x box" for "examine box").
        valid = _command_key(action) in state._admissible_keys or after.moves > state.moves
        error = "" if valid else (
            f"The game did not carry out {action!r}: {after.text or 'nothing happened.'}")
        return Outcome(state=after, text=after.text, valid=valid, error=error)

    @staticmethod
    def _refusal(action: str) -> str:
        if not action.isascii() or not action.isprintable():
            return "TextWorld's parser reads plain ASCII commands, e.g. 'open door' or 'go east'."
        if len(action) > MAX_COMMAND_CHARS:
            return (f"The command is {len(action)} characters long; the game reads at most "
                    f"{MAX_COMMAND_CHARS}. Send one short command.")
        words = _WORD.findall(action.lower())
        blocked = [w for w in words if w in _BLOCKED_WORDS or w.startswith("tw-")]
        if blocked:
            return (f"{blocked[0]!r} is not available here (meta and debug commands are off). "
                    "Use one of the admissible commands.")
        return ""

    def validate(self, before: GameSnapshot, after: GameSnapshot) -> Verdict:
        moved = after is not before
        score = (after.score - before.score) / after.max_score if after.max_score else 0.0
        return Verdict(
            won=after.won,
            lost=after.lost,
            reward_terms={
                "score": float(score) if moved else 0.0,
                "intermediate": self.intermediate_weight * after.intermediate if moved else 0.0,
            },
        )

    def oracle(self, state: GameSnapshot) -> str | None:
        return state.policy[0] if state.policy and not (state.won or state.lost) else None

    def describe(self, state: GameSnapshot) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "score": state.score, "max_score": state.max_score, "moves": state.moves}
        if self.description_and_inventory:
            facts.update(description=state.description, inventory=state.inventory)
        return facts


class TextWorldEnv(TextEnv):
    """TextWorld games: follow the objective with parser commands (cooking, treasure hunts, ...).

    ## Description
    Real TextWorld games (Inform 7 ``.z8`` files run by Jericho, with TextWorld's state tracker
    for admissible commands, walkthrough and dense rewards). Games are generated per challenge
    (``tw-simple``, ``tw-cooking``, ``tw-treasure_hunter``, ``tw-coin_collector``, ``custom``) from
    seeds and cached on disk, or given as files. Each split has ``num_games`` games of its own
    seeds; ``reset(seed=k)`` plays the split's game ``k mod num_games``, ``reset()`` draws one,
    ``reset(options={"game": id or index})`` names one (``info["task"]["id"]`` is the file stem).
    The first reset of a split generates its missing games (about 1-2 s each per CPU, after a few
    seconds of start-up) into the cache; later ones load them.

    ## Observation
    ``Dict(text, goal, admissible_actions, last_action_error)``: the game's output, its objective,
    TextWorld's admissible commands (sorted) and the error of the last command ("" when fine).

    ## Action
    A parser command such as ``open fridge``, ``take carrot from counter`` or ``go east``. A
    command is valid when it is admissible or the game carried it out (``x box`` for ``examine
    box``); anything else comes back as ``last_action_error`` with ``info["valid_action"] = False``.
    Non-ASCII text, commands over 198 characters and meta commands (``restart``, ``restore``,
    ``undo``, ``quit``, ``save``, ``script``, ``tw-*``) are refused without reaching the game.

    ## Rewards
    ``score``: the change in game score divided by the game's maximum score (a won game sums to
    1). ``intermediate``: ``intermediate_weight`` (0.1) times TextWorld's intermediate reward
    (+1 when the command shortened the walkthrough, -1 when it lengthened it, 0 otherwise).
    ``info["reward_terms"]`` holds both; they sum to the step reward. ``info`` also carries
    ``score``, ``max_score``, ``moves``, ``description`` and ``inventory`` (unless
    ``description_and_inventory=False``), and ``expert_action``: the next command of TextWorld's
    walkthrough from the current state.

    ## Episode end
    Terminated when the game is won or lost; truncated by ``max_episode_steps`` (100 when
    registered).

    ## Arguments
    ``split`` (``train``/``valid``/``test``), ``challenge`` (default ``tw-simple``), ``options``
    (challenge settings, e.g. ``{"recipe": 2, "take": 1}``), ``num_games`` (per split, default 20),
    ``game_seed`` (one game), ``game`` (file, folder or list of ``.z8``), ``cache_dir``,
    ``intermediate_weight`` (0.1), ``description_and_inventory`` (True; False: ~1.5x faster steps),
    ``max_loaded``, ``render_mode`` (``ansi`` or ``human``).

    ## Version history
    * v0: initial version.
    """

    task_class = TextWorldTask
    task: TextWorldTask

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode: ``options={"game": i or id}`` picks the game, else ``seed`` does
        (game ``seed mod num_games`` of the split), else the env's random generator."""
        game = (options or {}).get("game", seed)
        self.task.choose(game)
        return super().reset(seed=seed, options=options)

    def close(self) -> None:
        self.task.close()
        super().close()
