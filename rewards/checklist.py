"""Checklist rewards (Web-Shepherd style): subgoals per task, judged at every step.

Each task gets a checklist of subgoals: the ones its env declares (``info["subgoals"]``), or a
list an LLM writes through any policy (:func:`generate_checklist`). A judge gives, for every
step and item, the probabilities that the item is done (*yes*), under way (*in progress*) or not
started (*no*). The step reward is

    ``r_i = mean over items k of ( P_ik(yes) + 1/2 * P_ik(in progress) )``
(:func:`checklist_reward`).

Two judges:

* :class:`ChecklistReward` - a trained 3-way classifier (the shared PRM with three outputs),
  reading the task with the item appended, the history and the step's action. It trains on
  labels made from the env's own subgoal tracking (:func:`checklist_labels`), on oracle
  trajectories and perturbed ones (``policy=noisy`` around the oracle).
* :class:`PromptedJudge` - any causal LM asked "Has the agent completed this item?"; the
  probabilities are those of the first token of each answer (``Yes`` / ``In progress`` /
  ``No``) at the answer's position, renormalised over the three.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.hf import resolve_device
from agentgym.rewards.learned import Example, LearnedConfig, LearnedRewarder, fit_model, steps_of
from agentgym.types import AgentInput, Trajectory

__all__ = [
    "ANSWERS",
    "ChecklistConfig",
    "ChecklistReward",
    "PromptedJudge",
    "checklist_labels",
    "checklist_reward",
    "expert_actions",
    "generate_checklist",
    "task_checklist",
]

log = logging.getLogger(__name__)

YES, IN_PROGRESS, NO = 0, 1, 2
ANSWERS = ("Yes", "In progress", "No")
"""The judge's answers, in the order of its probability columns."""

_SOURCES = ("task", "generate")


def checklist_reward(probs: np.ndarray, progress_weight: float = 0.5) -> np.ndarray:
    """Step rewards from ``probs`` of shape ``(steps, items, 3)`` (yes, in progress, no):
    the mean over items of ``P(yes) + progress_weight * P(in progress)``."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[-1] != 3:
        raise ValueError(f"probs must have shape (steps, items, 3), got {probs.shape}.")
    if probs.shape[1] == 0:
        return np.zeros(probs.shape[0])
    return (probs[..., YES] + progress_weight * probs[..., IN_PROGRESS]).mean(axis=1)


def task_checklist(traj: Trajectory) -> list[str]:
    """The subgoals the env declared for the trajectory's task (``info["subgoals"]``)."""
    for step in traj.steps:
        if step.info.get("subgoals"):
            return [str(s) for s in step.info["subgoals"]]
    return []


def generate_checklist(policy, goal: str, *, max_items: int = 5) -> list[str]:
    """A checklist for ``goal`` written by ``policy`` (any :class:`~agentgym.policies.Policy`).

    The policy is asked, in its usual format, for the subgoals in order on one line separated by
    semicolons; its answer is split there (numbering and bullets removed). At most
    ``max_items`` items are kept.
    """
    request = (
        "Before acting, write a checklist for this goal: the subgoals that must be done, in "
        "order, on one line, separated by semicolons (for example: find the key; open the "
        "door). Answer with that line as your action."
    )
    inp = AgentInput(env_id="checklist", goal=goal, observation=request)
    answer = policy.act([inp])[0]
    text = answer.action or answer.text
    items = [re.sub(r"^\s*(?:\d+[.)]|[-*])\s*", "", part).strip(" .")
             for part in re.split(r"[;\n]", text)]
    return [item for item in items if item][:max_items]


def expert_actions(traj: Trajectory, first: str | None = None) -> list[str | None]:
    """The oracle's action in the state of each step (``info["expert_action"]`` of the step
    before; the first from ``first``, or from resetting the env with the trajectory's seed)."""
    if not traj.steps:
        return []
    if first is None:
        import gymnasium as gym

        env = gym.make(traj.env_id, **traj.env_kwargs)
        try:
            _, info = env.reset(seed=traj.seed)
        finally:
            env.close()
        first = info.get("expert_action")
    return [first] + [s.info.get("expert_action") for s in traj.steps[:-1]]


def checklist_labels(traj: Trajectory, items: Sequence[str] | None = None, *,
                     experts: Sequence[str | None] | None = None) -> np.ndarray:
    """Labels ``(steps, items)`` from the env's subgoal tracking, after each step's action.

    *yes* (0) when the item is in ``info["subgoals_done"]``; *in progress* (1) when it is the
    first item not yet done and the step took the oracle's action (it moved toward it); *no*
    (2) otherwise. ``items`` defaults to the task's subgoals and must be among them;
    ``experts`` (the oracle's action at each step) defaults to :func:`expert_actions`.
    """
    items = list(items) if items is not None else task_checklist(traj)
    declared = task_checklist(traj)
    unknown = [it for it in items if it not in declared]
    if unknown:
        raise ConfigError("reward.checklist", f"items {unknown} are not subgoals the env tracks "
                          f"({declared}).", "train the judge on the task's own checklist.")
    experts = list(experts) if experts is not None else expert_actions(traj)
    labels = np.full((len(traj.steps), len(items)), NO, dtype=np.int64)
    for i, step in enumerate(traj.steps):
        done = set(step.info.get("subgoals_done", ()))
        pending = [k for k, item in enumerate(items) if item not in done]
        for k, item in enumerate(items):
            if item in done:
                labels[i, k] = YES
        if pending and experts[i] is not None and step.action == experts[i]:
            labels[i, pending[0]] = IN_PROGRESS
    return labels


