"""ALFWorld's own text engine, run on ALFRED PDDL problems that we write.

ALFWorld plays its household games with TextWorld's PDDL environment (``textworld.envs.PddlEnv``,
backed by ``fast_downward_textworld``): a game is a ``game.tw-pddl`` JSON file holding ALFWorld's
PDDL domain (``alfred.pddl``), its text grammar (``alfred.twl2``, with the task sentence written
into it) and one ALFRED PDDL problem. ALFWorld wraps the environment in ``AlfredDemangler`` (object
ids such as ``Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48`` read as
``apple 1``) and ``AlfredInfos``. :class:`AlfworldEngine` does exactly that for a problem given as
text, so our own household world can be checked against the reference engine, text for text.
The problem format is described in ``docs/alfred_pddl.md``.

``alfworld`` and ``textworld`` are optional dependencies (``pip install agentgym[alfworld]``); they
are imported when an engine is built, never at import time of this module.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import tempfile
import textwrap
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

from agentgym.errors import MissingExtraError

__all__ = [
    "TASK_TYPES",
    "AlfworldEngine",
    "AlfworldSample",
    "TaskGoal",
    "alfworld_available",
    "build_game_data",
    "default_domain",
    "default_grammar",
    "goal_pddl",
    "load_samples",
    "mangle",
    "parse_goal",
    "read_sample",
    "task_description",
]

#: The six ALFWorld task types (``alfworld.agents.environment.alfred_tw_env.TASK_TYPES``).
TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

SAMPLES_DIR = Path(__file__).resolve().parent / "data" / "alfworld_samples"
NOTHING_HAPPENS = "Nothing happens."


# --------------------------------------------------------------------------- optional imports


_ENGINE_MODULES = ("alfworld", "textworld", "fast_downward")


def _missing_modules() -> list[str]:
    return [m for m in _ENGINE_MODULES if importlib_util.find_spec(m) is None]


def alfworld_available() -> bool:
    """Whether ``alfworld``, ``textworld`` and ``fast_downward`` are installed (not imported)."""
    return not _missing_modules()


def _require_alfworld() -> None:
    missing = _missing_modules()
    if missing:
        raise MissingExtraError("AlfworldEngine (ALFWorld's own engine)", "alfworld", missing)


def _alfworld_data_dir() -> Path:
    """Folder of ``alfred.pddl`` and ``alfred.twl2`` in the installed ``alfworld`` package."""
    _require_alfworld()
    spec = importlib_util.find_spec("alfworld")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def default_domain() -> str:
    """ALFWorld's PDDL domain, ``alfworld/data/alfred.pddl``, as shipped with the package."""
    return (_alfworld_data_dir() / "alfred.pddl").read_text()


def default_grammar() -> str:
    """ALFWorld's text grammar, ``alfworld/data/alfred.twl2`` (task still ``UNKNOWN GOAL``)."""
    return (_alfworld_data_dir() / "alfred.twl2").read_text()


# --------------------------------------------------------------------------- problem helpers


def mangle(alfred_id: str) -> str:
    """An ALFRED object id as a PDDL name, the way ALFRED's problem writer spells it.

    ``"Apple|-00.47|+01.15|+00.48"`` becomes
    ``"Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48"``
    (``alfworld.gen.game_states.planned_game_state.PlannedGameState.fix_pddl_str_chars``).
    """
    table = {"-": "_minus_", "|": "_bar_", "+": "_plus_", ".": "_dot_", ",": "_comma_"}
    return "".join(table.get(ch, ch) for ch in alfred_id)


@dataclass(frozen=True)
class TaskGoal:
    """What an ALFWorld goal asks, in the words of ALFRED's ``pddl_params``.

    Attributes:
        task_type: One of :data:`TASK_TYPES`.
        obj: Object class as in the goal, e.g. ``"Apple"`` (from ``AppleType``).
        recep: Receptacle class, e.g. ``"CounterTop"``; empty for ``look_at_obj_in_light``.
        toggle: Light class (``"DeskLamp"``, ``"FloorLamp"``) of ``look_at_obj_in_light``.
    """

    task_type: str
    obj: str
    recep: str = ""
    toggle: str = ""


