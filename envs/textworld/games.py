"""Seeded TextWorld game sets, generated once and cached on disk.

A game is named by its *challenge*, its settings and its seed (:class:`GameSpec`); the compiled
``.z8`` and its ``.json`` (TextWorld's state-tracking data) live in the cache under that name, so
asking again returns the cached file without generating anything::

    from agentgym.envs.textworld.games import make_games

    paths = make_games("tw-cooking", range(10), {"recipe": 2, "take": 1})

Challenges: TextWorld's ``tw-simple``, ``tw-cooking``, ``tw-treasure_hunter`` and
``tw-coin_collector`` (settings as in ``tw-make <challenge> --help``, with ``-`` written ``_``) and
``custom`` (``world_size``, ``nb_objects``, ``quest_length``, ... as in ``tw-make custom``).

Generation runs TextWorld's Python API in *worker subprocesses*, several games per worker and
several workers at once. Inform 7, which compiles the games, writes to ``$HOME`` and ``$TMPDIR``;
the workers get both pointed at a scratch folder inside the cache (removed afterwards), so nothing
lands in the user's home, and nothing about this process's environment has to change. A worker
amortises TextWorld's start-up (~1 s import, ~2 s first game) over its games: about 1-2 s per game
after the first, against 3-8 s for one ``tw-make`` call per game.

The cache is ``$AGENTGYM_CACHE/textworld`` (``~/.cache/agentgym/textworld`` by default), or the
``cache_dir`` argument; games sit in a sub-folder per TextWorld version, since another generator
may make another game from the same seed. Command line::

    python -m agentgym.envs.textworld.games --challenge tw-cooking --seeds 0-9 --option take=1
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.errors import AgentGymError, ConfigError, UnknownNameError, closest

__all__ = [
    "CHALLENGES",
    "DEFAULT_OPTIONS",
    "GameSpec",
    "game_spec",
    "cache_root",
    "games_dir",
    "make_games",
    "make_game",
    "ensure_games",
    "parse_seeds",
    "require_textworld",
    "main",
]

log = logging.getLogger(__name__)

CHALLENGES = ("tw-simple", "tw-cooking", "tw-treasure_hunter", "tw-coin_collector", "custom")
"""Challenges :func:`make_games` knows."""

DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "tw-simple": {"rewards": "dense", "goal": "detailed"},
    "tw-cooking": {},
    "tw-treasure_hunter": {"level": 1},
    "tw-coin_collector": {"level": 1},
    "custom": {},
}
"""Settings used where the caller gives none (tw-make requires these for its challenges)."""

_WORKER_CMD = "from agentgym.envs.textworld.games import _worker_main; _worker_main()"


def require_textworld() -> Any:
    """Import and return ``textworld``, or explain how to install it."""
    try:
        import textworld
        import textworld.challenges  # registers the challenges
    except ImportError as exc:
        raise AgentGymError(
            f"TextWorld is not installed ({exc}). Fix: pip install 'agentgym[textworld]' "
            "(Linux or macOS; TextWorld ships the Inform 7 compiler)."
        ) from exc
    return textworld


# -- settings --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`ConfigError` instead of exiting."""

    def __init__(self, challenge: str) -> None:
        super().__init__(prog=f"tw-make {challenge}", add_help=False, exit_on_error=False)
        self.challenge = challenge

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(
            "options", f"{message} (TextWorld challenge {self.challenge!r}).",
            f"see `tw-make {self.challenge} --help`; write option names with '_' for '-'.",
        )


def _add_custom_arguments(parser: argparse.ArgumentParser) -> None:
    """The settings of ``tw-make custom`` (same names and defaults)."""
    for name, default in (("world_size", 5), ("nb_objects", 10), ("nb_parallel_quests", 1),
                          ("quest_min_length", 1), ("quest_max_length", 5),
                          ("quest_min_breadth", 1), ("quest_max_breadth", 5),
                          ("quest_min_depth", 1), ("quest_max_depth", 5)):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    parser.add_argument("--quest-length", type=int)
    parser.add_argument("--quest-breadth", type=int)
    parser.add_argument("--theme", default="house")
    for flag in ("include_adj", "blend_descriptions", "ambiguous_instructions",
                 "only_last_action", "blend_instructions", "entity_numbering"):
        parser.add_argument("--" + flag.replace("_", "-"), action="store_true")