def _with_item(goal: str, item: str) -> str:
    return f"{goal}\nChecklist item: {item}"


class _Checklists:
    """Checklist items per trajectory: the task's, or generated once per goal.

    With ``source="task"`` the items come from the trajectory's ``info["subgoals"]``, and are
    remembered by goal for trajectories that carry no info (best-of-N candidates); a goal never
    seen with its subgoals gets an empty checklist (reward 0) and a warning.
    """

    def __init__(self, source: str, generator=None, max_items: int = 5) -> None:
        self.check_source(source)
        if source == "generate" and generator is None:
            raise ConfigError("reward.generator", "source=generate needs a policy to write the "
                              "checklists.", "pass generator=<policy>, or use source=task.")
        self.source, self.generator, self.max_items = source, generator, max_items
        self.cache: dict[str, list[str]] = {}

    @staticmethod
    def check_source(source: str) -> None:
        if source not in _SOURCES:
            raise ConfigError("reward.source", f"{source!r} is not a checklist source.",
                              f"use one of: {', '.join(_SOURCES)}.")

    def __call__(self, traj: Trajectory) -> list[str]:
        goal = traj.steps[0].observation["goal"] if traj.steps else ""
        if self.source == "task":
            items = task_checklist(traj)[: self.max_items]
            if items:
                self.cache[goal] = items
            elif goal not in self.cache:
                log.warning("no checklist for goal %r: the trajectory has no info['subgoals'] "
                            "and the goal was not seen before (reward 0)", goal)
                self.cache[goal] = []
            return self.cache[goal]
        if goal not in self.cache:
            self.cache[goal] = generate_checklist(self.generator, goal, max_items=self.max_items)
        return self.cache[goal]