_TYPE_FACT = re.compile(
    r"\(\s*(objectType|receptacleType)\s+\?(\w+)\s+(\w+)Type\s*\)", re.IGNORECASE
)


def _goal_text(problem: str) -> str:
    match = re.search(r"\(\s*:goal", problem, re.IGNORECASE)
    if match is None:
        raise ValueError(
            "The PDDL problem has no (:goal ...) section. Fix: add one (see docs/alfred_pddl.md)."
        )
    return problem[match.start() :]


def parse_goal(problem: str) -> TaskGoal:
    """Recognise which ALFWorld task a problem's goal states (the goals of ``goal_pddl``).

    Args:
        problem: A PDDL problem in ALFRED's format.

    Returns:
        The task type and the object / receptacle / light classes, spelled as in the goal.

    Raises:
        ValueError: The goal is not one of the six ALFWorld goals.
    """
    goal = _goal_text(problem)
    low = goal.lower()
    facts = [(kind.lower(), var.lower(), cls) for kind, var, cls in _TYPE_FACT.findall(goal)]
    objs = [cls for kind, _, cls in facts if kind == "objecttype"]
    receps = [cls for kind, _, cls in facts if kind == "receptacletype"]
    if "istoggled" in low:
        toggle = next((c for k, v, c in facts if k == "objecttype" and v == "ot"), "")
        obj = next((c for k, v, c in facts if k == "objecttype" and v != "ot"), "")
        if toggle and obj:
            return TaskGoal("look_at_obj_in_light", obj=obj, toggle=toggle)
    elif objs and receps:
        if re.search(r"\(\s*not\s*\(\s*=", low):
            task_type = "pick_two_obj_and_place"
        elif "isclean" in low:
            task_type = "pick_clean_then_place_in_recep"
        elif "ishot" in low:
            task_type = "pick_heat_then_place_in_recep"
        elif "iscool" in low:
            task_type = "pick_cool_then_place_in_recep"
        else:
            task_type = "pick_and_place_simple"
        return TaskGoal(task_type, obj=objs[0], recep=receps[0])
    raise ValueError(
        "Cannot tell which ALFWorld task this goal states. Expected one of the goals written by "
        f"goal_pddl() for {', '.join(TASK_TYPES)}; got: {' '.join(goal.split())[:200]!r}."
    )


def _check_task_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        from agentgym.errors import UnknownNameError

        raise UnknownNameError("ALFWorld task type", task_type, TASK_TYPES)


def task_description(goal: TaskGoal, *, template: int = 0) -> str:
    """The task sentence ALFWorld writes into the grammar for ``goal`` (without the final ``.``).

    The templates are ``alfworld.gen.goal_library.gdict[task_type]["templates"]``; ALFWorld picks
    one at random (``alfworld.agents.utils.misc.get_templated_task_desc``), we take ``template``.
    E.g. ``put a clean apple in fridge``, ``look at book under the desklamp``.
    """
    _check_task_type(goal.task_type)
    _require_alfworld()
    import alfworld.gen.goal_library as glib

    templates = glib.gdict[goal.task_type]["templates"]
    if not 0 <= template < len(templates):
        raise ValueError(
            f"template must be in [0, {len(templates) - 1}] for {goal.task_type}; got {template}."
        )
    return templates[template].format(
        obj=goal.obj.lower(), recep=goal.recep.lower(), toggle=goal.toggle.lower(), mrecep=""
    )