def _parser(challenge: str) -> _Parser:
    if challenge not in CHALLENGES:
        raise UnknownNameError("TextWorld challenge", challenge, CHALLENGES)
    parser = _Parser(challenge)
    if challenge == "custom":
        _add_custom_arguments(parser)
    else:
        textworld = require_textworld()
        textworld.challenges.CHALLENGES[challenge][2](parser)
    return parser


def _settings(challenge: str, options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Full settings of ``challenge`` given ``options``, and the settings' defaults."""
    parser = _parser(challenge)
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    argv: list[str] = []
    for key, value in options.items():
        action = actions.get(key)
        if action is None:
            near = closest(key, actions)
            raise ConfigError(
                f"options.{key}",
                f"{challenge} has no setting {key!r}."
                + (f" Did you mean {near[0]!r}?" if near else ""),
                f"use some of {sorted(actions)}.",
            )
        if action.nargs == 0:  # a flag
            if not isinstance(value, bool):
                raise ConfigError(f"options.{key}", f"is a flag: true or false, not {value!r}.")
            argv += [action.option_strings[0]] if value else []
        elif value is not None:
            argv += [action.option_strings[0], str(value)]
    try:
        settings = vars(parser.parse_args(argv))
    except argparse.ArgumentError as exc:
        parser.error(str(exc))
    defaults = {dest: a.default for dest, a in actions.items() if not a.required}
    return settings, defaults


def _slug(settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    parts = []
    for key in sorted(settings):
        value = settings[key]
        if key in defaults and value == defaults[key]:
            continue
        part = key if value is True else f"{key}={value}"
        parts.append(re.sub(r"[^A-Za-z0-9_.=]", "_", part))
    return "+".join(parts)


@dataclass(frozen=True)
class GameSpec:
    """What one game is made from; equal specs make the same game.

    Attributes:
        challenge: One of :data:`CHALLENGES`.
        seed: TextWorld's generation seed.
        settings: The challenge's full settings, sorted ``(name, value)`` pairs.
        stem: File name without extension: challenge, non-default settings, seed.
    """

    challenge: str
    seed: int
    settings: tuple[tuple[str, Any], ...]
    stem: str

    def path(self, cache_dir: str | Path | None = None) -> Path:
        """Where the compiled game (``.z8``) is, or will be, cached."""
        return games_dir(cache_dir) / f"{self.stem}.z8"


def game_spec(challenge: str, seed: int, options: Mapping[str, Any] | None = None) -> GameSpec:
    """Check ``options`` against the challenge's settings and name the game.

    Args:
        challenge: One of :data:`CHALLENGES`.
        seed: Generation seed (0 to 2**31 - 1).
        options: Challenge settings; :data:`DEFAULT_OPTIONS` fills the ones left out.

    Raises:
        ConfigError: Unknown setting or bad value (with the closest name).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ConfigError("seed", f"must be an int in [0, 2**31), got {seed!r}.")
    merged = {**DEFAULT_OPTIONS.get(challenge, {}), **dict(options or {})}
    settings, defaults = _settings(challenge, merged)
    slug = _slug(settings, defaults)
    stem = f"{challenge}-{slug}-s{seed}" if slug else f"{challenge}-s{seed}"
    return GameSpec(challenge, seed, tuple(sorted(settings.items())), stem)


# -- cache -----------------------------------------------------------------------------------


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The TextWorld cache: ``cache_dir``, else ``$AGENTGYM_CACHE/textworld``, else
    ``~/.cache/agentgym/textworld``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("AGENTGYM_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "agentgym"
    return base / "textworld"


def games_dir(cache_dir: str | Path | None = None) -> Path:
    """The folder of cached games for the installed TextWorld version."""
    try:
        version = importlib.metadata.version("textworld")
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    return cache_root(cache_dir) / f"textworld-{version}"


def _complete(z8: Path) -> bool:
    return z8.is_file() and z8.with_suffix(".json").is_file()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One generating process per cache at a time (others wait, then find the games made)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (TextWorld needs Linux or macOS anyway)
        yield
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_games(
    specs: Sequence[GameSpec], *, cache_dir: str | Path | None = None, jobs: int | None = None
) -> list[Path]:
    """Paths of the games of ``specs``, generating the ones not cached yet.

    Args:
        specs: Games to have.
        cache_dir: Cache folder (see :func:`cache_root`).
        jobs: Worker processes for the missing games (default: one per CPU, at most 8).
    """
    folder = games_dir(cache_dir)
    paths = [folder / f"{s.stem}.z8" for s in specs]
    if all(_complete(p) for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        missing = list({s.stem: s for s, p in zip(specs, paths) if not _complete(p)}.values())
        if missing:
            _generate(missing, folder, jobs)
    return paths


def make_games(
    challenge: str,
    seeds: Iterable[int],
    options: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | Path | None = None,
    jobs: int | None = None,
) -> list[Path]:
    """Compiled games of ``challenge`` for each seed, from the cache or freshly generated.

    Args:
        challenge: One of :data:`CHALLENGES`.
        seeds: Generation seeds, one game each.
        options: Challenge settings (e.g. ``{"recipe": 2, "take": 1}`` for ``tw-cooking``,
            ``{"world_size": 3, "nb_objects": 5, "quest_length": 3}`` for ``custom``).
        cache_dir: Cache folder (see :func:`cache_root`).
        jobs: Worker processes for the missing games.

    Returns:
        Paths of the ``.z8`` files (their ``.json`` lies beside them), in the order of ``seeds``.
    """
    specs = [game_spec(challenge, int(s), options) for s in seeds]
    return ensure_games(specs, cache_dir=cache_dir, jobs=jobs)


def make_game(
    challenge: str, seed: int, options: Mapping[str, Any] | None = None, *,
    cache_dir: str | Path | None = None,
) -> Path:
    """One game; see :func:`make_games`."""
    return make_games(challenge, [seed], options, cache_dir=cache_dir)[0]


# -- generation (parent side) ------------------------------------------------------------------


def _worker_env(scratch: Path) -> dict[str, str]:
    """The environment of a generation worker: HOME and TMPDIR in ``scratch``."""
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp))
    env["PYTHONHASHSEED"] = "0"  # set order must not depend on the process
    env.setdefault("PYTHONUSERBASE", site.getuserbase())  # a user-site textworld stays importable
    return env


def _start_worker(specs: list[GameSpec], folder: Path, work: Path) -> subprocess.Popen:
    """A worker process making ``specs`` into ``folder``; its job list and logs live in ``work``."""
    jobs = [{"challenge": s.challenge, "seed": s.seed, "settings": dict(s.settings),
             "stem": s.stem} for s in specs]
    (work / "jobs.json").write_text(json.dumps({"out": str(folder), "jobs": jobs}))
    with open(work / "stdout", "w") as out, open(work / "stderr", "w") as err:
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER_CMD, str(work / "jobs.json")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_worker_env(work), cwd=work,
        )


def _generate(specs: list[GameSpec], folder: Path, jobs: int | None) -> None:
    jobs = max(1, min(len(specs), jobs or min(os.cpu_count() or 1, 8)))
    log.info("Generating %d TextWorld game(s) in %d process(es) into %s", len(specs), jobs, folder)
    scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=folder))
    started = time.perf_counter()
    procs: list[tuple[subprocess.Popen, Path]] = []
    try:
        for i in range(jobs):
            work = scratch / f"w{i}"
            work.mkdir()
            procs.append((_start_worker(specs[i::jobs], folder, work), work))
        failures = []
        for proc, work in procs:
            if proc.wait() != 0:
                log_text = (work / "stderr").read_text().strip() or (work / "stdout").read_text()
                failures.append(log_text.strip()[-2000:])
    finally:
        for proc, _ in procs:  # interrupted: stop the workers before removing their folders
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        raise AgentGymError(
            "TextWorld could not generate some games:\n" + "\n---\n".join(failures)
            + "\nFix: for `custom`, relax the settings (fewer objects or a shorter quest for the "
            "world size); check that TextWorld runs with `tw-make custom --seed 1`."
        )
    log.info("Generated %d game(s) in %.1f s", len(specs), time.perf_counter() - started)


# -- generation (worker side) ------------------------------------------------------------------


def _custom_options(settings: Mapping[str, Any], options: Any) -> None:
    """Map ``tw-make custom`` settings onto ``GameOptions`` exactly as tw-make does."""
    s = settings
    options.nb_rooms = s["world_size"]
    options.nb_objects = s["nb_objects"]
    options.nb_parallel_quests = s["nb_parallel_quests"]
    chaining = options.chaining
    chaining.min_breadth, chaining.max_breadth = s["quest_min_breadth"], s["quest_max_breadth"]
    chaining.min_depth, chaining.max_depth = s["quest_min_depth"], s["quest_max_depth"]
    chaining.min_length, chaining.max_length = s["quest_min_length"], s["quest_max_length"]
    if s["quest_length"]:
        chaining.min_length = chaining.max_length = chaining.max_depth = s["quest_length"]
    if s["quest_breadth"]:
        chaining.min_breadth = chaining.max_breadth = s["quest_breadth"]
    grammar = options.grammar
    grammar.theme = s["theme"]
    for flag in ("include_adj", "only_last_action", "blend_instructions", "blend_descriptions",
                 "ambiguous_instructions"):
        setattr(grammar, flag, s[flag])
    grammar.allowed_variables_numbering = s["entity_numbering"]


def _generate_here(job: Mapping[str, Any], work: Path, out: Path) -> None:
    """Make one game in ``work`` with TextWorld's API, then move it into ``out``."""
    textworld = require_textworld()
    from textworld.generator import compile_game

    options = textworld.GameOptions()
    options.seeds = int(job["seed"])
    options.path = str(work / f"{job['stem']}.z8")
    options.file_ext = ".z8"
    options.force_recompile = True
    if job["challenge"] == "custom":
        _custom_options(job["settings"], options)
        textworld.make(options)
    else:
        make = textworld.challenges.CHALLENGES[job["challenge"]][1]
        compile_game(make(settings=dict(job["settings"]), options=options), options)
    # The .json first: a .z8 in the cache means the game is complete.
    for suffix in (".json", ".z8"):
        os.replace(work / f"{job['stem']}{suffix}", out / f"{job['stem']}{suffix}")


def _worker_main() -> None:
    """Entry of a generation worker: ``argv[1]`` is its job list; one JSON line out per game."""
    payload = json.loads(Path(sys.argv[1]).read_text())
    work, out = Path.cwd() / "out", Path(payload["out"])
    work.mkdir(parents=True, exist_ok=True)
    for job in payload["jobs"]:
        started = time.perf_counter()
        _generate_here(job, work, out)
        seconds = time.perf_counter() - started
        sys.stdout.write(json.dumps({"stem": job["stem"], "seconds": seconds}) + "\n")
        sys.stdout.flush()


# -- command line ----------------------------------------------------------------------------


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"3,5,7"`` or ``"0-4,10"`` as a list of ints."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        try:
            if dash:
                seeds.extend(range(int(low), int(high) + 1))
            elif part:
                seeds.append(int(part))
        except ValueError:
            msg = f"cannot read {part!r}."
            raise ConfigError("seeds", msg, "write e.g. 0-9 or 1,3,5.") from None
    return seeds


def _parse_option(text: str) -> tuple[str, Any]:
    key, eq, raw = text.partition("=")
    if not eq:
        return key.replace("-", "_"), True
    value: Any = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    else:
        with contextlib.suppress(ValueError):
            value = int(raw)
    return key.replace("-", "_"), value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agentgym.envs.textworld.games``: generate (or find) a set of games."""
    parser = argparse.ArgumentParser(
        prog="python -m agentgym.envs.textworld.games",
        description="Generate seeded TextWorld games into the agentgym cache (cached games are "
        "reused). Prints one path per game.",
    )
    parser.add_argument("--challenge", required=True, choices=CHALLENGES)
    parser.add_argument("--seeds", default="0-9", help="e.g. 0-9, 1,3,5 or 0-4,10 (default 0-9)")
    parser.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                        help="challenge setting, e.g. -o recipe=2 -o take=1 -o cut (repeatable)")
    parser.add_argument("--out", default=None,
                        help="cache folder (default $AGENTGYM_CACHE/textworld or "
                        "~/.cache/agentgym/textworld)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        seeds = parse_seeds(args.seeds)
        options = dict(_parse_option(o) for o in args.option)
        specs = [game_spec(args.challenge, s, options) for s in seeds]
        before = {s.stem for s in specs if _complete(s.path(args.out))}
        started = time.perf_counter()
        paths = ensure_games(specs, cache_dir=args.out, jobs=args.jobs)
    except AgentGymError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    for spec, path in zip(specs, paths):
        sys.stdout.write(f"{'cached' if spec.stem in before else 'made  '}  {path}\n")
    made = len(specs) - len(before)
    sys.stdout.write(f"{len(specs)} game(s): {made} made, {len(before)} cached, "
                     f"{time.perf_counter() - started:.1f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
