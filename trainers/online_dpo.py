"""Online DPO: the policy update of AgentPRM (Xi et al., 2025), driven by a step scorer.

Each iteration: at logged states (steps of the iteration's rollouts) the current policy samples
``candidates`` actions; a step scorer (a process reward model, or any
:class:`~agentgym.rewards.StepRewarder`) scores each candidate in its episode's context; the best
and the worst candidate form a preference pair when their scores differ by more than
``min_margin``. The DPO loss (:func:`~agentgym.trainers.losses.dpo_loss`) then trains the policy
with the policy as it was at the start of the iteration as the reference.

Data parallel (``torchrun``, see :mod:`agentgym.trainers.distributed`): each rank passes its own
shard of the pairs to :meth:`OnlineDPOTrainer.update`, which gathers them (in rank order), so that
every rank walks the same minibatches of the whole list. The reference log-probabilities are
measured by each rank on its shard and shared. Each rank then runs the forward/backward pass of
its share of every minibatch through a ``DistributedDataParallel`` wrapper of the policy, its
loss weighted so that the ranks' shares add up to the minibatch's loss (a rank whose share is
empty runs a zero-weight pass, so that every rank joins the same collectives). An update on ``N``
ranks thus equals, up to float rounding, the single-process update on all the pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.best_of_n import candidate_trajectory
from agentgym.policies.hf import DTYPES
from agentgym.trainers.distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_sum,
    broadcast_object,
    current,
    lockstep,
    shard,
)
from agentgym.trainers.fsdp import PARALLEL
from agentgym.trainers.losses import dpo_loss, token_logprobs
from agentgym.trainers.policy_model import PolicyModelTrainer
from agentgym.trainers.rl_data import (
    AdmissibleConstraint,
    TurnRow,
    collate_rows,
    micro_batches,
    single_turn_row,
)
from agentgym.types import Trajectory

__all__ = ["OnlineDPOConfig", "OnlineDPOTrainer", "PreferencePair", "preference_pairs"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class OnlineDPOConfig:
    """Config of :class:`OnlineDPOTrainer`."""

    beta: float = 0.1
    """DPO's beta: strength of the pull towards the reference policy."""
    lr: float = 1e-4
    """AdamW learning rate."""
    epochs: int = 2
    """Passes over each iteration's pairs."""
    batch_pairs: int = 16
    """Pairs per optimizer step."""
    micro_tokens: int = 8192
    """Most (padded) tokens per forward pass."""
    candidates: int = 4
    """Actions sampled per logged state (>= 2)."""
    states: int = 256
    """Logged states sampled per iteration (all when fewer)."""
    min_margin: float = 0.0
    """Keep a pair only when the best score exceeds the worst by more than this."""
    constrain: str = "none"
    """How the sampling policy decoded: ``none``, or ``admissible`` (``policy.constrain``):
    sequence log-probs are then renormalised over the admissible answers."""
    clip_grad: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda``, ..."""
    dtype: str = "auto"
    """Autocast dtype (``auto``: bfloat16 on cuda, float32 on cpu)."""
    progress: bool = True
    """Show a progress bar over optimizer steps."""
    parallel: str = "ddp"
    """Under ``torchrun``: ``ddp`` (a whole model per rank) or ``fsdp`` (the model, gradients
    and optimizer state sharded over the ranks, for models that do not fit one device)."""

    def __post_init__(self) -> None:
        if self.parallel not in PARALLEL:
            raise ConfigError("trainer.parallel", f"{self.parallel!r} is not allowed.",
                              f"use one of: {', '.join(PARALLEL)}.")
        if self.candidates < 2:
            raise ConfigError("trainer.candidates", f"must be >= 2, got {self.candidates}.",
                              "a pair needs two sampled actions; use 4.")
        for name in ("epochs", "batch_pairs", "micro_tokens", "states"):
            if getattr(self, name) < 1:
                raise ConfigError(f"trainer.{name}", f"must be >= 1, got {getattr(self, name)}.")
        for name in ("beta", "lr"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"trainer.{name}", f"must be > 0, got {getattr(self, name)}.")
        for name in ("min_margin", "clip_grad", "weight_decay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"trainer.{name}", f"must be >= 0, got {getattr(self, name)}.")
        if self.constrain not in ("none", "admissible"):
            raise ConfigError("trainer.constrain", f"{self.constrain!r} is not allowed.",
                              "use none or admissible (as the sampling policy).")
        if self.dtype not in DTYPES:
            raise ConfigError("trainer.dtype", f"{self.dtype!r} is not a dtype.",
                              f"use one of: {', '.join(DTYPES)}.")


@dataclass(kw_only=True)
class PreferencePair:
    """A state's prompt ids with a preferred and a dispreferred action's ids and their scores."""

    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    chosen_score: float
    rejected_score: float
    admissible: list[str] = field(default_factory=list)


def preference_pairs(
    trajectories: Sequence[Trajectory],
    policy,
    scorer,
    *,
    candidates: int = 4,
    states: int = 256,
    min_margin: float = 0.0,
    seed: int = 0,
) -> tuple[list[PreferencePair], dict[str, float]]:
    """Sample ``candidates`` actions at up to ``states`` logged states and pair best with worst.

    ``policy`` must be a token policy (its outputs carry ``prompt_ids`` / ``action_ids``);
    ``scorer`` scores each candidate as the last step of its episode so far. Returns the pairs
    and statistics (states tried, pairs kept, mean score gap).
    """
    logged = [(traj, t) for traj in trajectories for t in range(len(traj.steps))]
    rng = np.random.default_rng(seed)
    if len(logged) > states:
        logged = [logged[i] for i in sorted(rng.choice(len(logged), states, replace=False))]
    inputs = [traj.agent_input(t) for traj, t in logged]
    repeated = [inp for inp in inputs for _ in range(candidates)]
    outputs = policy.act(repeated)
    if outputs and (outputs[0].prompt_ids is None or outputs[0].action_ids is None):
        raise ConfigError("policy", "online DPO needs a token policy (prompt and action ids).",
                          "use an hf policy.")
    scores = scorer.score([candidate_trajectory(i, o) for i, o in zip(repeated, outputs)])
    last = np.array([float(s[-1]) for s in scores])
    pairs, gaps = [], []
    for k in range(len(inputs)):
        block = list(range(k * candidates, (k + 1) * candidates))
        best = max(block, key=lambda i: last[i])
        worst = min(block, key=lambda i: last[i])
        gap = last[best] - last[worst]
        if gap <= min_margin or outputs[best].action_ids == outputs[worst].action_ids:
            continue
        pairs.append(PreferencePair(
            prompt_ids=list(outputs[best].prompt_ids), chosen_ids=list(outputs[best].action_ids),
            rejected_ids=list(outputs[worst].action_ids), chosen_score=float(last[best]),
            rejected_score=float(last[worst]),
            admissible=list(inputs[k].admissible_actions)))
        gaps.append(gap)
    stats = {"dpo/states": float(len(inputs)), "dpo/pairs": float(len(pairs)),
             "dpo/score_gap": float(np.mean(gaps)) if gaps else 0.0}
    return pairs, stats


class OnlineDPOTrainer(PolicyModelTrainer):
    """DPO updates of a causal LM on :class:`PreferencePair` s.

    Args:
        model_path: Checkpoint to train (a folder from :meth:`save` also restores the optimizer).
        config: Settings.
    """

    def __init__(self, model_path: str | Path, config: OnlineDPOConfig | None = None) -> None:
        import torch

        self.config = c = config or OnlineDPOConfig()
        self.dist = current()
        self.sharded = self.dist.distributed and c.parallel == "fsdp"
        self._load_policy(model_path, c.device, c.dtype, sharded=self.sharded)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=c.lr,
                                           weight_decay=c.weight_decay)
        self._restore_optimizer()
        self._synced = None
        if self.dist.distributed:  # a sharded model syncs its own gradients
            self._synced = self.model if self.sharded else self._ddp(self.model)

    def _passes(self, rows: Sequence[TurnRow], pick) -> int:
        """The most forward passes any rank runs over its rows ``pick(rank)`` of ``rows``: with
        a sharded model every forward pass is a collective, so every rank runs that many."""
        if not self.sharded:
            return 0
        return max(len(micro_batches([len(rows[i]) for i in pick(r)], self.config.micro_tokens))
                   for r in range(self.dist.world_size))

    def sequence_logprobs(self, rows: Sequence[TurnRow], *, grad: bool, constraint=None,
                          synced: bool = False, passes: int = 0, filler: TurnRow | None = None):
        """Sum of each row's action-token log-probabilities, shape ``(len(rows),)``
        (renormalised over admissible answers with a ``constraint``). With ``synced``, through
        the DDP wrapper (a backward pass then averages the gradients over the ranks).

        With ``passes``, that many forward passes (a sharded model needs every rank in each):
        those past the rows run on ``filler``, and their outputs join the last row's value
        times 0, so that a backward pass runs through them too."""
        import torch

        model = self._synced if synced else self.model
        out: list[Any] = [None] * len(rows)
        plan = micro_batches([len(r) for r in rows], self.config.micro_tokens)
        padding = []
        with torch.set_grad_enabled(grad):
            for idx, _ in lockstep(plan, max(passes, len(plan))):
                part = [rows[i] for i in idx] if idx is not None else [filler]
                batch = {k: v.to(self.device) for k, v in collate_rows(part, self.pad_id).items()}
                with torch.autocast(self.device.type, dtype=self.autocast_dtype,
                                    enabled=self.autocast_dtype != torch.float32):
                    logits = model(input_ids=batch["input_ids"],
                                   attention_mask=batch["attention_mask"]).logits
                logp = token_logprobs(logits, batch["input_ids"])
                if constraint is not None:
                    logp, _ = AdmissibleConstraint.apply(logits, logp, None,
                                                         constraint.positions(part))
                seq = (logp * batch["action_mask"]).sum(-1)
                if idx is None:
                    padding.append(seq.sum() * 0.0)
                    continue
                for k, i in enumerate(idx):
                    out[i] = seq[k]
        if not rows:  # a rank without rows that ran its share of the passes
            return torch.zeros(0, device=self.device)
        if padding:
            out[-1] = out[-1] + sum(padding)
        return torch.stack(out)

    def update(self, pairs: Sequence[PreferencePair], *, seed: int = 0,
               lr_scale: float = 1.0) -> dict[str, float]:
        """``epochs`` passes of DPO over ``pairs``; the reference is the policy before the call.

        Under torch.distributed, call it on every rank with that rank's own shard of the pairs
        (e.g. ``shard(pairs)`` when every rank holds the same list): the update is the one on the
        shards concatenated in rank order, rank 0's ``seed`` and ``lr_scale`` are used, and the
        metrics are those of the whole list (the same on every rank)."""
        from tqdm.auto import tqdm

        c = self.config
        if self.dist.distributed:
            pairs = [p for part in all_gather_objects(list(pairs)) for p in part]
            seed, lr_scale = broadcast_object((seed, lr_scale))
        if not pairs:
            log.warning("online DPO: no preference pairs this iteration (all candidates tied)")
            return {"loss/dpo": float("nan"), "dpo/accuracy": float("nan")}
        for group in self.optimizer.param_groups:
            group["lr"] = c.lr * lr_scale
        chosen = [single_turn_row(p.prompt_ids, p.chosen_ids, k) for k, p in enumerate(pairs)]
        rejected = [single_turn_row(p.prompt_ids, p.rejected_ids, k) for k, p in enumerate(pairs)]
        con = None
        if c.constrain == "admissible":
            con = AdmissibleConstraint(self.tokenizer, self.format, [p.admissible for p in pairs])
        reference = self._reference(chosen, rejected, con)
        rng = np.random.default_rng(seed)
        steps = c.epochs * -(-len(pairs) // c.batch_pairs)
        sums = {"loss/dpo": 0.0, "dpo/accuracy": 0.0, "dpo/margin": 0.0}
        bar = tqdm(total=steps, desc="dpo", disable=not c.progress or not self.dist.is_main)
        for _ in range(c.epochs):
            order = rng.permutation(len(pairs)).tolist()
            for start in range(0, len(pairs), c.batch_pairs):
                mb = order[start:start + c.batch_pairs]
                for key, value in self._step(mb, chosen, rejected, reference, con).items():
                    sums[key] += value
                bar.update(1)
        bar.close()
        if self.dist.distributed:  # each rank added up its share of every minibatch's values
            sums = all_reduce_sum(sums)
        return {k: v / steps for k, v in sums.items()}

    def _reference(self, chosen: list[TurnRow], rejected: list[TurnRow], con):
        """Sequence log-probs ``(chosen, rejected)`` of every pair under the policy as it is now,
        without gradients. Under torch.distributed each rank measures its shard of the pairs and
        every rank receives them all."""
        import torch

        everyone = list(range(len(chosen)))
        mine = shard(everyone, self.dist) if self.dist.distributed else everyone
        self.model.eval()
        measured = [torch.zeros(0, device=self.device), torch.zeros(0, device=self.device)]
        if mine or self.sharded:  # a sharded model needs every rank in every pass
            def shard_of(r):
                return shard(everyone, DistInfo(rank=r, world_size=self.dist.world_size))

            measured = [self.sequence_logprobs([rows[i] for i in mine], grad=False,
                                               constraint=con,
                                               passes=self._passes(rows, shard_of),
                                               filler=rows[0]) for rows in (chosen, rejected)]
        self.model.train()
        if not self.dist.distributed:
            return measured
        parts = all_gather_objects([m.cpu() for m in measured])
        return [torch.cat([p[k] for p in parts]).to(self.device) for k in range(2)]

    def _step(self, mb: list[int], chosen: list[TurnRow], rejected: list[TurnRow], reference,
              con) -> dict[str, float]:
        """One optimizer step on the pairs ``mb``; returns this process's share of the
        minibatch's loss, accuracy and margin (all of them in a single process).

        Under torch.distributed each rank takes its shard of ``mb``: DDP averages the ranks'
        gradients while the minibatch's loss is the sum of their shares' (each weighted by its
        share of the pairs), hence the factor ``world_size``."""
        import torch

        c, synced = self.config, self.dist.distributed
        part, weight = mb, 1.0
        if synced:
            part = shard(mb, self.dist)
            weight = len(part) / len(mb) * self.dist.world_size
            if not part:  # fewer pairs than ranks: a zero-weight pass keeps this rank in step
                part = mb[:1]

        def share(r):  # rank r's pairs of the minibatch (at least one: see above)
            return shard(mb, DistInfo(rank=r, world_size=self.dist.world_size)) or mb[:1]

        self.optimizer.zero_grad(set_to_none=True)
        pc, pr = (self.sequence_logprobs([rows[i] for i in part], grad=True, constraint=con,
                                         synced=synced, passes=self._passes(rows, share),
                                         filler=rows[mb[0]])
                  for rows in (chosen, rejected))
        loss, stats = dpo_loss(pc, pr, reference[0][part], reference[1][part], beta=c.beta)
        (loss * weight if synced else loss).backward()
        if c.clip_grad:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.clip_grad)
        self.optimizer.step()
        share = weight / self.dist.world_size  # of the minibatch's pairs
        return {"loss/dpo": loss.item() * share, "dpo/accuracy": stats["accuracy"] * share,
                "dpo/margin": stats["margin"] * share}

    def save(self, folder: str | Path) -> Path:
        """The policy (HF folder + prompt settings) and the optimizer state.

        Under torch.distributed call it on every rank: rank 0 writes, the others wait for it."""
        return self.save_policy(folder)
