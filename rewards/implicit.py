"""PRIME's implicit process reward: step rewards from a likelihood ratio, trained on outcomes.

PRIME (Cui et al. 2025, "Process Reinforcement through Implicit Rewards") needs no step labels.
Its process reward model is a causal LM ``pi_phi`` that starts as a copy of a frozen reference LM
``pi_ref``. The reward of step ``i`` (one agent action) is the scaled log-likelihood ratio of the
action's tokens ``y`` given what the agent read before writing them::

    r_i = beta * sum_y [log pi_phi(y | context) - log pi_ref(y | context)]

``pi_phi`` learns from outcomes alone: a trajectory's implicit reward ``R = sum_i r_i`` (the ratio
over all of its action tokens) is the logit of a binary cross-entropy against its success (1/0).
Raising ``R`` on won episodes and lowering it on lost ones makes ``pi_phi`` more likely than the
reference to write the actions that lead to wins, and each step gets its share of that as its
reward. Before any training ``pi_phi == pi_ref`` and every reward is exactly 0.

The LMs read exactly what :class:`~agentgym.policies.hf.HFPolicy` reads at the step: the prompt
ids from :func:`~agentgym.policies.hf.fit_prompt` (in the reference checkpoint's saved prompt
format, else ``ReActFormat(think=False)``), then the step's raw output (or its rendered action)
and eos.

Example:
    >>> prm = ImplicitPRM(ref_path="runs/sft", beta=0.05)     # doctest: +SKIP
    >>> prm.fit(trajectories)               # labels: trajectory.success
    >>> rewards = prm.score(trajectories)   # one array per trajectory
    >>> prm.save("runs/implicit"); ImplicitPRM.load("runs/implicit")

torch and transformers are imported when a model is loaded, never when agentgym is imported.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.hf import fit_prompt, resolve_device
from agentgym.prompts import (
    ReActFormat,
    checkpoint_format,
    load_prompt_settings,
    save_prompt_settings,
)
from agentgym.rewards.learned import read_reward_meta, steps_of, write_reward_meta
from agentgym.types import Trajectory

__all__ = ["ImplicitPRM", "ImplicitPRMConfig"]

log = logging.getLogger(__name__)

KIND = "implicit"
"""The rewarder named in a saved folder's ``agentgym_reward.json``."""

#: Settings that change what the rewarder computes; ``save`` records them and loading restores
#: them unless the constructor is given other values.
_SAVED = ("ref_path", "beta", "history_turns", "max_tokens")
_DEFAULTS: dict[str, Any] = {"beta": 0.05, "history_turns": 8, "max_tokens": 1024}

Pair = tuple[list[int], list[int]]
"""One step as the LMs read it: (prompt ids, action ids)."""