def goal_pddl(goal: TaskGoal) -> str:
    """The ``(:goal ...)`` section ALFRED writes for ``goal`` (``alfworld.gen.goal_library``).

    The library's text uses ``#`` for the PDDL type dash and ends with the ``)`` that closes
    ``(define ...``; both are undone here, so the result drops into a problem as is.
    """
    _check_task_type(goal.task_type)
    _require_alfworld()
    import alfworld.gen.goal_library as glib

    text = (
        glib.gdict[goal.task_type]["pddl"]
        .format(obj=goal.obj, recep=goal.recep, toggle=goal.toggle, mrecep="")
        .replace("#", "-")
    )
    body = text.rstrip()
    assert body.endswith(")"), "goal_library text ends with the ')' closing (define ...)"
    return textwrap.dedent(body[:-1].rstrip("\n ")).strip() + "\n"


def build_game_data(
    problem: str, *, task: str | None = None, domain: str | None = None, grammar: str | None = None
) -> dict[str, Any]:
    """The content of a ``game.tw-pddl`` file, as ``alfworld-generate`` writes it.

    Args:
        problem: The ALFRED PDDL problem.
        task: Task sentence for ``Your task is to: ...`` (no final ``.``); default: derived from
            the goal with :func:`parse_goal` and :func:`task_description`.
        domain: PDDL domain text; default ALFWorld's ``alfred.pddl``.
        grammar: TWL2 grammar text; default ALFWorld's ``alfred.twl2``.

    Returns:
        ``{"pddl_domain", "grammar", "pddl_problem", "solvable", "walkthrough"}``.
    """
    if task is None:
        task = task_description(parse_goal(problem))
    grammar = default_grammar() if grammar is None else grammar
    return {
        "pddl_domain": default_domain() if domain is None else domain,
        # alfworld.agents.utils.misc.add_task_to_grammar does exactly this replacement.
        "grammar": grammar.replace("UNKNOWN GOAL", task),
        "pddl_problem": problem,
        "solvable": True,
        "walkthrough": None,
    }


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class AlfworldSample:
    """A hand-written ALFRED problem with its task sentence and an expert command sequence.

    Attributes:
        name: File stem, e.g. ``pick_clean_then_place_in_recep``.
        task_type: One of :data:`TASK_TYPES`.
        task: The task sentence (``Your task is to: <task>.``).
        expert: Commands that solve the problem in ALFWorld's engine.
        problem: The PDDL problem text (header comments included; PDDL ignores them).
    """

    name: str
    task_type: str
    task: str
    expert: tuple[str, ...]
    problem: str


def read_sample(path: str | Path) -> AlfworldSample:
    """Read a sample problem; its ``; key: value`` header holds task type, task and expert plan."""
    path = Path(path)
    text = path.read_text()
    meta: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"\s*;\s*(task_type|task|expert)\s*:\s*(.*)$", line)
        if match:
            meta[match.group(1)] = match.group(2).strip()
    missing = {"task_type", "task", "expert"} - set(meta)
    if missing:
        raise ValueError(
            f"{path}: header lacks {', '.join(sorted(missing))}. Fix: add '; key: value' lines."
        )
    expert = tuple(c.strip() for c in meta["expert"].split("|") if c.strip())
    return AlfworldSample(path.stem, meta["task_type"], meta["task"], expert, text)


def load_samples(folder: str | Path = SAMPLES_DIR) -> list[AlfworldSample]:
    """All ``*.pddl`` samples of ``folder`` (default: the six shipped ones), sorted by name."""
    return [read_sample(p) for p in sorted(Path(folder).glob("*.pddl"))]


# --------------------------------------------------------------------------- the engine


@contextlib.contextmanager
def _guard_process_state(tmpdir: str) -> Iterator[None]:
    """Undo fast_downward's side effects: it overwrites ``sys.argv`` on every translation and
    copies ``libdownward.so`` into the temp folder; point the latter at our scratch folder."""
    argv, tempdir = list(sys.argv), tempfile.tempdir
    tempfile.tempdir = tmpdir
    try:
        yield
    finally:
        sys.argv[:] = argv
        tempfile.tempdir = tempdir


