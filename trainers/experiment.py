"""The experiment driver: collect -> fit rewarders -> update the policy -> evaluate, K times.

``agentgym train trainer=ppo ...`` (or ``trainer=online_dpo``, or an ``experiment=`` file) runs
this loop in ``runs/<name>/``::

    runs/<name>/
      config.yaml              the composed config
      demonstrations.jsonl     demonstrations (behaviour cloning start, InversePRM)
      bc/                      the behaviour-cloning start (when ``bc`` is set; see sft.py)
      iterations/000/          one folder per iteration:
        rollouts.partial.jsonl   episodes appended chunk by chunk while collecting
        rollouts.jsonl           the iteration's episodes, with their step rewards
        reward-<name>/           each learned rewarder as fitted this iteration
        policy/                  the updated policy (+ critic.pt, optimizer.pt)
        eval/                    suite results of the updated policy (when due)
        metrics.json             written last: the iteration is complete
      metrics.csv, tb/         one row per iteration (and row 0: the starting policy)
      report.md, curves.png    learning curves
      result.json              summary

Under ``torchrun``, rank 0 runs everything above; the other ranks only join the training:
at each policy update rank 0 sends them the iteration's scored episodes (PPO) or its preference
pairs (online DPO, sampled and scored by rank 0), every rank trains on its shard with gradients
synced by DDP (:mod:`agentgym.trainers.distributed`), and rank 0 saves; the behaviour-cloning
start (``bc``) is trained by every rank in the same way (:func:`follow_experiment` is the other
ranks' side).

Rerunning the same ``run.name`` resumes: complete iterations are kept; an interrupted one
continues from what it saved (collected episodes are never collected twice: chunks already in
``rollouts.partial.jsonl`` are kept and the policy's sampling stream is reseeded per chunk, so a
resumed run ends exactly where an uninterrupted one would).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from agentgym.config import build, to_container
from agentgym.errors import ConfigError
from agentgym.trainers.distributed import broadcast_object, current, shard
from agentgym.types import Trajectory

__all__ = ["follow_experiment", "run_experiment"]

log = logging.getLogger(__name__)

_LEARNED = ("agentprm", "inverseprm", "spa", "checklist", "pav", "implicit")


def run_experiment(cfg: DictConfig, out: Path) -> tuple[dict[str, Any], Any]:
    """Run (or resume) the experiment of ``cfg`` in ``out``; returns ``result.json``'s content and
    the last evaluation report (``None`` without ``eval.suite``)."""
    from agentgym.trainers.jobs import demonstrations

    loop = cfg.loop
    _check_loop(loop)
    trainer_config = _trainer_config(cfg)
    eval_settings = _eval_settings(cfg)
    bc = _bc_config(cfg)
    demos = demonstrations(bc or cfg, out) if _needs_demonstrations(cfg) else []
    start = _starting_policy(cfg, bc, out)
    rewarders = _Rewarders(cfg, out)
    rows = _load_rows(out)
    report = None
    if cfg.eval.suite and not rows:
        summary, report = _evaluate(cfg, start, out / "iterations" / "start-eval", eval_settings,
                                    "start")
        rows.append({"iteration": 0, "env_steps": 0, **summary})
        _write_rows(out, rows)
    done = _completed(out)
    policy_path = _policy_of(out, done - 1) if done else start
    rewarders.restore(done)
    monitor = _Monitor(rewarders, rows)
    for k in range(done, loop.iterations):
        folder = out / "iterations" / f"{k:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        rollouts = _collect(cfg, folder, policy_path, k)
        timings = {"time/collect": time.perf_counter() - started}
        for served in _SERVED.values():  # the weights synced into the Ray replicas
            if served.last_sync:
                timings["time/weight_sync"] = served.last_sync.pop("total")
                served.last_sync = {}
        started = time.perf_counter()
        fit_stats = rewarders.fit(k, rollouts, demos, policy_path)
        timings["time/fit"] = time.perf_counter() - started
        started = time.perf_counter()
        scored = rewarders.score(rollouts)
        _save_scored(folder, rollouts)
        lr_scale = 1.0 - k / loop.iterations if loop.lr_decay == "linear" else 1.0
        seed = int(loop.seed) * 1000 + k
        train_stats = _update(cfg, trainer_config, policy_path, start, folder, rollouts,
                              rewarders, seed=seed, lr_scale=lr_scale)
        timings["time/update"] = time.perf_counter() - started
        policy_path = folder / "policy"
        row = {"iteration": k + 1,
               "env_steps": _env_steps(rows) + sum(len(t.steps) for t in rollouts),
               **_rollout_stats(rollouts), **scored, **fit_stats, **train_stats, **timings}
        if cfg.eval.suite and ((k + 1) % cfg.eval.every == 0 or k + 1 == loop.iterations):
            started = time.perf_counter()
            summary, report = _evaluate(cfg, policy_path, folder / "eval", eval_settings,
                                        f"iter-{k + 1}")
            row.update(summary, **{"time/eval": time.perf_counter() - started})
        monitor.update(row)
        rows.append(_plain(row))
        (folder / "metrics.json").write_text(json.dumps(rows[-1], indent=2) + "\n")
        _write_rows(out, rows)
        log.info("iteration %d/%d done: %s", k + 1, loop.iterations, _short(rows[-1]))
    _send(("done",))
    result = {"trainer": cfg.trainer.name, "iterations": loop.iterations,
              "policy": str(policy_path), "start": str(start), "final": rows[-1] if rows else {},
              "env_steps": _env_steps(rows)}
    (out / "result.json").write_text(json.dumps(_plain(result), indent=2) + "\n")
    return result, report


# --- configuration -------------------------------------------------------------------------------


def _check_loop(loop: DictConfig) -> None:
    for name in ("iterations", "episodes", "group_size", "chunk"):
        if int(loop[name]) < 1:
            raise ConfigError(f"loop.{name}", f"must be >= 1, got {loop[name]}.")
    if loop.lr_decay not in ("none", "linear"):
        raise ConfigError("loop.lr_decay", f"{loop.lr_decay!r} is not allowed.",
                          "use none or linear.")
    if not loop.env.id:
        raise ConfigError("loop.env.id", "no env to collect on.",
                          "set loop.env.id (e.g. agentgym/Household-v0).")


def _trainer_config(cfg: DictConfig):
    from agentgym.trainers.online_dpo import OnlineDPOConfig
    from agentgym.trainers.ppo import PPOConfig

    section = dict(to_container(cfg.trainer))
    name = section.pop("name")
    cls = PPOConfig if name == "ppo" else OnlineDPOConfig
    config = build(cls, section, "trainer")
    sampling = cfg.loop.policy.get("constrain", "none")
    if config.constrain != sampling:
        raise ConfigError("trainer.constrain", f"is {config.constrain!r} but the collecting "
                          f"policy decodes with loop.policy.constrain={sampling!r}.",
                          f"set trainer.constrain={sampling} so the trainer scores actions "
                          "with the distribution they were sampled from.")
    return config


def _eval_settings(cfg: DictConfig) -> dict[str, Any]:
    from agentgym.trainers.jobs import eval_policy_settings

    device = cfg.trainer.get("device", "auto")
    return eval_policy_settings(cfg, max_tokens=int(cfg.loop.policy.get("max_prompt_tokens", 2048))
                                + int(cfg.eval.max_new_tokens), device=device)


def _needs_demonstrations(cfg: DictConfig) -> bool:
    """InversePRM learns from demonstrations (the bc start collects its own in ``bc/``)."""
    return any(t.name == "inverseprm" for t in cfg.reward.terms)


def _bc_config(cfg: DictConfig) -> DictConfig | None:
    """The sft job config of the behaviour-cloning start (``None`` without a ``bc`` section)."""
    if not cfg.bc:
        return None
    sub = OmegaConf.create(to_container(cfg))
    sub.trainer = OmegaConf.create({"name": "sft", **(to_container(cfg.bc) or {})})
    sub.eval.suite = None
    return sub


def _starting_policy(cfg: DictConfig, bc: DictConfig | None, out: Path) -> Path:
    """``model.path`` as it is, or behaviour cloning (``bc`` section) into ``out/bc``."""
    from agentgym.trainers.jobs import run_job

    if bc is None:
        if not cfg.model.path:
            raise ConfigError("model.path", "no starting policy: model.path is null and bc is "
                              "not set.", "give model.path=<checkpoint> or a bc section.")
        return Path(cfg.model.path)
    _send(("bc", str(out)))  # under torchrun every rank trains it (rank 0 writes)
    folder = out / "bc"
    cached = out / "demonstrations.jsonl"
    if current().is_main:
        folder.mkdir(parents=True, exist_ok=True)
        if cached.exists() and not (folder / "demonstrations.jsonl").exists():
            shutil.copy(cached, folder / "demonstrations.jsonl")
    result, _ = run_job(bc, folder)
    return Path(result["checkpoint"])


# --- collecting ----------------------------------------------------------------------------------


def _collect(cfg: DictConfig, folder: Path, policy_path: Path, k: int) -> list[Trajectory]:
    """The iteration's episodes, collected chunk by chunk into ``rollouts.partial.jsonl``."""
    from agentgym.rollout import RolloutConfig, RolloutEngine
    from agentgym.storage import append_jsonl, load_trajectories

    final = folder / "rollouts.jsonl"
    if final.exists():
        return load_trajectories(final)
    loop = cfg.loop
    partial = folder / "rollouts.partial.jsonl"
    have = load_trajectories(partial, drop_torn_tail=True) if partial.exists() else []
    per_chunk = int(loop.chunk) * int(loop.group_size)
    have = have[: len(have) // per_chunk * per_chunk]  # a torn last chunk is collected again
    if partial.exists():
        partial.unlink()
        if have:
            append_jsonl(have, partial)
            log.info("iteration %d: %d episodes already collected, collecting the rest", k + 1,
                     len(have))
    first = int(loop.seed) * 1_000_000 + k * int(loop.episodes)
    seeds = [first + g for g in range(int(loop.episodes))]
    policy = _sampling_policy(cfg, policy_path)
    rollout = build(RolloutConfig, {**to_container(cfg.rollout),
                                     "max_episode_steps": loop.max_episode_steps}, "rollout")
    kwargs = to_container(loop.env.kwargs) or {}
    with RolloutEngine(loop.env.id, env_kwargs=kwargs, config=rollout) as engine:
        for c in range(len(have) // per_chunk, -(-len(seeds) // int(loop.chunk))):
            chunk = seeds[c * int(loop.chunk):(c + 1) * int(loop.chunk)]
            policy.reseed(first * 7919 + c)
            trajs = engine.run(policy, seeds=chunk, group_size=int(loop.group_size),
                               desc=f"iteration {k + 1} collect {c + 1}")
            for t in trajs:  # groups numbered across the iteration, not per chunk
                t.group += c * int(loop.chunk)
            append_jsonl(trajs, partial)
            have += trajs
    return have


_SERVED: dict[str, Any] = {}  # the Ray-served collecting policy, built once per process


def _sampling_policy(cfg: DictConfig, path: Path, *, seed: int | None = None):
    """The collecting policy at ``path``: ``loop.policy``'s settings (temperature 1 unless
    set), its sampling stream started from ``seed`` when given. With ``loop.serve.replicas``
    it is served by Ray actors, built on first use and given ``path``'s weights each time."""
    settings = {"temperature": 1.0, **(to_container(cfg.loop.policy) or {})}
    serve = to_container(cfg.loop.get("serve")) or {}
    if int(serve.get("replicas", 0)) > 0:
        policy = _served_policy(cfg, serve, path, settings)
    else:
        from agentgym.policies.hf import HFPolicy

        policy = HFPolicy(str(path), **settings)
    if seed is not None:
        policy.reseed(seed)
    return policy


def _served_policy(cfg: DictConfig, serve: dict[str, Any], path: Path, settings: dict):
    from agentgym.policies.ray_policy import RayPolicy

    key = json.dumps({"serve": serve, "settings": settings}, sort_keys=True, default=str)
    if key not in _SERVED:
        for old in _SERVED.values():
            old.close()
        _SERVED.clear()
        address = serve.get("address") or cfg.rollout.get("ray_address")
        engine = str(serve.get("engine", "hf"))
        if engine not in ("hf", "vllm"):
            raise ConfigError("loop.serve.engine", f"{engine!r} is not an engine.",
                              "use hf or vllm.")
        section = {"name": engine, "path": str(path), **settings, **(serve.get("options") or {})}
        _SERVED[key] = RayPolicy(policy=section,
                                 replicas=int(serve["replicas"]),
                                 num_cpus=float(serve.get("num_cpus", 1.0)),
                                 num_gpus=float(serve.get("num_gpus", 0.0)), address=address)
    policy = _SERVED[key]
    if policy.weights_from != str(path):
        timings = policy.sync_weights(path)
        log.info("synced %s into %d Ray replicas in %.2f s", path, int(serve["replicas"]),
                 timings["total"])
    return policy


def _save_scored(folder: Path, rollouts: Sequence[Trajectory]) -> None:
    """``rollouts.jsonl`` with every step reward (once), replacing the partial file."""
    from agentgym.storage import save_trajectories

    final = folder / "rollouts.jsonl"
    if not final.exists():
        save_trajectories(rollouts, final)
    (folder / "rollouts.partial.jsonl").unlink(missing_ok=True)


def _rollout_stats(trajs: Sequence[Trajectory]) -> dict[str, float]:
    n = max(1, len(trajs))
    steps = sum(len(t.steps) for t in trajs)
    return {"rollout/episodes": len(trajs),
            "rollout/success": sum(t.success for t in trajs) / n,
            "rollout/return": sum(t.total_reward for t in trajs) / n,
            "rollout/length": steps / n,
            "rollout/invalid": sum(t.invalid_actions for t in trajs) / max(1, steps)}


# --- rewards -------------------------------------------------------------------------------------


class _Rewarders:
    """The experiment's step rewarders: built, fitted each ``fit_every`` iterations, saved per
    iteration, restored on resume, and combined into ``step.rewards["total"]``."""

    def __init__(self, cfg: DictConfig, out: Path) -> None:
        from agentgym.rewards import Composite
        from agentgym.rewards.registry import make_rewarder

        self.cfg, self.out = cfg, out
        terms = list(cfg.reward.terms or [])
        if not terms:
            raise ConfigError("reward.terms", "no rewarders.",
                              "give e.g. reward.terms=[{name: outcome}].")
        self.sections = [to_container(t) for t in terms]
        self.rewarders = [make_rewarder(s, field="reward.terms") for s in self.sections]
        weights = to_container(cfg.reward.weights) or {}
        self.composite = Composite(self.rewarders, weights=weights,
                                   normalize=cfg.reward.normalize, name="total")

    def learned(self):
        return [r for r in self.rewarders if getattr(r, "kind", "") in _LEARNED]

    def _folder(self, k: int, rewarder) -> Path:
        return self.out / "iterations" / f"{k:03d}" / f"reward-{rewarder.name}"

    def restore(self, done: int) -> None:
        """Reload each learned rewarder as saved by the newest complete iteration."""
        from agentgym.storage import load_trajectories

        for i, r in enumerate(self.rewarders):
            if getattr(r, "kind", "") not in _LEARNED:
                continue
            for k in range(done - 1, -1, -1):
                if (self._folder(k, r) / "agentgym_reward.json").exists():
                    self.rewarders[i] = self._load(r, self._folder(k, r))
                    break
        if done and any(getattr(r, "kind", "") == "inverseprm" for r in self.rewarders):
            negatives = []
            for k in range(done):
                if (k % self.cfg.reward.fit_every) == 0:
                    negatives += load_trajectories(
                        self.out / "iterations" / f"{k:03d}" / "rollouts.jsonl")
            for r in self.rewarders:
                if getattr(r, "kind", "") == "inverseprm":
                    r.negatives = negatives
        self.composite.rewarders = self.rewarders

    def _load(self, rewarder, folder: Path):
        section = dict(next(s for s in self.sections if s.get("name") == rewarder.kind
                            or s.get("name") == rewarder.name))
        section.pop("name", None)
        section.pop("path", None)
        return type(rewarder)(path=str(folder), **section)

    def fit(self, k: int, rollouts, demos, policy_path: Path) -> dict[str, float]:
        from agentgym.rewards.jobs import fit_rewarder

        stats: dict[str, float] = {}
        if k % int(self.cfg.reward.fit_every):
            return stats
        for r in self.learned():
            folder = self._folder(k, r)
            index = self.rewarders.index(r)
            if (folder / "agentgym_reward.json").exists():  # fitted before an interruption
                self.rewarders[index] = self._load(r, folder)
                if getattr(r, "kind", "") == "inverseprm":
                    self.rewarders[index].negatives = r.negatives + list(rollouts)
                continue
            branches = int(self.cfg.reward.branches) if r.kind == "agentprm" else 0
            policy = None
            if branches:
                policy = _sampling_policy(self.cfg, policy_path,
                                          seed=int(self.cfg.loop.seed) * 1000 + k)
            history, extra = fit_rewarder(
                r, list(rollouts), demonstrations=demos, policy=policy, branches=branches,
                starts_per_episode=int(self.cfg.reward.starts_per_episode),
                prover=_prover(self.cfg) if r.kind == "pav" else None,
                seed=int(self.cfg.loop.seed) * 1000 + k)
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            r.save(tmp)
            tmp.rename(folder)
            if history:
                stats[f"fit/{r.name}_loss"] = float(history[-1]["loss"])
            stats[f"fit/{r.name}_steps"] = float(len(history))
            if "branch_episodes" in extra:
                stats[f"fit/{r.name}_branch_episodes"] = float(extra["branch_episodes"])
        self.composite.rewarders = self.rewarders
        return stats

    def score(self, rollouts: Sequence[Trajectory]) -> dict[str, float]:
        """Write every term and the total onto the steps; returns each one's mean per step."""
        from agentgym.rewards import apply_rewarders

        apply_rewarders(rollouts, [self.composite])
        names = [r.name for r in self.rewarders] + ["total"]
        values = {n: [s.rewards[n] for t in rollouts for s in t.steps] for n in names}
        return {f"reward/{n}": float(np.mean(v)) if v else 0.0 for n, v in values.items()}


class _Monitor:
    """Reward-hacking watch over the iterations: the learned terms' mean reward against the
    rollouts' success (:class:`~agentgym.rewards.monitor.RewardHackingMonitor`); a warning is
    logged and marked ``monitor/reward_hacking`` = 1 in the row."""

    def __init__(self, rewarders: _Rewarders, rows: Sequence[dict[str, Any]]) -> None:
        from agentgym.rewards.monitor import RewardHackingMonitor

        self.keys = [f"reward/{r.name}" for r in rewarders.learned()]
        self.monitor = RewardHackingMonitor()
        for row in rows:  # a resumed run replays what it has seen
            if row.get("iteration", 0) and self.keys:
                self._record(row)

    def _record(self, row: dict[str, Any]) -> str | None:
        import warnings

        from agentgym.rewards.monitor import RewardHackingWarning

        score = float(np.mean([row.get(k, float("nan")) for k in self.keys]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RewardHackingWarning)  # logged already
            return self.monitor.update(row["iteration"], score, row["rollout/success"])

    def update(self, row: dict[str, Any]) -> None:
        if self.keys:
            row["monitor/reward_hacking"] = float(self._record(row) is not None)


def _prover(cfg: DictConfig):
    from agentgym.policies.registry import make_policy

    return make_policy(to_container(cfg.reward.get("prover")) or {"name": "oracle"})


# --- updating ------------------------------------------------------------------------------------


def _update(cfg, config, policy_path: Path, start: Path, folder: Path, rollouts, rewarders,
            *, seed: int, lr_scale: float) -> dict[str, float]:
    """One policy update from ``policy_path``, saved atomically to ``folder/policy``.

    Under torchrun rank 0 sends the update's job to the other ranks, which join it."""
    target = folder / "policy"
    if (target / "config.json").exists():  # updated before an interruption
        return json.loads((target / "update.json").read_text())
    tmp = folder / "policy.tmp"
    stats: dict[str, float] = {}
    if cfg.trainer.name == "ppo":
        job = (str(policy_path), str(start), list(rollouts), seed, lr_scale, str(tmp))
    else:  # online DPO: rank 0 samples and scores the pairs; the ranks train on them
        pairs, stats = _preference_pairs(cfg, config, policy_path, rollouts, rewarders, seed)
        job = (str(policy_path), pairs, seed, lr_scale, str(tmp))
    _send(("update", cfg.trainer.name, job))
    trainer, trained = _UPDATES[cfg.trainer.name](config, *job)
    stats = {**stats, **trained}
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save(tmp)  # under torchrun: rank 0 writes, every rank waits for it
    (tmp / "update.json").write_text(json.dumps(_plain(stats), indent=2) + "\n")
    tmp.rename(target)
    return stats


def _ppo_update(config, policy_path: str, start: str, rollouts, seed: int, lr_scale: float,
                tmp: str):
    """A PPO trainer after one update on this rank's shard of ``rollouts``, and its stats."""
    from agentgym.trainers.ppo import PPOTrainer

    trainer = PPOTrainer(policy_path, config, reference=start)
    mine = shard(rollouts) if current().distributed else rollouts
    return trainer, trainer.update(mine, seed=seed, lr_scale=lr_scale)


def _dpo_update(config, policy_path: str, pairs, seed: int, lr_scale: float, tmp: str):
    """An online-DPO trainer after one update on this rank's shard of ``pairs``, and its
    stats."""
    from agentgym.trainers.online_dpo import OnlineDPOTrainer

    trainer = OnlineDPOTrainer(policy_path, config)
    mine = shard(pairs) if current().distributed else pairs
    return trainer, trainer.update(mine, seed=seed, lr_scale=lr_scale)


#: What each trainer's update job runs, on every rank.
_UPDATES = {"ppo": _ppo_update, "online_dpo": _dpo_update}


def _send(message: tuple) -> None:
    """Rank 0 tells the other ranks (when there are any) what to do next (a no-op on them)."""
    info = current()
    if info.distributed and info.is_main:
        broadcast_object(message)


def follow_experiment(cfg: DictConfig) -> None:
    """The loop of a rank other than 0 under ``torchrun``: join what rank 0 starts, until it
    is done. Messages: ``("bc", out)``, the behaviour-cloning start; ``("update", trainer,
    job)``, a policy update (same trainer config, this rank's shard of the job's data) and its
    collective save; ``("done",)``."""
    config = _trainer_config(cfg)
    while True:
        message = broadcast_object(None)
        if message[0] == "done":
            return
        if message[0] == "bc":
            _starting_policy(cfg, _bc_config(cfg), Path(message[1]))
        elif message[0] == "update" and message[1] == cfg.trainer.name:
            trainer, _ = _UPDATES[message[1]](config, *message[2])
            trainer.save(message[2][-1])  # writes nothing here; waits for rank 0's save
        else:
            raise RuntimeError(f"rank {current().rank} (trainer={cfg.trainer.name}) got an "
                               f"unexpected message from rank 0: {message[:2]}")


def _preference_pairs(cfg, config, policy_path, rollouts, rewarders, seed):
    """The iteration's preference pairs, sampled by the policy at ``policy_path`` and scored by
    the rewarders, and their statistics."""
    from agentgym.trainers.online_dpo import preference_pairs

    return preference_pairs(rollouts, _sampling_policy(cfg, policy_path, seed=seed),
                            rewarders.composite, candidates=config.candidates,
                            states=config.states, min_margin=config.min_margin, seed=seed)


# --- evaluating and reporting --------------------------------------------------------------------


def _evaluate(cfg, checkpoint: Path, folder: Path, settings, name: str):
    from agentgym.trainers.jobs import evaluate_checkpoint

    if (folder / "summary.json").exists():
        return json.loads((folder / "summary.json").read_text()), None
    report, summary = evaluate_checkpoint(cfg, checkpoint, folder, settings, policy_name=name)
    row = {f"eval/{k}": v for k, v in summary.items() if isinstance(v, (int, float))}
    (folder / "summary.json").write_text(json.dumps(_plain(row), indent=2) + "\n")
    return row, report


def _completed(out: Path) -> int:
    """How many iterations have their ``metrics.json`` (they complete in order)."""
    k = 0
    while (out / "iterations" / f"{k:03d}" / "metrics.json").exists():
        k += 1
    return k


def _policy_of(out: Path, k: int) -> Path:
    return out / "iterations" / f"{k:03d}" / "policy"


def _load_rows(out: Path) -> list[dict[str, Any]]:
    rows = []
    start = out / "iterations" / "start-eval" / "summary.json"
    if start.exists():
        rows.append({"iteration": 0, "env_steps": 0, **json.loads(start.read_text())})
    for k in range(_completed(out)):
        rows.append(json.loads((out / "iterations" / f"{k:03d}" / "metrics.json").read_text()))
    return rows


def _env_steps(rows: Sequence[dict[str, Any]]) -> int:
    return int(rows[-1]["env_steps"]) if rows else 0


def _write_rows(out: Path, rows: list[dict[str, Any]]) -> None:
    from agentgym.trainers.report import write_metrics, write_report

    write_metrics(out, rows)
    write_report(out, rows)


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to floats, NaN kept as null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _short(row: dict[str, Any]) -> str:
    keys = ("rollout/success", "reward/total", "eval/success_rate", "loss/policy")
    return ", ".join(f"{k}={row[k]:.3f}" for k in keys if isinstance(row.get(k), float))
