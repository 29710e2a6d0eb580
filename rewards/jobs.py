"""``agentgym reward fit`` and ``agentgym prm-eval``: the jobs behind the two commands.

A fit job gets its trajectories (a saved file, or fresh rollouts of ``data.policy``), adds what
the rewarder needs (branch rollouts for AgentPRM, demonstrations for InversePRM, a prover for
PAV), fits, and saves::

    runs/<name>/
      config.yaml             the composed config
      trajectories.jsonl      the rollouts fitted on (when collected here)
      reward/                 the fitted model (load it with reward.path=runs/<name>/reward)
      fit.csv                 loss per optimizer step
      result.json             sizes, time, first and last loss

An eval job builds the preference set of :mod:`agentgym.rewards.prm_eval` and writes
``result.json`` with the metrics (and the best-of-N curve when asked).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from agentgym.config import to_container
from agentgym.errors import ConfigError

__all__ = ["fit_job", "fit_rewarder", "prm_eval_job"]

log = logging.getLogger(__name__)

LEARNED = ("agentprm", "inverseprm", "spa", "checklist", "pav", "implicit")


def _rollout(cfg: DictConfig, policy_section, episodes: int, max_steps):
    from agentgym.policies.registry import make_policy
    from agentgym.rollout import RolloutConfig, rollout

    config = RolloutConfig(num_envs=cfg.rollout.num_envs, workers=cfg.rollout.workers,
                           progress=cfg.rollout.progress, max_episode_steps=max_steps)
    return rollout(cfg.data.env.id, make_policy(policy_section), episodes=episodes,
                   seed=cfg.data.seed, env_kwargs=to_container(cfg.data.env.kwargs) or {},
                   config=config)


def fit_rewarder(
    rewarder,
    trajectories: list,
    *,
    demonstrations: list | None = None,
    policy=None,
    branches: int = 0,
    starts_per_episode: int = 2,
    prover=None,
    seed: int = 0,
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Fit a learned rewarder on ``trajectories`` with what its kind needs; returns the loss
    history and extras (``branch_trajectories`` and counts).

    AgentPRM adds ``branches`` branch rollouts of ``policy`` from ``starts_per_episode`` states
    per episode; InversePRM needs ``demonstrations`` (``policy`` samples its a'); PAV needs a
    ``prover`` policy. Other kinds fit on the trajectories alone.
    """
    from agentgym.rewards.agentprm import branch_rollouts

    kind = getattr(rewarder, "kind", "")
    extra: dict[str, Any] = {}
    if kind == "agentprm" and branches:
        if policy is None:
            raise ConfigError("reward.branches", "branch rollouts need a policy.",
                              "give the policy to branch with, or branches=0.")
        more = branch_rollouts(policy, trajectories, branches=branches,
                               starts_per_episode=starts_per_episode, seed=seed)
        extra.update(branch_episodes=len(more), branch_trajectories=more)
        trajectories = [*trajectories, *more]
    if kind == "inverseprm":
        if not demonstrations:
            raise ConfigError("reward", "InversePRM needs demonstrations.",
                              "give data.demonstrations (or let the job collect them).")
        extra["demonstrations"] = len(demonstrations)
        return rewarder.fit(demonstrations, trajectories, policy=policy), extra
    if kind == "pav":
        return rewarder.fit(trajectories, prover=prover), extra
    return rewarder.fit(trajectories), extra


