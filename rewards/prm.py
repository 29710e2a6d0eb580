"""The process reward model shared by the learned step rewarders.

A PRM here is a decoder-only transformers *sequence classifier*
(``AutoModelForSequenceClassification``: the backbone plus a linear ``score`` head; one output
for scalar rewards, three for the checklist judge). Its input at step ``i`` is what the policy
read there, in the policy's chat prompt format (task, observations and earlier actions), followed
by the action written as the policy writes it (``Action: go to desk 1``). Thoughts are left out:
the PRM judges what was done, not how it was argued.

Packing. In the ``chat`` layout the input of step ``i + 1`` starts with the whole input of step
``i``, so one causal forward pass over an episode reads every step: the head's output on the last
token of action ``i`` is the score of ``(s_i, a_i)`` (a Q-like value) and its output on the last
prompt token before that action scores the state ``s_i`` alone (a V-like value). An episode longer
than the history window, or longer than ``max_tokens``, is split into several such
:class:`Chunk`\\ s. Errors the env reported are folded into the observation text, so they stay in
every later prompt and do not break the chain.

Saving writes a normal Hugging Face folder (weights, config, tokenizer) plus the prompt settings
and a small ``agentgym_reward.json`` written by the rewarder, so ``from_pretrained`` loads the
model without agentgym.

torch and transformers are imported when a model is built, never when agentgym is imported.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.hf import DTYPES, resolve_device
from agentgym.prompts import ReActFormat, load_prompt_settings, save_prompt_settings
from agentgym.types import AgentInput, Trajectory, Turn

__all__ = ["Chunk", "PRMModelConfig", "ProcessRewardModel"]

_CACHE = 4096
"""Rendered prompts a model keeps (see ``ProcessRewardModel._prompt``)."""

log = logging.getLogger(__name__)



@dataclass(kw_only=True)
class PRMModelConfig:
    """Where a PRM's weights come from, and how it reads trajectories."""

    path: str | None = None
    """Checkpoint folder or hub id. A causal LM (e.g. the policy's checkpoint) gets a fresh
    ``score`` head; a folder saved by a rewarder loads whole. ``None`` builds a tiny model."""
    tiny: dict[str, Any] = field(default_factory=lambda: {"hidden_size": 128, "layers": 2,
                                                          "heads": 4, "intermediate_size": 384})
    """:class:`~agentgym.models.TinyModelConfig` fields of the tiny model (``path: null``)."""
    vocab_size: int = 1024
    """Tokenizer size of the tiny model (trained on the trajectories it is fitted on)."""
    history_turns: int = 30
    """Past turns shown in each input (older ones dropped, the first one kept)."""
    goal_every_turn: bool = False
    """Restate the goal in every observation message."""
    max_tokens: int = 1024
    """Longest input sequence; longer episodes are split into chunks."""
    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ..."""
    dtype: str = "auto"
    """``auto`` (bfloat16 on cuda, float32 on cpu), ``float32``, ``bfloat16`` or ``float16``."""

    def __post_init__(self) -> None:
        if self.history_turns < 1:
            raise ConfigError("reward.model.history_turns",
                              f"must be >= 1, got {self.history_turns}.", "use 30.")
        if self.max_tokens < 16:
            raise ConfigError("reward.model.max_tokens", f"must be >= 16, got {self.max_tokens}.",
                              "use 1024.")
        if self.dtype not in DTYPES:
            raise ConfigError("reward.model.dtype", f"{self.dtype!r} is not a dtype.",
                              f"use one of: {', '.join(DTYPES)}.")

    def format(self) -> ReActFormat:
        """The prompt format of the PRM's inputs."""
        return ReActFormat(think=False, history_style="chat", max_admissible=0,
                           history_turns=self.history_turns, goal_every_turn=self.goal_every_turn)


@dataclass
class Chunk:
    """One input sequence and the steps it scores.

    Attributes:
        ids: Token ids.
        steps: Index (in the trajectory) of each step scored in this chunk.
        action_positions: Token index of the last token of each step's action (scores Q(s, a)).
        state_positions: Token index of the last prompt token before each action (scores V(s)).
    """

    ids: list[int]
    steps: list[int] = field(default_factory=list)
    action_positions: list[int] = field(default_factory=list)
    state_positions: list[int] = field(default_factory=list)