@dataclass(kw_only=True)
class ChecklistConfig(LearnedConfig):
    """Config of :class:`ChecklistReward`."""

    source: str = "task"
    """Checklists from the env's task (``task``) or written by ``generator`` (``generate``)."""
    max_items: int = 5
    """Most items per checklist."""
    progress_weight: float = 0.5
    """Weight of P(in progress) in the step reward."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _Checklists.check_source(self.source)
        if self.max_items < 1:
            raise ConfigError("reward.max_items", f"must be >= 1, got {self.max_items}.")


class ChecklistReward(LearnedRewarder):
    """A trained 3-way judge of checklist items (see the module docstring).

    Args:
        generator: The policy that writes checklists when ``source="generate"``: a policy, or
            a policy config (``{name: openai, base_url: ..., model: ...}``).
        name, path, **settings: As for every learned rewarder (:class:`ChecklistConfig`).
    """

    kind = "checklist"
    config_class = ChecklistConfig
    num_labels = 3
    trained_with = ("source", "max_items")  # the items it learned to judge

    def __init__(self, *, generator=None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(generator, Mapping):  # a policy config: {name: openai, base_url: ...}
            from agentgym.policies.registry import make_policy

            generator = make_policy(generator)
        c = self.config
        self.checklists = _Checklists(c.source, generator, c.max_items)

    def fit(self, trajectories: Sequence[Trajectory]) -> list[dict[str, float]]:
        """Train on labels from the env's subgoal tracking (:func:`checklist_labels`) of each
        trajectory and item of its task's checklist; returns the losses."""
        import torch

        trajectories = [t for t in steps_of(trajectories) if task_checklist(t)]
        if not trajectories:
            raise ConfigError("reward.fit", "no trajectory has subgoals in its info.",
                              "use an env that tracks subgoals (info['subgoals']).")
        prm = self._model_for(trajectories)
        examples = []
        for traj in trajectories:
            items = task_checklist(traj)[: self.config.max_items]
            labels = checklist_labels(traj, items)
            goal = traj.steps[0].observation["goal"]
            for k, item in enumerate(items):
                chunks = prm.encode_episode(traj, goal=_with_item(goal, item))
                examples.append(Example(chunks=chunks, n_steps=len(traj.steps),
                                        targets={"y": labels[:, k]}))
        ce = torch.nn.functional.cross_entropy

        def loss_fn(batch, outputs):
            logits = torch.cat([out[1] for out in outputs])
            y = torch.cat([torch.as_tensor(ex.targets["y"]) for ex in batch]).to(logits.device)
            return ce(logits, y)

        return fit_model(prm, examples, loss_fn, self.config.fit, desc="checklist")

    def probabilities(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """``(steps, items, 3)`` probabilities (yes, in progress, no) per trajectory."""
        prm = self._model()
        items = [self.checklists(t) if t.steps else [] for t in trajectories]
        encoded, lengths = [], []
        for traj, its in zip(trajectories, items):
            goal = traj.steps[0].observation["goal"] if traj.steps else ""
            for item in its:
                encoded.append(prm.encode_episode(traj, goal=_with_item(goal, item)))
                lengths.append(len(traj.steps))
        outs = iter(prm.score_episodes(encoded, lengths, batch_tokens=self.config.fit.batch_tokens))
        result = []
        for traj, its in zip(trajectories, items):
            if not its:
                result.append(np.zeros((len(traj.steps), 0, 3)))
                continue
            logits = np.stack([next(outs)[1] for _ in its], axis=1).astype(np.float64)
            logits -= logits.max(axis=-1, keepdims=True)
            p = np.exp(logits)
            result.append(p / p.sum(axis=-1, keepdims=True))
        return result

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        w = self.config.progress_weight
        return [checklist_reward(p, w) for p in self.probabilities(trajectories)]


class PromptedJudge:
    """A causal LM asked about each checklist item at each step; reads the answer's probability.

    The prompt shows the task, the item, the observations and actions up to the step (at most
    ``history_turns`` of them, newest kept) and asks whether the item is done; the model's
    next-token distribution at the answer position gives P(yes), P(in progress), P(no) from
    the first token of each answer word (renormalised over the three).

    Args:
        path: Causal LM checkpoint folder or hub id (``from_pretrained``).
        source, generator, max_items, progress_weight: As for :class:`ChecklistReward`.
        history_turns: Past turns shown.
        name: Key of its rewards in ``step.rewards``.
        device: ``auto``, ``cpu``, ``cuda``...
    """

    def __init__(
        self,
        path: str,
        *,
        source: str = "task",
        generator=None,
        max_items: int = 5,
        progress_weight: float = 0.5,
        history_turns: int = 10,
        max_tokens: int = 2048,
        name: str = "checklist_judge",
        device: str = "auto",
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = name
        self.checklists = _Checklists(source, generator, max_items)
        self.progress_weight = progress_weight
        self.history_turns = history_turns
        self.max_tokens = max_tokens
        device, _ = resolve_device(device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path).to(device).eval()
        except (OSError, ValueError) as exc:
            raise ConfigError("reward.path", f"cannot load a causal LM from {path!r}: {exc}",
                              "give a folder written by save_pretrained or a hub id.") from exc
        self.answer_ids = self._answer_ids()

    def _answer_ids(self) -> list[int]:
        """First token of each answer as the model would write it after the prompt."""
        ids = []
        for answer in ANSWERS:
            tokens = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
            ids.append(tokens[0])
        if len(set(ids)) != len(ids):
            raise ConfigError("reward.path", f"the answers {ANSWERS} share a first token in "
                              "this tokenizer.", "use a model whose tokenizer tells them apart.")
        return ids

    def prompt(self, traj: Trajectory, i: int, item: str) -> list[int]:
        """Prompt ids asking about ``item`` after step ``i`` of ``traj``."""
        from agentgym.policies.hf import render_prompt

        steps = traj.steps[max(0, i + 1 - self.history_turns): i + 1]
        lines = [f"Observation: {s.observation['text']}\nAction: {s.action}" for s in steps]
        goal = traj.steps[0].observation["goal"]
        question = (f"Task: {goal}\nChecklist item: {item}\n\nWhat the agent saw and did:\n"
                    + "\n".join(lines) + "\n\nHas the agent completed this checklist item? "
                    "Answer Yes, In progress, or No.")
        messages = [{"role": "system", "content": "You check an agent's progress on a task."},
                    {"role": "user", "content": question}]
        return render_prompt(self.tokenizer, messages)[-self.max_tokens:]

    def answer_probabilities(self, prompts: Sequence[list[int]], batch_size: int = 8) -> np.ndarray:
        """``(len(prompts), 3)`` renormalised probabilities of the three answers."""
        import torch

        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else self.tokenizer.eos_token_id
        rows = []
        for start in range(0, len(prompts), batch_size):
            part = prompts[start:start + batch_size]
            width = max(len(p) for p in part)
            ids = torch.full((len(part), width), pad, dtype=torch.long)
            mask = torch.zeros((len(part), width), dtype=torch.long)
            for r, p in enumerate(part):
                ids[r, :len(p)] = torch.tensor(p)
                mask[r, :len(p)] = 1
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(self.model.device),
                                    attention_mask=mask.to(self.model.device)).logits
            last = torch.tensor([len(p) - 1 for p in part], device=logits.device)
            picked = logits[torch.arange(len(part), device=logits.device), last][:, self.answer_ids]
            rows.append(torch.softmax(picked.float(), dim=-1).cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 3))

    def probabilities(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """``(steps, items, 3)`` probabilities per trajectory."""
        out = []
        for traj in trajectories:
            items = self.checklists(traj)
            prompts = [self.prompt(traj, i, item) for i in range(len(traj.steps))
                       for item in items]
            probs = self.answer_probabilities(prompts)
            out.append(probs.reshape(len(traj.steps), len(items), 3))
        return out

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        return [checklist_reward(p, self.progress_weight) for p in self.probabilities(trajectories)]