def fit_job(cfg: DictConfig, out: Path) -> dict[str, Any]:
    """Fit ``cfg.reward`` as the module docstring says; returns what ``result.json`` holds."""
    from agentgym.policies.registry import make_policy
    from agentgym.rewards.registry import make_rewarder
    from agentgym.storage import load_trajectories, save_trajectories

    name = cfg.reward.name
    if name not in LEARNED:
        raise ConfigError("reward.name", f"{name!r} is not a learned rewarder: nothing to fit.",
                          f"use one of: {', '.join(LEARNED)}.")
    rewarder = make_rewarder(cfg.reward, field="reward")
    data = cfg.data
    if data.path:
        trajectories = load_trajectories(data.path)
    else:
        trajectories = _rollout(cfg, data.policy, data.episodes, data.max_episode_steps)
        save_trajectories(trajectories, out / "trajectories.jsonl")
    if not trajectories:
        raise ConfigError("data", "no trajectories to fit on.", "give data.path or episodes > 0.")
    started = time.perf_counter()
    demos = None
    if name == "inverseprm":
        demos = (load_trajectories(data.demonstrations) if data.demonstrations
                 else _rollout(cfg, {"name": "oracle"}, data.demo_episodes, None))
    uses_policy = ((name == "agentprm" and data.branches)
                   or (name == "inverseprm" and data.sample_next))
    history, extra = fit_rewarder(
        rewarder, trajectories, demonstrations=demos,
        policy=make_policy(data.policy) if uses_policy else None,
        branches=data.branches if name == "agentprm" else 0,
        starts_per_episode=data.starts_per_episode,
        prover=make_policy(cfg.prover if cfg.prover else {"name": "oracle"}) if name == "pav"
        else None, seed=data.seed)
    trajectories = trajectories + extra.pop("branch_trajectories", [])
    seconds = time.perf_counter() - started
    path = rewarder.save(out / "reward")
    with open(out / "fit.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for row in history for k in row}))
        writer.writeheader()
        writer.writerows(history)
    result = {
        "reward": name, "path": str(path), "episodes": len(trajectories),
        "steps": sum(len(t.steps) for t in trajectories),
        "success_rate": sum(t.success for t in trajectories) / len(trajectories),
        "optimizer_steps": len(history), "fit_seconds": round(seconds, 1),
        "first_loss": history[0]["loss"] if history else None,
        "last_loss": history[-1]["loss"] if history else None, **extra,
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return result


def prm_eval_job(cfg: DictConfig, out: Path) -> dict[str, Any]:
    """Meta-evaluate ``cfg.reward``; returns what ``result.json`` holds."""
    from agentgym.policies.registry import make_policy
    from agentgym.rewards.prm_eval import (
        best_of_n_success,
        build_preference_set,
        evaluate_rewarder,
    )
    from agentgym.rewards.registry import make_rewarder
    from agentgym.rollout import RolloutConfig

    if cfg.reward.name in LEARNED and not cfg.reward.get("path"):
        raise ConfigError("reward.path", f"prm-eval needs a saved {cfg.reward.name} model.",
                          f"fit one with `agentgym reward fit reward={cfg.reward.name}` and give "
                          "reward.path=runs/<that run>/reward.")
    rewarder = make_rewarder(cfg.reward, field="reward")
    kwargs = to_container(cfg.env.kwargs) or {}
    config = RolloutConfig(num_envs=cfg.rollout.num_envs, workers=cfg.rollout.workers,
                           progress=cfg.rollout.progress, max_episode_steps=cfg.max_episode_steps)
    policy = make_policy(cfg.policy) if cfg.get("policy") else None
    items = build_preference_set(cfg.env.id, episodes=cfg.episodes, seed=cfg.seed,
                                 env_kwargs=kwargs, policy=policy,
                                 alternatives=cfg.alternatives, rollout_config=config,
                                 skip_equivalent=bool(cfg.skip_equivalent))
    result: dict[str, Any] = {"reward": cfg.reward.name, "env": cfg.env.id, "env_kwargs": kwargs,
                              **evaluate_rewarder(rewarder, items)}
    if cfg.best_of_n.ns:
        result["best_of_n"] = best_of_n_success(
            make_policy(cfg.best_of_n.policy), rewarder, cfg.env.id,
            ns=list(cfg.best_of_n.ns), episodes=cfg.best_of_n.episodes, seed=cfg.seed,
            env_kwargs=kwargs, rollout_config=config)
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return result