@dataclass(kw_only=True)
class ImplicitPRMConfig:
    """Config of :class:`ImplicitPRM`."""

    ref_path: str | None = None
    """Reference causal LM checkpoint (a ``from_pretrained`` folder or hub id); pi_phi starts
    as a copy of it."""
    path: str | None = None
    """A folder written by :meth:`ImplicitPRM.save` holding a trained pi_phi (null: start from
    the reference)."""
    beta: float = 0.05
    """Scale of the log-likelihood ratio (PRIME's beta)."""
    lr: float = 1e-4
    """AdamW learning rate of pi_phi."""
    epochs: float = 1.0
    """Passes over the trajectories in :meth:`ImplicitPRM.fit` (fractions allowed)."""
    batch_size: int = 4
    """Trajectories per optimizer step; also the most sequences in one forward pass."""
    max_tokens: int = 1024
    """Longest prompt + action sequence; the oldest history turns are dropped first."""
    history_turns: int = 8
    """Past turns in the prompt when the reference checkpoint saved no prompt settings."""
    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ..."""
    progress: bool = True
    """Show a progress bar while fitting."""

    def __post_init__(self) -> None:
        if not self.ref_path:
            raise ConfigError("reward.ref_path", "missing: the implicit PRM needs a reference LM.",
                              "pass reward.ref_path=<checkpoint folder>, e.g. the policy's SFT "
                              "checkpoint (`agentgym model init runs/tiny` makes a tiny one).")
        if not (math.isfinite(self.beta) and self.beta > 0):
            raise ConfigError("reward.beta", f"must be a finite number > 0, got {self.beta}.",
                              "use 0.05.")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError("reward.lr", f"must be > 0, got {self.lr}.", "try 1e-4.")
        if not (math.isfinite(self.epochs) and self.epochs > 0):
            raise ConfigError("reward.epochs", f"must be > 0, got {self.epochs}.", "use 1.")
        if self.batch_size < 1:
            raise ConfigError("reward.batch_size", f"must be >= 1, got {self.batch_size}.")
        if self.max_tokens < 2:
            raise ConfigError("reward.max_tokens", f"must be >= 2, got {self.max_tokens}.",
                              "use 1024.")
        if self.history_turns < 0:
            raise ConfigError("reward.history_turns", f"must be >= 0, got {self.history_turns}.")


class ImplicitPRM:
    """PRIME's implicit PRM as a step rewarder (see the module docstring for the maths).

    Args:
        path: Load pi_phi from a folder written by :meth:`save`; its ``ref_path``, ``beta``,
            ``history_turns`` and ``max_tokens`` come with it unless given here.
        ref_path: The reference causal LM checkpoint (kept frozen).
        beta: Scale of the log-likelihood ratio; default 0.05.
        lr: AdamW learning rate.
        epochs: Passes over the trajectories in :meth:`fit`.
        batch_size: Trajectories per optimizer step; also the most sequences per forward pass.
        max_tokens: Longest prompt + action sequence; default 1024.
        history_turns: Past turns shown when the reference has no saved prompt settings;
            default 8.
        device: ``auto``, ``cpu``, ``cuda``, ...
        progress: Show a progress bar in :meth:`fit`.
        name: Key of its rewards in ``step.rewards``.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        ref_path: str | None = None,
        beta: float | None = None,
        lr: float = 1e-4,
        epochs: float = 1.0,
        batch_size: int = 4,
        max_tokens: int | None = None,
        history_turns: int | None = None,
        device: str = "auto",
        progress: bool = True,
        name: str = KIND,
    ) -> None:
        saved = read_reward_meta(path, KIND) if path else {}
        given = {"ref_path": ref_path, "beta": beta, "history_turns": history_turns,
                 "max_tokens": max_tokens}
        settings = {**_DEFAULTS, **{k: saved[k] for k in _SAVED if k in saved},
                    **{k: v for k, v in given.items() if v is not None}}
        self.config = ImplicitPRMConfig(path=str(path) if path else None, lr=lr, epochs=epochs,
                                        batch_size=batch_size, device=device, progress=progress,
                                        **settings)
        self.name = name
        self._load()

    # --- models ---------------------------------------------------------------------------------

    def _load(self) -> None:
        """Tokenizer and reference from ``ref_path``; pi_phi from ``path`` or a copy of the ref."""
        import copy

        import torch

        c = self.config
        device, _ = resolve_device(c.device)
        try:
            self.device = torch.device(device)
        except RuntimeError as exc:
            raise ConfigError("reward.device", f"{c.device!r} is not a device: {exc}",
                              "use auto, cpu or cuda.") from exc
        self.tokenizer, self.ref_model = _load_lm(c.ref_path, "reward.ref_path", self.device)
        self.ref_model.requires_grad_(False)
        if c.path:
            _, self.model = _load_lm(c.path, "reward.path", self.device)
            if self.model.config.vocab_size != self.ref_model.config.vocab_size:
                raise ConfigError("reward.path", f"{c.path!r} has a vocabulary of "
                                  f"{self.model.config.vocab_size} tokens, its reference "
                                  f"{c.ref_path!r} one of {self.ref_model.config.vocab_size}.",
                                  "give the ref_path it was trained from.")
        else:
            self.model = copy.deepcopy(self.ref_model).requires_grad_(True)
        if self.tokenizer.eos_token_id is None:
            raise ConfigError("reward.ref_path", f"the tokenizer of {c.ref_path!r} has no eos "
                              "token, which ends every action.", "set its eos_token.")
        self.eos_id = self.tokenizer.eos_token_id
        self.pad_id = self.tokenizer.pad_token_id
        self.pad_id = self.eos_id if self.pad_id is None else self.pad_id
        has_settings = bool(load_prompt_settings(c.ref_path))
        self.format = (checkpoint_format(c.ref_path) if has_settings
                       else ReActFormat(think=False, history_turns=c.history_turns))
        context = getattr(self.ref_model.config, "max_position_embeddings", None)
        self.max_tokens = min(c.max_tokens, context) if context else c.max_tokens

    def save(self, path: str | Path) -> Path:
        """Save pi_phi and its tokenizer (Hugging Face format), the prompt settings and
        ``agentgym_reward.json`` (``ref_path``, ``beta``, ...) to ``path``.

        The folder is also a checkpoint an :class:`~agentgym.policies.hf.HFPolicy` can act with.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))
        save_prompt_settings(path, self.format)
        ref = Path(self.config.ref_path)
        settings = {k: getattr(self.config, k) for k in _SAVED}
        settings["ref_path"] = str(ref.resolve()) if ref.exists() else self.config.ref_path
        write_reward_meta(path, KIND, settings)
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> ImplicitPRM:
        """A rewarder saved by :meth:`save` (``overrides`` replace saved settings)."""
        return cls(path=str(path), **overrides)

    # --- what the LMs read ----------------------------------------------------------------------

    def encode(self, trajectory: Trajectory) -> list[Pair]:
        """(prompt ids, action ids) of every step, as :class:`HFPolicy` reads and writes them.

        The action is the step's raw output (else its rendered action) plus eos, cut to
        ``max_tokens - 1``; the prompt gets the rest of ``max_tokens`` (the same prompt as the
        policy's whenever it fits both budgets).
        """
        pairs = []
        for i, step in enumerate(trajectory.steps):
            text = step.raw_output or self.format.render_action(step.action)
            action = self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.eos_id]
            action = action[: self.max_tokens - 1]
            prompt, _ = fit_prompt(self.tokenizer, self.format, trajectory.agent_input(i),
                                   self.max_tokens - len(action))
            pairs.append((list(prompt), action))
        return pairs

    def _logprob_sums(self, model, pairs: Sequence[Pair]):
        """Per pair, the sum of ``log model(action token | everything before it)`` (a tensor).

        One forward pass per sequence, ``batch_size`` right-padded sequences of similar length
        at a time. Gradients flow when the caller allows them.
        """
        import torch
        import torch.nn.functional as F

        order = sorted(range(len(pairs)), key=lambda k: len(pairs[k][0]) + len(pairs[k][1]))
        sums = []
        for start in range(0, len(order), self.config.batch_size):
            chunk = [pairs[k] for k in order[start:start + self.config.batch_size]]
            width = max(len(p) + len(a) for p, a in chunk)
            ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            labels = torch.full((len(chunk), width), -100, dtype=torch.long)
            for row, (prompt, action) in enumerate(chunk):
                n = len(prompt) + len(action)
                ids[row, :n] = torch.tensor(prompt + action, dtype=torch.long)
                attention[row, :n] = 1
                labels[row, len(prompt):n] = torch.tensor(action, dtype=torch.long)
            logits = model(input_ids=ids.to(self.device),
                           attention_mask=attention.to(self.device)).logits
            # logits[:, t] predicts token t + 1; prompt and padding positions count 0.
            nll = F.cross_entropy(logits[:, :-1].float().transpose(1, 2),
                                  labels[:, 1:].to(self.device), ignore_index=-100,
                                  reduction="none")
            sums.append(-nll.sum(dim=1))
        inverse = torch.as_tensor(np.argsort(order), device=self.device)
        return torch.cat(sums)[inverse]

    def _trajectory_sums(self, model, encoded: Sequence[list[Pair]]):
        """Per trajectory, the sum of its steps' action log-probabilities (a tensor)."""
        import torch

        pairs = [p for steps in encoded for p in steps]
        owner = torch.as_tensor(np.repeat(np.arange(len(encoded)), [len(s) for s in encoded]),
                                device=self.device)
        step_sums = self._logprob_sums(model, pairs)
        return torch.zeros(len(encoded), device=self.device).index_add(0, owner, step_sums)

    # --- rewards and training -------------------------------------------------------------------

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """``beta * (log pi_phi - log pi_ref)`` of each step's action tokens, per trajectory."""
        import torch

        encoded = [self.encode(t) for t in trajectories]
        pairs = [p for steps in encoded for p in steps]
        if not pairs:
            return [np.zeros(0, dtype=np.float64) for _ in trajectories]
        self.model.eval()
        with torch.no_grad():
            phi = self._logprob_sums(self.model, pairs).double()
            ref = self._logprob_sums(self.ref_model, pairs).double()
        rewards = (self.config.beta * (phi - ref)).cpu().numpy()
        return np.split(rewards, np.cumsum([len(s) for s in encoded])[:-1])

    def fit(self, trajectories: Sequence[Trajectory]) -> list[dict[str, float]]:
        """Train pi_phi so that each trajectory's implicit reward predicts its success.

        The loss is the binary cross-entropy of ``sigmoid(R)`` against ``trajectory.success``,
        ``R`` being ``beta`` times the log-likelihood ratio summed over all its action tokens.
        AdamW at a constant ``lr``, gradients clipped to norm 1.0, ``epochs`` passes in a seeded
        order. Returns, per optimizer step, ``step``, ``loss``, ``reward`` (mean R of the batch)
        and ``accuracy`` (share of the batch whose sign of R matches its outcome).
        """
        import torch
        import torch.nn.functional as F
        from tqdm.auto import tqdm

        c = self.config
        kept = steps_of(trajectories)
        encoded = [self.encode(t) for t in kept]
        won = torch.tensor([float(t.success) for t in kept], device=self.device)
        if len(set(won.tolist())) < 2:
            log.warning("implicit PRM: every trajectory is a %s; with one outcome it learns only "
                        "to raise or lower all rewards", "win" if won[0] else "loss")
        with torch.no_grad():  # the reference is frozen: its sums hold for the whole fit
            ref = self._trajectory_sums(self.ref_model, encoded)
        per_epoch = math.ceil(len(kept) / c.batch_size)
        total = max(1, math.ceil(per_epoch * c.epochs))
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=c.lr)
        rng = np.random.default_rng(0)
        order: list[int] = []
        history: list[dict[str, float]] = []
        self.model.train()
        bar = tqdm(total=total, desc="fit implicit PRM", disable=not c.progress)
        for step in range(total):
            if not order:
                order = rng.permutation(len(kept)).tolist()
            batch, order = order[:c.batch_size], order[c.batch_size:]
            phi = self._trajectory_sums(self.model, [encoded[k] for k in batch])
            reward = c.beta * (phi - ref[batch])
            loss = F.binary_cross_entropy_with_logits(reward, won[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            optimizer.step()
            right = ((reward > 0).float() == won[batch]).float().mean()
            history.append({"step": step + 1, "loss": float(loss.item()),
                            "reward": float(reward.mean().item()), "accuracy": float(right)})
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        bar.close()
        self.model.eval()
        return history


def _load_lm(path: str, field: str, device):
    """Tokenizer and causal LM (float32, eval mode) from ``path``; a ConfigError if it fails."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            field,
            f"cannot load a causal LM from {path!r}: {exc}",
            "give a folder written by save_pretrained (config.json, weights, tokenizer), e.g. "
            "one made by `agentgym model init runs/tiny` or ImplicitPRM.save.",
        ) from exc
    return tokenizer, model.to(device).eval()
