"""``agentgym/ToolUse-v0``: answer questions by calling real tools, rewarded per call.

Infrastructure (the tools, their limits and fences) lives in :mod:`.runtime`, :mod:`.toolset`
and the tool modules; the questions and their oracle plans in :mod:`.tasks`. This module is the
:class:`~agentgym.Task` that joins them, with the per-call rewards.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from agentgym.env import TextEnv
from agentgym.envs.tools.calls import ANSWER, Call, parse_call, render_call
from agentgym.envs.tools.limits import ToolLimits
from agentgym.envs.tools.runtime import CallResult, ToolRuntime
from agentgym.envs.tools.tasks import (
    PlanStep,
    ToolTask,
    answer_is_correct,
    check_families,
    make_task,
    held_out_task,
    train_pool,
)
from agentgym.envs.tools.toolset import build_tools
from agentgym.envs.tools.units import canonical_unit
from agentgym.envs.tools.world import build_world
from agentgym.errors import ConfigError
from agentgym.task import Outcome, Task, TaskSpec, Verdict

__all__ = ["ANSWER_SCHEMA", "DEFAULT_WEIGHTS", "ToolState", "ToolUseEnv", "ToolUseTask",
           "argument_match"]

#: Reward per term: ``format`` is paid (negative) for a call that cannot be read or run as
#: written; ``tool_choice`` once per plan step for calling its tool; ``arguments`` up to once per
#: plan step, times the share of the oracle's arguments matched; ``outcome`` for a right answer.
DEFAULT_WEIGHTS = {"format": 0.1, "tool_choice": 0.05, "arguments": 0.1, "outcome": 1.0}
TERMS = tuple(DEFAULT_WEIGHTS)
#: ``answer`` declared as a function, for models that call functions natively.
ANSWER_SCHEMA = {"type": "function", "function": {
    "name": ANSWER, "description": "Finish the episode with the answer to the question.",
    "parameters": {"type": "object", "properties": {"answer": {
        "type": "string", "description": "The answer, e.g. '386.2'."}},
        "required": ["answer"], "additionalProperties": False}}}
_FINISH = ('Call one tool per turn as {"tool": "<name>", "arguments": {...}} (or as '
           '<name>(<argument>=...)); finish with {"tool": "answer", "arguments": {"answer": '
           '"..."}} or answer("...").')


@dataclass(frozen=True)
class ToolState:
    """Where an episode stands (immutable).

    Attributes:
        text: The last observation text.
        matched: Per plan step, the best share of it an agent's call has matched so far.
        chosen: Per plan step, whether calling its tool has been rewarded yet.
        answer: The answer given (None while the episode runs).
        correct: Whether that answer is right.
        terms: The reward terms of the transition into this state.
    """

    text: str
    matched: tuple[float, ...]
    chosen: tuple[bool, ...]
    answer: str | None = None
    correct: bool = False
    terms: tuple[tuple[str, float], ...] = ()


def _same_number(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    return False


def _same_cell(a: Any, b: Any) -> bool:
    if _same_number(a, b):
        return True
    return isinstance(a, str) and isinstance(b, str) and a.strip().lower() == b.strip().lower()


def _same_value(given: Any, expected: Any) -> bool:
    """A call's value against the oracle's: numbers within 1e-6, query rows in any order (a
    single expected row may sit among other columns of a single row)."""
    if not isinstance(expected, tuple):
        return _same_number(given, expected)
    if not isinstance(given, tuple) or not all(isinstance(r, tuple) for r in given):
        return False
    if len(expected) == 1 and len(given) == 1:
        pool = list(given[0])
        for cell in expected[0]:
            hit = next((i for i, c in enumerate(pool) if _same_cell(c, cell)), None)
            if hit is None:
                return False
            pool.pop(hit)
        return True
    if len(given) != len(expected):
        return False
    remaining = list(given)
    for row in expected:
        hit = next((i for i, r in enumerate(remaining) if len(r) == len(row)
                    and all(_same_cell(a, b) for a, b in zip(r, row))), None)
        if hit is None:
            return False
        remaining.pop(hit)
    return True


def _same_argument(key: str, given: Any, expected: Any) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return _same_number(given, expected)
    if not isinstance(given, str):
        return False
    if key in ("from_unit", "to_unit"):
        return canonical_unit(given) is not None and canonical_unit(given) == canonical_unit(
            expected)
    return " ".join(given.lower().split()) == " ".join(str(expected).lower().split())


def argument_match(step: PlanStep, result: CallResult) -> float:
    """How much of ``step`` an agent's successful call of its tool matched, from 0 to 1."""
    if step.judge == "doc":
        return float(isinstance(result.value, tuple) and step.expect in result.value)
    if step.judge == "value":
        return float(_same_value(result.value, step.expect))
    given = result.arguments or {}
    hits = sum(_same_argument(k, given.get(k), v) for k, v in step.arguments)
    return hits / max(1, len(step.arguments))