class AlfworldEngine:
    """ALFWorld's text engine (TextWorld ``PddlEnv`` + ALFWorld's wrappers) on one PDDL problem.

    Example:
        >>> with AlfworldEngine(problem, task="put a clean apple in fridge") as engine:
        ...     obs, admissible, info = engine.reset()
        ...     obs, admissible, won, info = engine.step("go to countertop 1")

    Each engine loads its own copy of fast-downward's shared library (it keeps global state), so
    several engines can live in one process; they are not thread-safe. Commands must match an
    admissible command exactly (after ``strip()``), as in ALFWorld; anything else gives
    ``"Nothing happens."`` and leaves the state unchanged.

    Args:
        problem_pddl: An ALFRED PDDL problem (see ``docs/alfred_pddl.md``).
        task: The task sentence; default derived from the goal (:func:`build_game_data`).
        domain: PDDL domain text; default ALFWorld's ``alfred.pddl``.
        grammar: TWL2 grammar text; default ALFWorld's ``alfred.twl2``.
        scratch_dir: Folder for the ``game.tw-pddl`` file and the library copy; default a fresh
            temporary folder, removed by :meth:`close`.

    Raises:
        MissingExtraError: ``alfworld``/``textworld`` are not installed (an ``ImportError``).
        ValueError: The engine cannot parse or ground the problem.
    """

    def __init__(
        self,
        problem_pddl: str,
        *,
        task: str | None = None,
        domain: str | None = None,
        grammar: str | None = None,
        scratch_dir: str | Path | None = None,
    ) -> None:
        _require_alfworld()
        self.game_data = build_game_data(problem_pddl, task=task, domain=domain, grammar=grammar)
        self._own_scratch = scratch_dir is None
        self.scratch_dir = Path(
            tempfile.mkdtemp(prefix="agentgym-alfworld-") if scratch_dir is None else scratch_dir
        )
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        if self._own_scratch:
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.scratch_dir), True)
        self.game_file = self.scratch_dir / "game.tw-pddl"
        self.game_file.write_text(json.dumps(self.game_data))
        self._env: Any = None
        self._state: Any = None
        self._env = self._make_env()

    @classmethod
    def from_game_file(cls, path: str | Path, **kwargs: Any) -> AlfworldEngine:
        """An engine for an ALFWorld ``game.tw-pddl`` file (whose grammar already has the task)."""
        data = json.loads(Path(path).read_text())
        return cls(
            data["pddl_problem"],
            task="UNKNOWN GOAL",  # a no-op replacement: the file's grammar is used as it is
            domain=data["pddl_domain"],
            grammar=data["grammar"],
            **kwargs,
        )

    def load(
        self,
        problem_pddl: str,
        *,
        task: str | None = None,
        domain: str | None = None,
        grammar: str | None = None,
    ) -> None:
        """Replace the game by another problem, reusing this engine's library (faster than anew).

        Arguments as for the constructor; call :meth:`reset` next.
        """
        self._check_open()
        self.game_data = build_game_data(problem_pddl, task=task, domain=domain, grammar=grammar)
        self.game_file.write_text(json.dumps(self.game_data))
        self._state = None
        self._load(self._env)

    def _load(self, env: Any) -> None:
        with _guard_process_state(str(self.scratch_dir)):
            try:
                # The same JSON as the file; passing the dict spares PddlEnv's unclosed open().
                env.load(self.game_data)
            except (Exception, SystemExit) as error:  # fast_downward's translator may sys.exit()
                if isinstance(error, KeyError) and str(error).startswith("'val"):
                    # The translator proved the goal unreachable and emitted a placeholder atom.
                    fix = (
                        "the goal can never hold: check that an object of the goal's type exists "
                        "and has the goal's facts (canContain for the goal pair, cleanable, "
                        "heatable, coolable, toggleable)."
                    )
                else:
                    fix = (
                        "check the problem against docs/alfred_pddl.md (every object declared "
                        "with a type, balanced parentheses, ASCII only)."
                    )
                raise ValueError(
                    "ALFWorld's engine could not load the PDDL problem: "
                    f"{type(error).__name__}: {error}. Fix: {fix}"
                ) from error

    def _make_env(self) -> Any:
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
        from textworld.envs import PddlEnv

        # The infos ALFWorld's AlfredTWEnv requests (won, admissible commands, game file).
        infos = textworld.EnvInfos(
            won=True, admissible_commands=True, score=True, moves=True, extras=["gamefile"]
        )
        with _guard_process_state(str(self.scratch_dir)):
            env = AlfredInfos(AlfredDemangler(PddlEnv(infos), shuffle=False))
        self._load(env)
        return env

    def _check_open(self) -> None:
        if self._env is None:
            raise RuntimeError("This AlfworldEngine is closed. Fix: build a new one.")

    def reset(self) -> tuple[str, list[str], dict[str, Any]]:
        """Start the game again from the problem's initial state.

        Returns:
            ``(observation, admissible_commands, info)``; the observation is ALFWorld's intro
            (``-= Welcome to TextWorld, ALFRED! =-``, the room, ``Your task is to: ...``).
        """
        self._check_open()
        with _guard_process_state(str(self.scratch_dir)):
            self._state = self._env.reset()
        return self._state.feedback, list(self._state.admissible_commands), self._info(valid=True)

    def step(self, command: str) -> tuple[str, list[str], bool, dict[str, Any]]:
        """Play one command.

        Returns:
            ``(observation, admissible_commands, won, info)``. ``info["valid"]`` is False when the
            command was not admissible (the observation is then ``"Nothing happens."``).
        """
        self._check_open()
        if self._state is None:
            raise RuntimeError("Call reset() before step().")
        valid = command.strip() in self._state["_valid_commands"]
        self._state, _, _ = self._env.step(command)
        return (
            self._state.feedback,
            list(self._state.admissible_commands),
            bool(self._state["won"]),
            self._info(valid),
        )

    def _info(self, valid: bool) -> dict[str, Any]:
        state = self._state
        return {
            "won": bool(state["won"]),
            "score": int(state.get("score") or 0),
            "moves": int(state.get("moves") or 0),
            "valid": valid,
            "gamefile": str(self.game_file),
        }

    def facts(self) -> list[str]:
        """The state as sorted facts in ALFWorld names, e.g. ``inreceptacle(apple 1, fridge 1)``."""
        self._check_open()
        if self._state is None:
            raise RuntimeError("Call reset() before facts().")
        infos = self._env._entity_infos
        names = {k: (info.name or k).strip() for k, info in infos.items()}
        return sorted(
            f"{fact.name}({', '.join(names.get(v.name, v.name) for v in fact.arguments)})"
            for fact in self._state["_facts"]
        )

    def names(self) -> dict[str, str]:
        """PDDL object name (lower-cased, as the engine reads it) to ALFWorld name (``apple 1``)."""
        self._check_open()
        return {k: (info.name or k).strip() for k, info in self._env._entity_infos.items()}

    def planner_plan(self) -> list[str]:
        """A plan from the current state by fast-downward (ALFWorld's ``planner`` expert).

        Moves are written ``go to <receptacle>``; empty when no plan exists.
        """
        self._check_open()
        if self._state is None:
            raise RuntimeError("Call reset() before planner_plan().")
        with _guard_process_state(str(self.scratch_dir)):
            return list(self._env._pddl_state.replan(self._env._entity_infos))

    def close(self) -> None:
        """Free the engine's planning task and remove its scratch folder (idempotent).

        The library copy stays mapped (about 1 MB): ``fast_downward.close_lib`` (``dlclose``)
        makes the interpreter crash at exit once two engines have been closed.
        """
        if self._env is not None:
            self._env.downward_lib.cleanup()
            self._env = None
            self._state = None
        if self._own_scratch:
            self._cleanup()

    def __enter__(self) -> AlfworldEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
