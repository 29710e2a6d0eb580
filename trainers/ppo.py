"""PPO at the turn level, with a critic (actor-critic) or with group baselines (GRPO / RLOO).

One :meth:`PPOTrainer.update` takes a batch of trajectories whose steps carry a step reward
(``step.rewards[config.reward_key]``, written by a rewarder or a
:class:`~agentgym.rewards.Composite`) and token data recorded at rollout, and:

1. recomputes, without gradients, each turn's action log-probabilities under the current policy
   (the "old" policy of the ratio), under the frozen reference policy (for the KL term) and the
   critic's ``V(s_t)`` at the last prompt token (plus ``V`` of the final observation of
   truncated episodes, to bootstrap from);
2. turns rewards into per-turn advantages: GAE over turns (``advantage=gae``, needs a critic) or
   group baselines from same-start episodes (``grpo`` / ``rloo``), optionally plus GiGPO-style
   step groups (``step_groups``); the KL penalty is subtracted from each turn's reward
   (``kl_mode=reward``) or added to the loss (``kl_mode=loss``);
3. runs ``epochs`` passes of shuffled minibatches of turns: clipped ratio objective on every
   action token with the turn's advantage, clipped value loss, entropy bonus, gradient clipping.

The maths are the pure functions of :mod:`agentgym.trainers.advantages` and
:mod:`agentgym.trainers.losses`; this module is the loop around them. The critic is a linear
value head on the policy's last hidden state (``critic=shared``), on a separate copy of the
starting model (``critic=separate``), or absent (``critic=none``, group baselines only).

Data parallel (``torchrun``, see :mod:`agentgym.trainers.distributed`): each rank passes its own
shard of the trajectories; :meth:`PPOTrainer.prepare` gathers the shards (in rank order) so that
advantages, group baselines, whitening and minibatches are those of the whole batch, and splits
the measuring forward passes over the ranks. In :meth:`PPOTrainer.train_on` every rank walks the
same minibatches and runs the forward/backward passes of its share of each one through
``DistributedDataParallel`` wrappers of the policy, the critic model and the value head, which
sum the gradients; ranks with fewer micro-batches run zero-weight ones so that every rank takes
part in the same collectives. An update on ``N`` ranks thus equals (up to float rounding) a
single-process update on the concatenated shards. :meth:`PPOTrainer.save` writes on rank 0.
With ``parallel=fsdp`` the policy, the critic and the reference are sharded instead
(:mod:`agentgym.trainers.fsdp`): the same update, with every forward pass in lockstep too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.hf import fit_prompt
from agentgym.trainers.advantages import (
    discounted_sum,
    explained_variance,
    group_advantages,
    step_group_advantages,
    turn_gae,
    whiten,
)
from agentgym.trainers.distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    broadcast_object,
    current,
    lockstep,
    no_sync,
    shard,
)
from agentgym.trainers.fsdp import full_state_dict, load_sharded, shard_model
from agentgym.trainers.losses import (
    entropy_from_logits,
    kl_per_token,
    ppo_policy_loss,
    token_logprobs,
    value_loss,
)
from agentgym.trainers.policy_model import PolicyModelTrainer, last_hidden_module
from agentgym.trainers.ppo_config import ADVANTAGES, CRITICS, PPOConfig
from agentgym.trainers.rl_data import (
    AdmissibleConstraint,
    TurnRow,
    collate_rows,
    final_input,
    micro_batches,
    per_token,
    single_turn_row,
    split_like,
    state_key,
    step_rewards,
    turn_minibatches,
    turn_rows,
)
from agentgym.types import Trajectory

__all__ = ["ADVANTAGES", "CRITICS", "PPOBatch", "PPOConfig", "PPOTrainer"]

log = logging.getLogger(__name__)

_CRITIC_FILE = "critic.pt"


@dataclass(kw_only=True)
class PPOBatch:
    """A batch ready for PPO epochs: rows, what was measured before the update, per turn
    (``logp`` and ``ref`` as tensors over the action tokens, ``value``), flat per-turn advantages
    and critic targets, and batch statistics."""

    rows: list[TurnRow]
    measured: dict[str, list]
    advantages: np.ndarray
    targets: np.ndarray
    metrics: dict[str, float]
    constraint: AdmissibleConstraint | None = None


class PPOTrainer(PolicyModelTrainer):
    """Turn-level PPO on a transformers causal LM (see the module docstring).

    Args:
        model_path: Checkpoint to train (a folder saved by :meth:`save` also restores the critic
            and the optimizer state).
        config: Settings.
        reference: Checkpoint of the reference policy for the KL term (default: ``model_path``);
            loaded only when ``kl_coef > 0``.
    """

    def __init__(self, model_path: str | Path, config: PPOConfig | None = None, *,
                 reference: str | Path | None = None) -> None:
        import torch

        self.config = c = config or PPOConfig()
        self.dist = current()
        # sharded (before the optimizer, which must hold the shards) or whole on every rank
        self.sharded = self.dist.distributed and c.parallel == "fsdp"
        self._load_policy(model_path, c.device, c.dtype, sharded=self.sharded)
        self.reference = None
        if c.kl_coef > 0:
            self.reference = self._load_model(reference or self.model_path).eval()
            self.reference.requires_grad_(False)
        self.critic_model, self.value_head = self._build_critic()
        params = [{"params": list(self.model.parameters()), "lr": c.lr}]
        critic_params = list(self.value_head.parameters()) if self.value_head else []
        if self.critic_model is not None:
            critic_params += list(self.critic_model.parameters())
        if critic_params:
            params.append({"params": critic_params, "lr": c.critic_lr or c.lr})
        self.optimizer = torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        self._base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self._restore_optimizer()
        self._synced = None
        if self.sharded:  # the sharded modules sync their own gradients
            critic = (last_hidden_module(self.critic_model)
                      if self.critic_model is not None else None)
            self._synced = (self.model, critic, self.value_head)
        elif self.dist.distributed:
            self._synced = self._wrap_ddp()

    def _build_critic(self):
        import torch

        c = self.config
        if c.critic == "none":
            return None, None
        saved = Path(self.model_path) / _CRITIC_FILE
        state = None  # sharded: rank 0 reads it and sends the head's weights
        if saved.exists() and (self.dist.is_main or not self.sharded):
            state = torch.load(saved, weights_only=False)
        critic_model = None
        if c.critic == "separate":
            critic_model = self._load_model(self.model_path, (state or {}).get("model"))
        hidden = (critic_model or self.model).config.hidden_size
        head = torch.nn.Linear(hidden, 1)
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
        head_state = (state or {}).get("head")
        if self.sharded:
            head_state = broadcast_object(head_state)
        if head_state is not None:
            head.load_state_dict(head_state)
        if self.sharded:
            return critic_model, shard_model(head, self.mesh)
        return critic_model, head.to(self.device)

    def _load_model(self, path, state: dict | None = None):
        """A causal LM from ``path`` (with ``state`` loaded over it), on the training device or
        sharded."""
        import torch
        from transformers import AutoModelForCausalLM

        if self.sharded:
            return load_sharded(path, self.mesh, state=state)
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
        if state is not None:
            model.load_state_dict(state)
        return model.to(self.device)

    def _wrap_ddp(self) -> tuple:
        """DDP wrappers of (policy, critic model's last hidden state, value head) that the
        backward passes run through under torch.distributed (``None`` where there is none)."""
        critic = head = None
        if self.critic_model is not None:
            critic = self._ddp(last_hidden_module(self.critic_model), find_unused=True)
        if self.value_head is not None:
            head = self._ddp(self.value_head)
        return self._ddp(self.model), critic, head

    # --- forward passes ------------------------------------------------------------------------

    def _forward(self, batch: dict[str, Any], *, values: bool, entropy: bool = False,
                 synced: bool = False):
        """Token log-probs ``(N, L)``, the critic's ``V(s_t)`` per span ``(S,)`` (or ``None``)
        and, if asked, the entropy of each position ``(N, L)``. With ``synced``, through the
        DDP wrappers (a backward pass then averages the gradients over the ranks)."""
        import torch

        model, critic, head = self._synced if synced else (self.model, None, self.value_head)
        want_hidden = values and self.config.critic == "shared"
        with torch.autocast(self.device.type, dtype=self.autocast_dtype,
                            enabled=self.autocast_dtype != torch.float32):
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        output_hidden_states=want_hidden)
            v = None
            if values and head is not None:
                if want_hidden:
                    hidden = out.hidden_states[-1]
                elif critic is not None:
                    hidden = critic(batch["input_ids"], batch["attention_mask"])
                else:
                    hidden = self.critic_model(
                        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        output_hidden_states=True).hidden_states[-1]
                picked = hidden[batch["span_row"], batch["value_index"]].float()
                v = head(picked).squeeze(-1)
        logp = token_logprobs(out.logits, batch["input_ids"])
        ent = entropy_from_logits(out.logits) if entropy else None
        logp, ent = AdmissibleConstraint.apply(out.logits, logp, ent, batch.get("constrain"))
        return logp, v, ent

    def _batch(self, rows: Sequence[TurnRow], constraint=None) -> dict[str, Any]:
        batch = {k: v.to(self.device) for k, v in collate_rows(rows, self.pad_id).items()}
        batch["constrain"] = constraint.positions(rows) if constraint is not None else None
        return batch

    def _measure(self, rows: list[TurnRow], n_turns: int, constraint=None) -> dict[str, list]:
        """Per turn, without gradients: action log-probs (current and reference) and V(s_t).

        Under torch.distributed (same ``rows`` on every rank) each rank measures its shard of
        the rows and every rank receives all the measurements."""
        out: dict[str, list] = {"logp": [None] * n_turns, "ref": [None] * n_turns,
                                "value": [0.0] * n_turns}
        mine = shard(rows, self.dist) if self.dist.distributed else rows
        passes = 0
        if self.sharded:  # every forward pass is a collective: run as many as the busiest rank
            world = self.dist.world_size
            passes = max(len(self._measure_plan(shard(rows, DistInfo(rank=r, world_size=world))))
                         for r in range(world))
        found = self._measure_rows(mine, constraint, passes=passes,
                                   filler=rows[0] if rows else None)
        for part in all_gather_objects(found):
            for turn, (logp, ref, value) in part.items():
                out["logp"][turn] = logp
                if ref is not None:
                    out["ref"][turn] = ref
                if value is not None:
                    out["value"][turn] = value
        return out

    def _measure_plan(self, rows: Sequence[TurnRow]) -> list[list[int]]:
        return micro_batches([len(r) for r in rows], self.config.micro_tokens)

    def _measure_rows(self, rows: Sequence[TurnRow], constraint=None, *, passes: int = 0,
                      filler: TurnRow | None = None) -> dict[int, tuple]:
        """Turn index -> (action log-probs, reference log-probs or None, V(s_t) or None).

        With ``passes``, that many forward passes: the ones past this rank's micro-batches run
        on ``filler`` and are dropped (sharded models need every rank in every pass)."""
        import torch

        found: dict[int, tuple] = {}
        plan = self._measure_plan(rows)
        self.model.eval()
        with torch.no_grad():
            for idx, _ in lockstep(plan, max(passes, len(plan))):
                batch = self._batch([rows[i] for i in idx] if idx is not None else [filler],
                                    constraint)
                logp, v, _ = self._forward(batch, values=self.value_head is not None)
                ref = None
                if self.reference is not None:
                    ref_logits = self.reference(input_ids=batch["input_ids"],
                                                attention_mask=batch["attention_mask"]).logits
                    ref, _ = AdmissibleConstraint.apply(
                        ref_logits, token_logprobs(ref_logits, batch["input_ids"]), None,
                        batch["constrain"])
                if idx is None:
                    continue
                s = 0
                for k, i in enumerate(idx):
                    for (start, end), turn in zip(rows[i].spans, rows[i].turns):
                        found[turn] = (logp[k, start:end].cpu(),
                                       ref[k, start:end].cpu() if ref is not None else None,
                                       float(v[s]) if v is not None else None)
                        s += 1
        self.model.train()
        return found

    def _bootstrap_values(self, trajectories: Sequence[Trajectory]) -> list[float]:
        """``V`` after the last turn: 0 when terminated, the critic's value when cut short."""
        values = [0.0] * len(trajectories)
        cut = [i for i, t in enumerate(trajectories) if t.steps and not t.steps[-1].terminated]
        if not cut or self.value_head is None:
            return values
        rows = []
        for n, i in enumerate(cut):
            prompt, _ = fit_prompt(self.tokenizer, self.format, final_input(trajectories[i]),
                                   self.config.max_prompt_tokens)
            rows.append(single_turn_row(prompt, [self.pad_id], n))
        measured = self._measure(rows, len(cut))["value"]
        for i, v in zip(cut, measured):
            values[i] = v
        return values

    # --- advantages ----------------------------------------------------------------------------

    def advantages(self, trajectories: Sequence[Trajectory], rewards: list[np.ndarray],
                   values: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per episode: advantages and critic targets (targets are GAE returns; for group
        baselines they are the discounted returns-to-go)."""
        c = self.config
        if c.advantage == "gae":
            last = self._bootstrap_values(trajectories)
            pairs = [turn_gae(r, v, gamma=c.gamma, lam=c.lam, last_value=b)
                     for r, v, b in zip(rewards, values, last)]
            return [a for a, _ in pairs], [g for _, g in pairs]
        groups = [(t.env_id, t.seed, t.group) for t in trajectories]
        totals = np.array([float(r.sum()) for r in rewards])
        episode = group_advantages(totals, groups, method=c.advantage, scale=c.scale_groups)
        advs = [np.full(len(r), a) for r, a in zip(rewards, episode)]
        to_go = [discounted_sum(r, c.gamma) for r in rewards]
        if c.step_groups:
            keys = [[state_key(s.observation) for s in t.steps] for t in trajectories]
            loo = group_advantages(totals, groups, method="rloo")
            steps = step_group_advantages(to_go, keys, groups, fallback=totals - loo,
                                          scale=c.scale_groups)
            advs = [a + c.step_weight * s for a, s in zip(advs, steps)]
        return advs, to_go

    # --- the update ----------------------------------------------------------------------------

    def update(self, trajectories: Sequence[Trajectory], *, seed: int = 0,
               lr_scale: float = 1.0) -> dict[str, float]:
        """One PPO update on ``trajectories`` (:meth:`prepare` then :meth:`train_on`); returns
        namespaced metrics.

        Under torch.distributed, call it on every rank with that rank's own shard (e.g.
        ``shard(trajectories)`` when every rank holds the same list): the update is the one on
        the shards concatenated in rank order, and the metrics are those of that whole batch."""
        batch = self.prepare(trajectories)
        return {**batch.metrics, **self.train_on(batch, seed=seed, lr_scale=lr_scale)}

    def prepare(self, trajectories: Sequence[Trajectory]) -> PPOBatch:
        """Rows, old/reference log-probs, values, advantages and critic targets of a batch.

        Under torch.distributed ``trajectories`` is this rank's shard; the batch holds every
        rank's (the same batch on every rank)."""
        c = self.config
        if self.dist.distributed:
            trajectories = [t for part in all_gather_objects(list(trajectories)) for t in part]
        trajectories = [t for t in trajectories if t.steps]
        if not trajectories:
            raise ConfigError("trajectories", "no steps to train on.", "collect episodes first.")
        rows, n_turns = turn_rows(trajectories, self.tokenizer, self.format,
                                  max_prompt_tokens=c.max_prompt_tokens)
        constraint = None
        if c.constrain == "admissible":
            constraint = AdmissibleConstraint(self.tokenizer, self.format, [
                list(s.observation.get("admissible_actions", ()))
                for t in trajectories for s in t.steps])
        measured = self._measure(rows, n_turns, constraint)
        rewards = step_rewards(trajectories, c.reward_key)
        kl_turn = np.zeros(n_turns)
        if self.reference is not None:
            kl_turn = np.array([float(kl_per_token(lp, ref, kind=c.kl_estimator).sum())
                                for lp, ref in zip(measured["logp"], measured["ref"])])
            if c.kl_mode == "reward":
                rewards = split_like(np.concatenate(rewards) - c.kl_coef * kl_turn, rewards)
        values = split_like(np.array(measured["value"]), rewards)
        advs, targets = self.advantages(trajectories, rewards, values)
        flat_adv, flat_target = np.concatenate(advs), np.concatenate(targets)
        metrics = {
            "train/turns": float(n_turns),
            "train/sequences": float(len(rows)),
            "train/reward_mean": float(np.concatenate(rewards).mean()),
            "train/advantage_std": float(flat_adv.std()),
        }
        if self.reference is not None:  # KL per turn to the reference, summed over its tokens
            metrics["train/kl_ref"] = float(kl_turn.mean())
        if self.value_head is not None:
            metrics["train/explained_variance"] = explained_variance(measured["value"],
                                                                     flat_target)
            metrics["train/value_mean"] = float(np.mean(measured["value"]))
        if c.normalize_advantages:
            flat_adv = whiten(flat_adv)
        return PPOBatch(rows=rows, measured=measured, advantages=flat_adv, targets=flat_target,
                        metrics=metrics, constraint=constraint)

    def train_on(self, batch: PPOBatch, *, seed: int = 0, lr_scale: float = 1.0
                 ) -> dict[str, float]:
        """``epochs`` passes of shuffled minibatches (of about ``minibatch_turns`` turns, whole
        rows) over a prepared batch.

        Under torch.distributed every rank must pass the same batch (as :meth:`prepare` makes
        it); rank 0's ``seed`` and ``lr_scale`` are used on all of them."""
        from tqdm.auto import tqdm

        c = self.config
        seed, lr_scale = broadcast_object((seed, lr_scale))
        for group, base in zip(self.optimizer.param_groups, self._base_lrs):
            group["lr"] = base * lr_scale
        rng = np.random.default_rng(seed)
        epochs = [turn_minibatches(batch.rows, rng.permutation(len(batch.rows)), c.minibatch_turns)
                  for _ in range(c.epochs)]
        steps = sum(len(e) for e in epochs)
        sums: dict[str, float] = {}
        bar = tqdm(total=steps, desc="ppo", disable=not c.progress or not self.dist.is_main)
        for minibatches in epochs:
            for mb in minibatches:
                for k, v in self._minibatch(batch, mb, backward=True).items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.update(1)
        bar.close()
        if self.dist.distributed:  # each rank summed its share of every minibatch's losses
            norm = sums.pop("train/grad_norm", None)  # of the synced gradients: the same
            sums = all_reduce_sum(sums)
            if norm is not None:
                sums["train/grad_norm"] = norm
        metrics = {k: v / steps for k, v in sums.items()}
        metrics["train/optimizer_steps"] = float(steps)
        metrics["train/lr"] = float(self.optimizer.param_groups[0]["lr"])
        return metrics

    def batch_loss(self, batch: PPOBatch) -> float:
        """The full objective (policy + value + KL loss - entropy bonus) of ``batch`` under the
        current weights, against the batch's fixed old log-probs and targets; no update."""
        import torch

        with torch.no_grad():
            return self._minibatch(batch, list(range(len(batch.rows))),
                                   backward=False)["loss/total"]

    def _minibatch(self, batch: PPOBatch, mb: list[int], *, backward: bool) -> dict[str, float]:
        """Losses of the rows ``mb`` (micro-batched); with ``backward``, one optimizer step.

        Under torch.distributed a backward minibatch is split over the ranks: each one adds up
        its share of the losses (normalised by the whole minibatch's turns and tokens)."""
        import torch

        c, rows = self.config, batch.rows
        totals = {"loss/policy": 0.0, "loss/value": 0.0, "loss/kl": 0.0, "loss/total": 0.0,
                  "train/entropy": 0.0, "train/clipfrac": 0.0, "train/approx_kl": 0.0}
        n_turns = sum(len(rows[i].turns) for i in mb)
        tokens = sum(e - s for i in mb for s, e in rows[i].spans)
        if backward:
            self.optimizer.zero_grad(set_to_none=True)
        synced = backward and self.dist.distributed
        for part, weight, sync in self._micro_steps(rows, mb, synced=synced):
            with contextlib.nullcontext() if sync else no_sync(self._synced):
                loss = self._micro_loss(batch, part, n_turns, tokens,
                                        totals if weight else None, synced=synced)
                if backward:
                    # DDP averages over the ranks; the minibatch's loss is their sum
                    (loss * weight if synced else loss).backward()
        if backward:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            if c.clip_grad:
                norm = torch.nn.utils.clip_grad_norm_(params, c.clip_grad)
                if hasattr(norm, "full_tensor"):  # sharded: the ranks' parts of the norm
                    norm = norm.full_tensor()
                totals["train/grad_norm"] = float(norm)
            self.optimizer.step()
        return totals

    def _micro_steps(self, rows: Sequence[TurnRow], mb: list[int], *, synced: bool
                     ) -> list[tuple[list[TurnRow], float, bool]]:
        """The micro-batches of this process's part of ``mb``: (rows, loss weight, whether its
        backward pass syncs the gradients).

        With ``synced``, every rank runs as many micro-steps as the rank with the most (each
        rank can count them all, having the whole batch): the extra ones run a row with weight
        0, and only the last one syncs (:func:`~agentgym.trainers.distributed.lockstep`)."""
        def micro(part: list[int]) -> list[list[TurnRow]]:
            return [[rows[part[k]] for k in idx] for idx in
                    micro_batches([len(rows[i]) for i in part], self.config.micro_tokens)]

        if not synced:
            return [(part, 1.0, True) for part in micro(mb)]
        world = self.dist.world_size
        plans = [micro(shard(mb, DistInfo(rank=r, world_size=world))) for r in range(world)]
        return [(part, float(world), last) if part is not None else ([rows[mb[0]]], 0.0, last)
                for part, last in lockstep(plans[self.dist.rank], max(map(len, plans)))]

    def _micro_loss(self, batch: PPOBatch, part: list[TurnRow], n_turns: int, tokens: int,
                    totals: dict[str, float] | None, *, synced: bool):
        """The loss of the rows ``part`` (a share of a minibatch of ``n_turns`` turns and
        ``tokens`` action tokens); its statistics are added to ``totals`` unless ``None``."""
        import torch

        c, measured = self.config, batch.measured
        data = self._batch(part, batch.constraint)
        logp, v, ent = self._forward(data, values=self.value_head is not None, entropy=True,
                                     synced=synced)
        mask = data["action_mask"]
        old = per_token(part, mask, lambda t: measured["logp"][t])
        adv = per_token(part, mask, lambda t: float(batch.advantages[t]))
        pol, stats = ppo_policy_loss(logp, old, adv, mask, clip=c.clip, num_turns=n_turns)
        ent_sum = (ent * mask).sum()
        loss = pol - c.ent_coef * ent_sum / n_turns
        found: dict[str, float] = {}
        if v is not None:
            turns = data["turn"].cpu().numpy()
            old_v = torch.tensor([measured["value"][t] for t in turns], device=self.device)
            ret = torch.tensor(batch.targets[turns], dtype=torch.float32, device=self.device)
            vl = value_loss(v, old_v, ret, clip=c.value_clip or None, num_turns=n_turns)
            loss = loss + c.vf_coef * vl
            found["loss/value"] = vl.item()
        if self.reference is not None and c.kl_mode == "loss":
            ref = per_token(part, mask, lambda t: measured["ref"][t])
            kl = (kl_per_token(logp, ref, kind=c.kl_estimator) * mask).sum() / n_turns
            loss = loss + c.kl_coef * kl
            found["loss/kl"] = kl.item()
        share = float(mask.sum()) / max(1, tokens)
        found.update({"loss/policy": pol.item(), "loss/total": loss.item(),
                      "train/entropy": ent_sum.item() / max(1, tokens),
                      "train/clipfrac": stats["clipfrac"] * share,
                      "train/approx_kl": stats["approx_kl"] * share})
        for key, value in found.items() if totals is not None else ():
            totals[key] += value
        return loss

    # --- saving --------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """The policy (HF folder + prompt settings), the critic and the optimizer state.

        Under torch.distributed call it on every rank: rank 0 writes, the others wait for it."""
        import torch

        folder = Path(folder)
        state = self._gathered_state()  # whole tensors from the shards (every rank joins)
        head = full_state_dict(self.value_head) if self.value_head is not None else None
        critic = full_state_dict(self.critic_model) if self.critic_model is not None else None
        if self.dist.is_main:
            self._write_policy(folder, *state)
            if head is not None:
                torch.save({"head": head, "model": critic}, folder / _CRITIC_FILE)
        barrier()
        return folder