class ToolUseTask(Task[ToolState]):
    """Questions over a generated world answered by calling tools (see :mod:`.tasks`).

    Args:
        split: ``train`` (tasks drawn from the training pools) or ``test`` (the 200 fixed
            tasks; seed ``i`` plays task ``i % 200``).
        world_seed: Seed of the generated world (database, encyclopedia).
        families: Task families to draw from (default: all five).
        limits: Per-call limits (:class:`~agentgym.envs.tools.limits.ToolLimits` fields).
        weights: Reward per term (keys of :data:`DEFAULT_WEIGHTS`; missing ones keep theirs).
    """

    splits = ("train", "test")

    def __init__(self, *, split: str = "train", world_seed: int = 0,
                 families: list[str] | None = None, limits: Mapping[str, Any] | None = None,
                 weights: Mapping[str, float] | None = None) -> None:
        super().__init__(split=split)
        unknown = sorted(set(weights or {}) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise ConfigError("env.kwargs.weights", f"unknown terms {unknown}.",
                              f"use some of {list(DEFAULT_WEIGHTS)}.")
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.families = check_families(families)
        self.world = build_world(world_seed)
        try:
            tool_limits = ToolLimits(**(limits or {}))
        except TypeError as exc:
            raise ConfigError("env.kwargs.limits", str(exc), "use fields of ToolLimits: "
                              "time_s, cpu_s, max_output_chars, max_rows, "
                              "max_expression_chars, max_sql_chars.") from exc
        self.runtime = ToolRuntime(build_tools(self.world, limits=tool_limits))
        self._tools_text = "\n".join(json.dumps(s["function"]) for s in self.runtime.schemas())
        self._index: int | None = None
        self.task: ToolTask | None = None

    def select(self, index: int | None) -> None:
        """Play task ``index`` of the split at the next reset (``None``: drawn from the rng)."""
        self._index = index

    def setup(self, rng: np.random.Generator) -> TaskSpec[ToolState]:
        if self.split == "test":
            index = self._index if self._index is not None else int(rng.integers(2**31 - 1))
            self.task = held_out_task(index, world=self.world, families=self.families)
        else:
            family = self.families[int(rng.integers(len(self.families)))]
            pool = train_pool(self.world, family)
            choice = self._index if self._index is not None else int(rng.integers(2**31 - 1))
            self.task = make_task(self.world, family, pool[choice % len(pool)])
        steps = len(self.task.steps)
        text = f"Tools (JSON schemas):\n{self._tools_text}\n{_FINISH}"
        state = ToolState(text=text, matched=(0.0,) * steps, chosen=(False,) * steps)
        return TaskSpec(goal=self.task.question, state=state, text=text,
                        task_id=self.task.task_id, task_type=self.task.family,
                        subgoals=[s.name for s in self.task.steps] + ["Give the right answer"])

    def admissible(self, state: ToolState) -> list[str]:
        return []  # an open action space: any call

    def apply(self, state: ToolState, action: str) -> Outcome[ToolState]:
        call = parse_call(action)
        if isinstance(call, str):
            return self._refused(state, call)
        if call.tool == ANSWER:
            return self._answer(state, call)
        result = self.runtime.call(call)
        if not result.well_formed:
            return self._refused(state, result.text)
        if not result.ok:  # well formed, but the tool refused or failed it
            after = replace(state, text=f"{call.tool} failed: {result.text}", terms=())
            return Outcome(state=after, text=after.text, valid=False, error=result.text)
        matched, chosen = list(state.matched), list(state.chosen)
        terms = {"tool_choice": 0.0, "arguments": 0.0}
        open_steps = [i for i, s in enumerate(self.task.steps)
                      if s.tool == call.tool and matched[i] < 1.0]
        unpaid = [i for i in open_steps if not chosen[i]]
        if unpaid:
            chosen[unpaid[0]] = True
            terms["tool_choice"] = self.weights["tool_choice"]
        if open_steps:
            scores = {i: argument_match(self.task.steps[i], result) for i in open_steps}
            best = max(open_steps, key=lambda i: (scores[i] - matched[i], -i))
            gain = scores[best] - matched[best]
            if gain > 0:
                matched[best] = scores[best]
                terms["arguments"] = self.weights["arguments"] * gain
        text = f"{call.tool} returned:\n{result.text}"
        after = replace(state, text=text, matched=tuple(matched), chosen=tuple(chosen),
                        terms=tuple(terms.items()))
        return Outcome(state=after, text=text)

    def _refused(self, state: ToolState, error: str) -> Outcome[ToolState]:
        after = replace(state, terms=(("format", -self.weights["format"]),))
        return Outcome(state=after, text=state.text, valid=False, error=error)

    def _answer(self, state: ToolState, call: Call) -> Outcome[ToolState]:
        given = call.arguments.get("answer", call.positional[0] if call.positional else None)
        extra = set(call.arguments) - {"answer"}
        if given is None or extra or len(call.positional) > 1 or (
                call.positional and "answer" in call.arguments):
            return self._refused(state, 'answer takes one argument, the answer: '
                                        'answer("42") or {"tool": "answer", "arguments": '
                                        '{"answer": "42"}}.')
        text = given if isinstance(given, str) else json.dumps(given)
        correct = answer_is_correct(self.task, text)
        after = replace(state, text=f"Answered: {text}", answer=text, correct=correct,
                        terms=(("outcome", self.weights["outcome"] * correct),))
        return Outcome(state=after, text=after.text)

    def validate(self, before: ToolState, after: ToolState) -> Verdict:
        terms = dict.fromkeys(TERMS, 0.0)
        if after is not before:
            terms.update(after.terms)
        done = [s.name for s, m in zip(self.task.steps, after.matched) if m >= 1.0]
        if after.correct:
            done.append("Give the right answer")
        return Verdict(won=after.correct, lost=after.answer is not None and not after.correct,
                       reward_terms=terms, subgoals_done=done)

    def oracle(self, state: ToolState) -> str | None:
        if state.answer is not None:
            return None
        for step, matched in zip(self.task.steps, state.matched):
            if matched < 1.0:
                return render_call(step.tool, dict(step.arguments))
        return render_call(ANSWER, {"answer": self.task.answer})

    def rationale(self, state: ToolState) -> str | None:
        for step, matched in zip(self.task.steps, state.matched):
            if matched < 1.0:
                return step.name + "."
        return "Everything needed is known: give the answer."

    def describe(self, state: ToolState) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        if state.answer is None:
            facts["candidate_actions"] = self._candidates(state)
        else:
            facts["answer"] = {"given": state.answer, "expected": self.task.answer,
                               "correct": state.correct}
        return facts

    def _candidates(self, state: ToolState) -> list[str]:
        """Plausible calls (for exploring demonstrators): the plan's open calls, a search for
        the question and a look at the database."""
        calls = [render_call(s.tool, dict(s.arguments))
                 for s, m in zip(self.task.steps, state.matched) if m < 1.0]
        calls.append(render_call("search", {"query": self.task.question}))
        calls.append(render_call("sql", {"query": "SELECT * FROM customers LIMIT 5"}))
        return calls

    def copy_state(self, state: ToolState) -> ToolState:
        return state  # immutable

    def tool_schemas(self) -> list[dict[str, Any]]:
        """The tools and ``answer`` in OpenAI's function-calling format (``info["tools"]``)."""
        return [*self.runtime.schemas(), ANSWER_SCHEMA]


class ToolUseEnv(TextEnv):
    """Answer questions by calling tools: SQL, search, calculator, dates, units.

    ## Description

    Each episode asks one question about a generated world (a shop's SQLite database and an
    encyclopedia of invented towns, landmarks, rivers and firms) that takes 2-3 tool calls and
    an answer: aggregate with SQL then compute, find a fact then convert it, date differences,
    and mixes (:mod:`agentgym.envs.tools.tasks`). The tools are real and fenced: read-only SQL
    with bounded work, no file system or network, per-call time, CPU and output limits.

    ## Observation

    ``text``: at the start, the tools as OpenAI-style JSON schemas and how to call them; then
    what the last call returned. ``goal``: the question. ``admissible_actions``: empty (open).
    The reset's ``info["tools"]`` holds the schemas, ``answer`` included, in OpenAI's
    function-calling format (for models that call functions natively).

    ## Action

    A call as JSON, ``{"tool": "sql", "arguments": {"query": "SELECT ..."}}``, or as a
    function, ``sql(query="SELECT ...")``; ``answer("...")`` ends the episode. Malformed calls,
    unknown tools and bad arguments come back in ``last_action_error`` with
    ``info["valid_action"]`` False, as do calls a tool refuses (a bad query, a time limit).

    ## Rewards

    Named terms (:data:`DEFAULT_WEIGHTS`): ``format`` -0.1 for a call that cannot be read or
    whose arguments do not fit the tool; ``tool_choice`` +0.05 the first time a plan step's tool
    is called; ``arguments`` up to +0.1 per plan step for matching the oracle's call (its
    arguments, or the value it returns, or the article it finds); ``outcome`` +1 for the right
    answer (numbers within the rounding asked).

    ## Episode end

    Terminated by an answer (won when right); truncated at ``max_episode_steps`` (12).

    ## Arguments

    See :class:`ToolUseTask`: ``split``, ``world_seed``, ``families``, ``limits``, ``weights``.

    ## Version history

    v0: first version.
    """

    task_class = ToolUseTask
    task: ToolUseTask

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        self.task.select((options or {}).get("task_index", seed if self.task.split == "test"
                                             else None))
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "tools": self.task.tool_schemas()}

    def restore(self, snap: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, info = super().restore(snap)
        return obs, {**info, "tools": self.task.tool_schemas()}
