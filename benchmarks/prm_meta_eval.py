"""Fit every learned step rewarder on household data, then meta-evaluate them side by side.

Fitting data (train split): rollouts of the household demonstrator taking a random action half
the time, cut at 15 steps (wins and losses, as ``agentgym reward fit`` collects by default), plus
oracle demonstrations for InversePRM and oracle prover branches for PAV. Each rewarder uses the
default tiny PRM of ``conf/prm/model.yaml`` and trains for at most ``--minutes`` minutes.

Evaluation (valid_unseen split): the preference set of :mod:`agentgym.rewards.prm_eval` (states
along the oracle's episodes and along the noisy demonstrator's; the oracle's action against 4
other admissible actions), with a uniformly random scorer and the grounding reward as baselines;
InversePRM's expert-vs-random AUC (trained against the noisy rollouts, and against random ones
as in the unit test); and best-of-N success of a random sampler with AgentPRM.

Usage::

    python benchmarks/prm_meta_eval.py --out benchmarks/results/prm_meta_eval.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from agentgym.envs.household.demonstrator import HouseholdDemonstrator
from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.policies.noisy import NoisyExpert
from agentgym.rewards.agentprm import AgentPRM
from agentgym.rewards.checklist import ChecklistReward
from agentgym.rewards.grounding import AdmissibleReward
from agentgym.rewards.inverseprm import InversePRM
from agentgym.rewards.pav import PAV
from agentgym.rewards.prm_eval import best_of_n_success, build_preference_set, evaluate_rewarder
from agentgym.rewards.spa import SPA
from agentgym.rollout import RolloutConfig, rollout

ENV = "agentgym/Household-v0"


class RandomScorer:
    """Uniform random scores: the chance level of every metric."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def score(self, trajectories):
        return [self.rng.random(len(t.steps)) for t in trajectories]


def auc(pos, neg) -> float:
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean(pos > neg) + 0.5 * np.mean(pos == neg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200, help="fitting rollouts")
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=5.0, help="fit budget per rewarder")
    parser.add_argument("--bon-episodes", type=int, default=20)
    parser.add_argument("--only", default="agentprm,spa,inverseprm,pav,checklist",
                        help="comma-separated rewarders to fit and evaluate")
    parser.add_argument("--no-best-of-n", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    only = set(args.only.split(","))

    train = {"split": "train"}
    cfg = RolloutConfig(num_envs=16, progress=False, max_episode_steps=15)
    noisy = NoisyExpert(HouseholdDemonstrator(), epsilon=0.5, seed=0)
    data = rollout(ENV, noisy, episodes=args.episodes, env_kwargs=train, config=cfg)
    demos = rollout(ENV, OraclePolicy(), episodes=args.episodes, seed=10_000, env_kwargs=train,
                    config=RolloutConfig(num_envs=16, progress=False))
    print(f"data: {len(data)} episodes, {sum(len(t) for t in data)} steps, "
          f"success {np.mean([t.success for t in data]):.2f}; demos {len(demos)}", flush=True)

    fit = {"max_minutes": args.minutes, "epochs": 10, "progress": False}
    makers = {
        "agentprm": lambda: AgentPRM(fit=fit),
        "spa": lambda: SPA(fit=fit),
        "inverseprm": lambda: InversePRM(fit=fit),
        "pav": lambda: PAV(fit=fit, branches=2, starts_per_episode=2),
        "checklist": lambda: ChecklistReward(fit=fit),
    }
    rewarders = {name: make() for name, make in makers.items() if name in only}
    if "inverseprm" in only:  # the setup of the AUC test: random rollouts as the negatives
        randoms = rollout(ENV, RandomPolicy(seed=0), episodes=args.episodes, seed=20_000,
                          env_kwargs=train,
                          config=RolloutConfig(num_envs=16, progress=False, max_episode_steps=12))
        rewarders["inverseprm_vs_random"] = InversePRM(fit=fit)
    fits = {}
    for name, rewarder in rewarders.items():
        started = time.perf_counter()
        if name == "inverseprm":
            history = rewarder.fit(demos, data, policy=noisy)
        elif name == "inverseprm_vs_random":
            history = rewarder.fit(demos, randoms, policy=RandomPolicy(seed=3))
        elif name == "pav":
            history = rewarder.fit(data, prover=OraclePolicy(),
                                   rollout_config=RolloutConfig(num_envs=16, progress=False))
        else:
            history = rewarder.fit(data)
        seconds = time.perf_counter() - started
        fits[name] = {"seconds": round(seconds, 1), "optimizer_steps": len(history),
                      "first_loss": round(history[0]["loss"], 4),
                      "last_loss": round(float(np.mean([h["loss"] for h in history[-10:]])), 4),
                      "parameters": rewarder.prm.model.num_parameters()}
        print(name, fits[name], flush=True)

    valid = {"split": "valid_unseen"}
    items = build_preference_set(ENV, episodes=args.eval_episodes, seed=0, env_kwargs=valid,
                                 policy=NoisyExpert(HouseholdDemonstrator(), epsilon=0.5, seed=1),
                                 alternatives=4,
                                 rollout_config=RolloutConfig(num_envs=16, progress=False,
                                                              max_episode_steps=30))
    scorers = {"random": RandomScorer(), "admissible": AdmissibleReward(), **rewarders}
    metrics = {}
    for name, scorer in scorers.items():
        started = time.perf_counter()
        metrics[name] = evaluate_rewarder(scorer, items)
        metrics[name]["seconds"] = round(time.perf_counter() - started, 1)
        m = metrics[name]
        print(f"{name}: MRR {m['mrr']:.3f} step {m['step_accuracy']:.3f} "
              f"traj {m['trajectory_accuracy']:.3f} (expert states MRR "
              f"{m['expert']['mrr']:.3f}, policy states MRR {m['policy']['mrr']:.3f})",
              flush=True)

    aucs = {}
    if "inverseprm" in only:
        held_demos = rollout(ENV, HouseholdDemonstrator(), episodes=40, seed=0,
                             env_kwargs=valid, config=RolloutConfig(num_envs=16, progress=False))
        held_random = rollout(ENV, RandomPolicy(seed=0), episodes=40, seed=100, env_kwargs=valid,
                              config=RolloutConfig(num_envs=16, progress=False,
                                                   max_episode_steps=12))
        samplers = {"inverseprm": noisy, "inverseprm_vs_random": RandomPolicy(seed=7)}
        for name, sampler in samplers.items():
            irl = rewarders[name]
            aucs[name] = auc(np.concatenate(irl.score(held_demos, policy=sampler)),
                             np.concatenate(irl.score(held_random, policy=sampler)))
            print(f"{name} expert-vs-random AUC (valid_unseen): {aucs[name]:.3f}", flush=True)

    bon = {}
    if not args.no_best_of_n and "agentprm" in rewarders:
        started = time.perf_counter()
        bon = best_of_n_success(RandomPolicy(seed=0), rewarders["agentprm"], ENV, ns=(1, 4, 16),
                                episodes=args.bon_episodes, env_kwargs=valid,
                                rollout_config=RolloutConfig(num_envs=10, progress=False,
                                                             max_episode_steps=30))
        print(f"best-of-N (random sampler, agentprm): {bon} in "
              f"{time.perf_counter() - started:.0f} s", flush=True)

    if args.out:
        with open(args.out, "w") as f:
            json.dump({"fits": fits, "metrics": metrics, "inverseprm_auc": aucs,
                       "best_of_n_agentprm": bon, "states": len(items),
                       "data_success": float(np.mean([t.success for t in data]))}, f, indent=2)


if __name__ == "__main__":
    main()
