"""The :class:`TextEnv` base: gymnasium's contract around a :class:`~agentgym.task.Task`."""

from __future__ import annotations

import copy
import inspect
import re
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym

from agentgym.errors import ConfigError, closest
from agentgym.spaces import MAX_TEXT, Unicode, observation_space
from agentgym.task import Task, TaskSpec

__all__ = ["TextEnv", "EnvSnapshot", "normalize_action", "restore_env"]

MAX_ACTION_CHARS = 4000
"""Longer actions are refused as invalid (a model that rambles on gets told so)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def normalize_action(action: Any) -> tuple[str, str]:
    """Clean an agent action; return ``(action, error)``.

    Strips surrounding whitespace and control characters and collapses inner runs of spaces.
    ``error`` is non-empty when the action cannot be used at all (not text, empty, too long).
    """
    if isinstance(action, bytes):
        action = action.decode("utf-8", errors="replace")
    if not isinstance(action, str):
        return "", f"The action must be text, got {type(action).__name__}."
    cleaned = " ".join(_CONTROL.sub(" ", action).split())
    if not cleaned:
        return "", "The action was empty. Reply with one of the admissible actions."
    if len(cleaned) > MAX_ACTION_CHARS:
        return "", (
            f"The action was {len(cleaned)} characters long; at most {MAX_ACTION_CHARS} are read. "
            "Reply with a single short action."
        )
    return cleaned, ""


@dataclass(frozen=True)
class EnvSnapshot:
    """A saved point of an episode (see :meth:`TextEnv.snapshot`)."""

    spec: TaskSpec
    state: Any
    obs: dict[str, Any]
    done: bool
    steps: int
    rng_state: dict[str, Any]


class TextEnv(gym.Env[dict, str]):
    """A gymnasium environment around a :class:`~agentgym.task.Task`.

    Subclass it with ``task_class = MyTask`` (keyword arguments go to the task), or pass a task
    instance. The observation is a ``Dict`` of ``text``, ``goal``, ``admissible_actions`` and
    ``last_action_error``; the action is any string. Invalid, empty, huge or garbled actions never
    raise: they come back as ``last_action_error`` with ``info["valid_action"] = False``.

    ``info`` carries ``won``, ``lost``, ``valid_action``, ``reward_terms`` (named parts that sum to
    the reward), ``task`` (``id``, ``type``, ``split``), ``subgoals_done``, ``step`` and, where the
    task has an oracle, ``expert_action`` (and ``expert_thought`` where it can explain it).

    Args:
        task: A task instance; leave out to build ``task_class(**task_kwargs)``.
        render_mode: ``"ansi"`` (``render()`` returns the text) or ``"human"`` (writes it).
        **task_kwargs: Passed to ``task_class``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"], "render_fps": 4}
    task_class: ClassVar[type[Task] | None] = None

    def __init__(self, task: Task | None = None, *, render_mode: str | None = None, **task_kwargs):
        if task is None:
            task = self._build_task(task_kwargs)
        elif task_kwargs:
            raise TypeError(f"Pass either a task or task keyword arguments, not both: {task_kwargs}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                "render_mode",
                f"{render_mode!r} is not supported.",
                f"use one of {self.metadata['render_modes']} or leave it out.",
            )
        self.task = task
        self.render_mode = render_mode
        self.observation_space = observation_space()
        self.action_space = Unicode(MAX_TEXT)
        self._spec: TaskSpec | None = None
        self._state: Any = None
        self._obs: dict[str, Any] | None = None
        self._done = False
        self._steps = 0

    def _build_task(self, kwargs: dict[str, Any]) -> Task:
        cls = self.task_class
        if cls is None:
            raise TypeError(f"{type(self).__name__} needs `task_class = ...` or a task instance.")
        params = inspect.signature(cls).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        allowed = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for key in kwargs:
            if not takes_any and key not in allowed:
                near = closest(key, allowed)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ConfigError(
                    f"env.kwargs.{key}",
                    f"{cls.__name__} takes no argument {key!r}.{hint}",
                    f"use one of {allowed}.",
                )
        return cls(**kwargs)

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self._spec = self.task.setup(self.np_random)
        self._state = self._spec.state
        self._done = False
        self._steps = 0
        obs = self._observation(self._spec.text, "")
        verdict = self.task.validate(self._state, self._state)
        info = self._info(valid=True, terms={k: 0.0 for k in verdict.reward_terms}, verdict=verdict)
        return obs, info

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._spec is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if self._done:
            obs = self._observation(self._obs["text"], "The episode is over; call reset().")
            verdict = self.task.validate(self._state, self._state)
            terms = {k: 0.0 for k in verdict.reward_terms}
            return obs, 0.0, True, False, self._info(valid=False, terms=terms, verdict=verdict)
        self._steps += 1
        cleaned, error = normalize_action(action)
        before = self._state
        if error:
            text, valid = self._obs["text"], False
        else:
            outcome = self.task.apply(before, cleaned)
            self._state, text, valid, error = outcome.state, outcome.text, outcome.valid, outcome.error
            if not valid and not error:
                error = f"The action {cleaned!r} could not be carried out."
        verdict = self.task.validate(before, self._state)
        terminated = bool(verdict.won or verdict.lost)
        self._done = terminated
        obs = self._observation(text, error)
        info = self._info(valid=valid, terms=verdict.reward_terms, verdict=verdict)
        return obs, verdict.reward, terminated, False, info

    def render(self) -> str | None:
        if self._obs is None:
            return None
        text = f"Goal: {self._obs['goal']}\n{self._obs['text']}"
        if self._obs["last_action_error"]:
            text += f"\n[error] {self._obs['last_action_error']}"
        if self.render_mode == "human":
            sys.stdout.write(text + "\n")
            return None
        return text

    # -- helpers -------------------------------------------------------------------------------

    @property
    def state(self) -> Any:
        """The task's current state (read-only use; for oracles and tests)."""
        return self._state

    def snapshot(self) -> EnvSnapshot:
        """Everything needed to resume this episode later from exactly here.

        Monte Carlo targets branch many rollouts from one step: take a snapshot, roll out, then
        :meth:`restore` and roll out again. The env's RNG state is included, so a restored env
        continues exactly as the original would.
        """
        if self._spec is None:
            raise gym.error.ResetNeeded("Call reset() before snapshot().")
        return EnvSnapshot(
            spec=self._spec,
            state=self.task.copy_state(self._state),
            obs=dict(self._obs),
            done=self._done,
            steps=self._steps,
            rng_state=copy.deepcopy(self.np_random.bit_generator.state),
        )

    def restore(self, snap: EnvSnapshot) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return to a :meth:`snapshot`; gives the observation and info at that point.

        Works across env instances of the same task (e.g. in another worker), and the snapshot
        stays reusable: restoring twice gives two independent branches.
        """
        self._spec = snap.spec
        self._state = self.task.copy_state(snap.state)
        self._obs, self._done, self._steps = dict(snap.obs), snap.done, snap.steps
        self.np_random.bit_generator.state = copy.deepcopy(snap.rng_state)
        verdict = self.task.validate(self._state, self._state)
        info = self._info(valid=True, terms={k: 0.0 for k in verdict.reward_terms}, verdict=verdict)
        return dict(self._obs), info

    def _observation(self, text: str, error: str) -> dict[str, Any]:
        done = self._done
        admissible = () if done else tuple(self.task.admissible(self._state))
        self._obs = {
            "text": text[:MAX_TEXT],
            "goal": self._spec.goal[:MAX_TEXT],
            "admissible_actions": admissible,
            "last_action_error": error[:MAX_TEXT],
        }
        return dict(self._obs)

    def _info(self, *, valid: bool, terms: dict[str, float], verdict: Any) -> dict[str, Any]:
        spec = self._spec
        info: dict[str, Any] = {
            "won": bool(verdict.won),
            "lost": bool(verdict.lost),
            "valid_action": bool(valid),
            "reward_terms": {k: float(v) for k, v in terms.items()},
            "task": {"id": spec.task_id, "type": spec.task_type, "split": self.task.split},
            "subgoals": list(spec.subgoals),
            "subgoals_done": list(verdict.subgoals_done),
            "step": self._steps,
        }
        if not self._done:
            expert = self.task.oracle(self._state)
            if expert is not None:
                info["expert_action"] = expert
                thought = self.task.rationale(self._state)
                if thought:
                    info["expert_thought"] = thought
        info.update(self.task.describe(self._state))
        return info


def restore_env(env: gym.Env, snap: EnvSnapshot) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore a (wrapped) env made by ``gymnasium.make`` to a snapshot.

    An env never reset is reset once first, so gymnasium's wrappers (order enforcing, the passive
    checker) are in their normal state. The step counter of ``TimeLimit`` is set to the
    snapshot's step, so a restored branch is truncated where the original would have been.
    """
    base = env.unwrapped
    if not isinstance(base, TextEnv):
        raise TypeError(f"{type(base).__name__} is not a TextEnv; it has no snapshots.")
    if base._spec is None:  # noqa: SLF001
        env.reset()
    obs, info = base.restore(snap)
    layer = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, gym.wrappers.TimeLimit):
            layer._elapsed_steps = snap.steps  # noqa: SLF001  (gymnasium keeps it private)
        layer = layer.env
    return obs, info