class ProcessRewardModel:
    """A sequence classifier that scores steps of trajectories (see the module docstring).

    Args:
        model: A transformers ``*ForSequenceClassification`` model of a decoder-only backbone.
        tokenizer: Its tokenizer.
        config: Prompt layout, sequence length and device.

    Build one with :meth:`build` (from a checkpoint, or a tiny model from trajectories) or
    :meth:`load` (a folder written by :meth:`save`).
    """

    def __init__(self, model, tokenizer, config: PRMModelConfig | None = None) -> None:
        self.config = config or PRMModelConfig()
        self.model = model
        self.tokenizer = tokenizer
        self.format = self.config.format()
        self._wide = ReActFormat(**{**self.format.settings(), "history_turns": 1 << 30})
        self._prompts: OrderedDict[tuple, list[int]] = OrderedDict()
        if not hasattr(model, "score") or not hasattr(model, "base_model"):
            raise ConfigError(
                "reward.model.path",
                f"{type(model).__name__} has no `score` head on a decoder backbone.",
                "use a decoder-only model (Llama, Qwen2, Mistral, GPT-2, ...).",
            )
        self.num_labels = int(model.config.num_labels)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None \
            else tokenizer.eos_token_id
        self.eos_id = tokenizer.eos_token_id
        if self.pad_id is None:
            raise ConfigError("reward.model.path", "the tokenizer has neither a pad nor an eos "
                              "token.", "give a tokenizer with an eos token.")

    # --- building, saving, loading --------------------------------------------------------------

    @classmethod
    def build(
        cls,
        config: PRMModelConfig,
        *,
        num_labels: int = 1,
        trajectories: Sequence[Trajectory] = (),
        seed: int = 0,
    ) -> ProcessRewardModel:
        """A PRM from ``config.path`` (fresh head if needed), or a tiny one when it is ``None``.

        The tiny model's tokenizer is trained on ``trajectories`` laid out as the PRM reads them.
        """
        if config.path:
            return cls.load(config.path, config=config, num_labels=num_labels)
        from agentgym.models.tiny import TinyModelConfig, build_tiny_model, train_tokenizer

        if not trajectories:
            raise ConfigError("reward.model.path", "a tiny PRM needs trajectories to train its "
                              "tokenizer on.", "give trajectories, or a checkpoint path.")
        texts = _episode_texts(trajectories, config.format())
        tokenizer = train_tokenizer(texts, vocab_size=config.vocab_size,
                                    model_max_length=max(2048, config.max_tokens))
        try:
            tiny = TinyModelConfig(**{"seed": seed, "max_position_embeddings":
                                      max(2048, config.max_tokens), **config.tiny})
        except TypeError as exc:
            raise ConfigError("reward.model.tiny", str(exc),
                              "use fields of TinyModelConfig (hidden_size, layers, ...).") from exc
        model = build_tiny_model(None, tokenizer=tokenizer, config=tiny, num_labels=num_labels)
        model.config.pad_token_id = tokenizer.pad_token_id
        return cls(model.to(_device(config)), tokenizer, config)

    @classmethod
    def load(
        cls, path: str | Path, *, config: PRMModelConfig | None = None,
        num_labels: int | None = None,
    ) -> ProcessRewardModel:
        """Load a saved PRM, or put a new ``num_labels`` head on any decoder checkpoint."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        config = replace(config or PRMModelConfig(), path=str(path))
        kwargs: dict[str, Any] = {}
        if num_labels is not None:
            kwargs["num_labels"] = num_labels
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            model = AutoModelForSequenceClassification.from_pretrained(
                str(path), dtype=getattr(torch, _dtype(config)), **kwargs)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                "reward.model.path", f"cannot load a model from {str(path)!r}: {exc}",
                "give a folder written by save_pretrained or a reachable hub id; "
                "path: null builds a tiny PRM.",
            ) from exc
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id \
                if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        settings = load_prompt_settings(path)
        if settings:
            config = replace(config, history_turns=settings.get("history_turns",
                                                                config.history_turns),
                             goal_every_turn=settings.get("goal_every_turn",
                                                          config.goal_every_turn))
        return cls(model.to(_device(config)), tokenizer, config)

    def save(self, path: str | Path) -> Path:
        """Save weights, tokenizer and prompt settings to ``path`` (Hugging Face format)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))
        save_prompt_settings(path, self.format)
        return path

    # --- inputs ---------------------------------------------------------------------------------

    def _action(self, action: str) -> list[int]:
        text = self.format.render_action(action)
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return (ids + [self.eos_id])[-(self.config.max_tokens // 2):]

    def _prompt(self, goal: str, observations: Sequence[str], actions: Sequence[str],
                start: int, i: int) -> list[int]:
        """Prompt ids of step ``i`` showing the turns ``start .. i - 1`` as history.

        Memoised (the newest ``_CACHE`` prompts): best-of-N candidates and preference sets
        score many actions after the same history, whose prompts are then rendered once.
        """
        from agentgym.policies.hf import render_prompt

        key = (goal, tuple(observations[start:i + 1]), tuple(actions[start:i]))
        ids = self._prompts.get(key)
        if ids is None:
            history = [Turn(observation=observations[k], action=actions[k])
                       for k in range(start, i)]
            inp = AgentInput(env_id="", goal=goal, observation=observations[i], history=history)
            ids = render_prompt(self.tokenizer, self._wide.messages(inp))
            self._prompts[key] = ids
            if len(self._prompts) > _CACHE:
                self._prompts.popitem(last=False)
        else:
            self._prompts.move_to_end(key)
        return list(ids)

    def _window(self, goal: str, observations: Sequence[str], actions: Sequence[str],
                i: int) -> tuple[int, list[int]]:
        """History start and prompt of a new chunk at step ``i``: at most half the turns and
        half the tokens allowed, so that the following steps fit in the same chunk."""
        turns = min(i, self.config.history_turns // 2)
        while True:
            ids = self._prompt(goal, observations, actions, i - turns, i)
            if len(ids) <= self.config.max_tokens // 2 or turns == 0:
                return i - turns, ids
            turns //= 2

    def _advance(self, current: Chunk | None, start: int, goal: str,
                 observations: Sequence[str], actions: Sequence[str], i: int,
                 chunks: list[Chunk]) -> tuple[Chunk, int]:
        """Add step ``i`` to ``current`` (a copy: ``current`` itself is left as it was) or to
        a new chunk appended to ``chunks``; returns that chunk and its history start."""
        c = self.config
        act = self._action(actions[i])
        ids: list[int] = []
        if current is not None:
            ids = self._prompt(goal, observations, actions, start, i)
            n = len(current.ids)
            if (i - start > c.history_turns or len(ids) + len(act) > c.max_tokens
                    or ids[:n] != current.ids):
                current = None
        if current is None:
            start, ids = self._window(goal, observations, actions, i)
            ids = ids[-(c.max_tokens - len(act)):]
            chunk = Chunk(ids=[])
            chunks.append(chunk)
        else:
            chunk = Chunk(ids=list(current.ids), steps=list(current.steps),
                          action_positions=list(current.action_positions),
                          state_positions=list(current.state_positions))
            chunks[-1] = chunk
        chunk.ids += ids[len(chunk.ids):]
        chunk.state_positions.append(len(chunk.ids) - 1)
        chunk.ids += act
        chunk.action_positions.append(len(chunk.ids) - 1)
        chunk.steps.append(i)
        return chunk, start

    def encode(self, goal: str, observations: Sequence[str], actions: Sequence[str]) -> list[Chunk]:
        """Chunks scoring each ``actions[i]`` taken after ``observations[: i + 1]``.

        A chunk grows while the next step's prompt extends it, it shows at most
        ``history_turns`` turns and it stays within ``max_tokens``; a new chunk starts with
        a shorter history window. The view of step ``i`` depends only on steps ``<= i``.
        """
        chunks: list[Chunk] = []
        current, start = None, 0
        for i in range(len(actions)):
            current, start = self._advance(current, start, goal, observations, actions, i,
                                           chunks)
        return chunks

    def encode_episode(self, traj: Trajectory, *, goal: str | None = None) -> list[Chunk]:
        """The chunks that score every step of ``traj`` (``goal`` replaces the task text)."""
        if not traj.steps:
            return []
        observations = [s.observation["text"] for s in traj.steps]
        actions = [s.action for s in traj.steps]
        return self.encode(goal if goal is not None else traj.steps[0].observation["goal"],
                           observations, actions)

    def encode_candidates(self, inp: AgentInput, actions: Sequence[str], *,
                          goal: str | None = None) -> list[Chunk]:
        """One chunk per candidate, scoring it as the next action after ``inp`` (a policy's
        input): the same view :meth:`encode_episode` gives that step. The history is encoded
        once for all candidates."""
        goal = goal if goal is not None else inp.goal
        observations = [t.observation for t in inp.history] + [inp.observation]
        past = [t.action for t in inp.history]
        chunks: list[Chunk] = []
        current, start = None, 0
        for i in range(len(past)):
            current, start = self._advance(current, start, goal, observations, past, i, chunks)
        out = []
        for action in actions:
            scratch = list(chunks)
            last, _ = self._advance(current, start, goal, observations, [*past, action],
                                    len(past), scratch)
            out.append(Chunk(ids=last.ids, steps=[0], state_positions=last.state_positions[-1:],
                             action_positions=last.action_positions[-1:]))
        return out

    # --- forward passes -------------------------------------------------------------------------

    def forward(self, chunks: Sequence[Chunk], *, batch_tokens: int = 16384) -> list[Any]:
        """Head outputs at every chunk's positions, with gradients.

        Returns one tensor per chunk of shape ``(2, n_steps, num_labels)``: ``[0]`` at the state
        positions, ``[1]`` at the action positions. Chunks are padded on the right and run in
        forward passes of at most ``batch_tokens`` tokens.
        """
        import torch

        device = self.model.device
        out: list[Any] = [None] * len(chunks)
        order = sorted(range(len(chunks)), key=lambda k: len(chunks[k].ids))
        for group in _token_batches([len(chunks[k].ids) for k in order], batch_tokens):
            part = [order[g] for g in group]
            width = max(len(chunks[k].ids) for k in part)
            ids = torch.full((len(part), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(part), width), dtype=torch.long)
            for row, k in enumerate(part):
                n = len(chunks[k].ids)
                ids[row, :n] = torch.tensor(chunks[k].ids, dtype=torch.long)
                mask[row, :n] = 1
            hidden = self.model.base_model(input_ids=ids.to(device),
                                           attention_mask=mask.to(device)).last_hidden_state
            for row, k in enumerate(part):
                c = chunks[k]
                where = torch.tensor([c.state_positions, c.action_positions], device=device)
                out[k] = self.model.score(hidden[row][where]).float()
        return out

    def step_outputs(self, chunks: Sequence[Chunk], outputs: Sequence[Any], n_steps: int):
        """Per-step ``(2, n_steps, num_labels)`` tensor of one episode from its chunks."""
        import torch

        full = torch.zeros((2, n_steps, self.num_labels), device=outputs[0].device) \
            if outputs else torch.zeros((2, 0, self.num_labels))
        for c, o in zip(chunks, outputs):
            full[:, c.steps] = o
        return full

    def score_episodes(
        self, encoded: Sequence[Sequence[Chunk]], n_steps: Sequence[int], *,
        batch_tokens: int = 16384,
    ) -> list[np.ndarray]:
        """Per-episode ``(2, n_steps, num_labels)`` arrays without gradients (eval mode)."""
        import torch

        flat = [c for chunks in encoded for c in chunks]
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                by_chunk = self.forward(flat, batch_tokens=batch_tokens)
        finally:
            self.model.train(was_training)
        result, at = [], 0
        for chunks, n in zip(encoded, n_steps):
            part = by_chunk[at:at + len(chunks)]
            at += len(chunks)
            result.append(self.step_outputs(chunks, part, n).cpu().numpy())
        return result

    def score_candidates(
        self, inputs: Sequence[AgentInput], actions: Sequence[str], *, batch_tokens: int = 16384,
    ) -> np.ndarray:
        """Head outputs ``(len(actions), num_labels)`` of each ``(inputs[k], actions[k])``."""
        chunks = [self.encode_candidates(inp, [a]) for inp, a in zip(inputs, actions)]
        outs = self.score_episodes(chunks, [1] * len(chunks), batch_tokens=batch_tokens)
        return np.stack([o[1, 0] for o in outs]) if outs else np.zeros((0, self.num_labels))


# --- helpers -----------------------------------------------------------------------------------


def _episode_texts(trajectories: Sequence[Trajectory], fmt: ReActFormat) -> list[str]:
    """Tokenizer training text: each episode laid out as the PRM reads it."""
    wide = ReActFormat(**{**fmt.settings(), "history_turns": 1 << 30})
    texts = []
    for traj in trajectories:
        if not traj.steps:
            continue
        steps = traj.steps
        history = [Turn(observation=s.observation["text"], action=s.action) for s in steps[:-1]]
        inp = AgentInput(env_id="", goal=steps[0].observation["goal"],
                         observation=steps[-1].observation["text"], history=history)
        messages = [*wide.messages(inp),
                    {"role": "assistant", "content": wide.render_action(steps[-1].action)}]
        texts.append("".join(f"{m['role']}\n{m['content']}\n" for m in messages))
    return texts


def _token_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive index groups whose padded size (count x longest) stays within ``budget``."""
    groups: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for k, n in enumerate(lengths):
        if current and max(longest, n) * (len(current) + 1) > budget:
            groups.append(current)
            current, longest = [], 0
        current.append(k)
        longest = max(longest, n)
    if current:
        groups.append(current)
    return groups


def _device(config: PRMModelConfig) -> str:
    return resolve_device(config.device)[0]


def _dtype(config: PRMModelConfig) -> str:
    return resolve_device(config.device, config.dtype)[1]
