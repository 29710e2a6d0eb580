"""``agentgym train``: the whole training job behind one config.

A job gets its demonstrations (a saved trajectory file, or a fresh rollout of a demonstrator),
its starting model (a checkpoint, or a tiny model whose tokenizer is trained on those
demonstrations), trains, and evaluates the final checkpoint greedily on a suite. Everything
lands in the run folder::

    runs/<name>/
      config.yaml             the composed config
      demonstrations.jsonl    collected demonstrations (reused when the run is resumed)
      init/                   the tiny starting model (when model.path is null)
      sft/                    checkpoints, metrics.csv (see trainers/sft.py)
      eval/                   results.json, results.csv, trajectories
      result.json             sizes, times and the evaluation summary

Running the same ``run.name`` again resumes: demonstrations and the starting model are reused and
training continues from the newest checkpoint.

Under ``torchrun`` every rank runs :func:`run_job` for ``trainer=sft`` with the same config and
``out``: rank 0 collects (or loads) the demonstrations and builds the starting model while the
others wait, then the others read the same files; every rank trains its share of each step
(data parallel, see :mod:`agentgym.trainers.sft`); rank 0 alone writes files and evaluates.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from agentgym.config import build, to_container
from agentgym.errors import ConfigError, UnknownNameError
from agentgym.prompts import ReActFormat
from agentgym.trainers.distributed import barrier, current
from agentgym.types import Trajectory

__all__ = ["TRAINERS", "run_job"]

log = logging.getLogger(__name__)

#: ``trainer.name`` values: ``sft`` trains once; the others run the experiment loop
#: (:mod:`agentgym.trainers.experiment`).
TRAINERS = ("sft", "ppo", "online_dpo")


def run_job(cfg: DictConfig, out: Path) -> tuple[dict[str, Any], Any]:
    """Run the training job of ``cfg`` in folder ``out``.

    Returns what ``result.json`` holds and the evaluation report (``None`` without eval.suite,
    and on ranks other than 0 under ``torchrun``).
    """
    name = cfg.trainer.get("name")
    if name not in TRAINERS:
        raise UnknownNameError("trainer", str(name), TRAINERS)
    if name != "sft":
        from agentgym.trainers.experiment import run_experiment

        return run_experiment(cfg, out)
    return _sft_job(cfg, out)


def _sft_job(cfg: DictConfig, out: Path) -> tuple[dict[str, Any], Any]:
    from agentgym.trainers.sft import SFTConfig, SFTTrainer, latest_checkpoint

    section = dict(to_container(cfg.trainer))
    section.pop("name")
    section.setdefault("out_dir", str(out / "sft"))
    config = build(SFTConfig, section, "trainer")
    result: dict[str, Any] = {"trainer": "sft"}

    if cfg.eval.suite:
        eval_policy_settings(cfg, max_tokens=config.max_tokens,
                             device=config.device)  # fail now, not after training
    started = time.perf_counter()
    demos, model_path = _inputs(cfg, out, config.prompt_format())
    result["demonstrations"] = len(demos)
    result["demonstration_steps"] = sum(len(t) for t in demos)
    result["collect_seconds"] = round(time.perf_counter() - started, 1)

    trainer = SFTTrainer(model_path, demos, config)
    result["samples"] = len(trainer.samples)
    result["parameters"] = _parameters(model_path)
    resumed = latest_checkpoint(config.out_dir)
    if resumed is not None:
        log.info("resuming training from %s", resumed)
    started = time.perf_counter()
    final = trainer.train(resume=True)
    result["train_seconds_this_run"] = round(time.perf_counter() - started, 1)
    state = _trainer_state(final)
    result.update(checkpoint=str(final), steps=state.get("step"),
                  train_seconds=round(state.get("seconds", 0.0), 1),
                  tokens_seen=state.get("tokens"))  # prompt + target tokens trained on
    if not current().is_main:  # rank 0 evaluates and writes the result
        return result, None

    report = None
    if cfg.eval.suite:
        settings = eval_policy_settings(cfg, max_tokens=config.max_tokens, device=config.device)
        report, result["eval"] = evaluate_checkpoint(cfg, final, out / "eval", settings)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result, report


def _inputs(cfg: DictConfig, out: Path, fmt: ReActFormat) -> tuple[list[Trajectory], str]:
    """The demonstrations and the starting model. Under ``torchrun`` rank 0 collects and builds
    them (writing them in ``out``) while the other ranks wait; then these read the same files."""
    main = current().is_main
    if main:
        demos = demonstrations(cfg, out)
        model_path = starting_model(cfg, out, demos, fmt)
    barrier()
    if not main:
        demos = demonstrations(cfg, out, read_only=True)
        model_path = starting_model(cfg, out, demos, fmt, read_only=True)
    return demos, model_path


def demonstrations(cfg: DictConfig, out: Path, *, read_only: bool = False) -> list[Trajectory]:
    """``data.path``'s trajectories, or a demonstrator's rollouts (saved in ``out``, reused).

    With ``read_only`` (ranks other than 0) the rollouts must be saved already."""
    from agentgym.storage import load_trajectories, save_trajectories

    data = cfg.data
    if data.path:
        trajs = load_trajectories(data.path)
    else:
        cached = out / "demonstrations.jsonl"
        if cached.exists():
            log.info("reusing the demonstrations in %s", cached)
            trajs = load_trajectories(cached)
        else:
            if read_only:
                raise FileNotFoundError(f"{cached}: rank 0 should have saved the demonstrations")
            trajs = _collect(cfg)
            save_trajectories(trajs, cached)
    kept = [t for t in trajs if t.success] if data.only_success else trajs
    if not kept:
        raise ConfigError(
            "data", f"no usable demonstrations ({len(trajs)} trajectories, none successful).",
            "use a better demonstrator, more data.episodes, or data.only_success=false.",
        )
    return kept


def _collect(cfg: DictConfig) -> list[Trajectory]:
    from agentgym.policies.registry import make_policy
    from agentgym.rollout import RolloutConfig, RolloutEngine

    data = cfg.data
    if not data.env.id:
        raise ConfigError(
            "data.env.id", "no demonstrations: neither data.path nor data.env.id is set.",
            "give data.path=<trajectories .jsonl/.parquet> (from `agentgym collect`) or "
            "data.env.id=<env id> to collect them with data.policy.",
        )
    section = to_container(data.policy) or {"name": "oracle",
                                            "think": bool(cfg.trainer.get("think", True))}
    policy = make_policy(section)
    rollout = build(RolloutConfig, cfg.rollout, "rollout")
    kwargs = to_container(data.env.kwargs) or {}
    log.info("collecting %d demonstrations of %s on %s", data.episodes, section["name"],
             data.env.id)
    with RolloutEngine(data.env.id, env_kwargs=kwargs, config=rollout) as engine:
        return engine.run(policy, episodes=data.episodes, seed=data.seed, desc="demonstrations")


def starting_model(cfg: DictConfig, out: Path, demos: list[Trajectory], fmt: ReActFormat, *,
                   read_only: bool = False) -> str:
    """``model.path``, or a tiny model in ``out/init`` with a tokenizer trained on ``demos``
    rendered in the prompt format ``fmt`` the model will be trained with (with ``read_only``,
    ranks other than 0: built already)."""
    from agentgym.models.tiny import TinyModelConfig, make_tiny_checkpoint, trajectory_texts

    if cfg.model.path:
        return str(cfg.model.path)
    folder = out / "init"
    if (folder / "config.json").exists():
        return str(folder)
    if read_only:
        raise FileNotFoundError(f"{folder}: rank 0 should have built the starting model")
    tiny = build(TinyModelConfig, cfg.model.tiny, "model.tiny")
    count = cfg.model.tokenizer_episodes
    if count < 1:
        raise ConfigError("model.tokenizer_episodes", f"must be >= 1, got {count}.")
    texts = trajectory_texts(demos[:count], format=fmt)
    make_tiny_checkpoint(folder, texts=texts, config=tiny, vocab_size=cfg.model.vocab_size)
    return str(folder)


def evaluate_checkpoint(cfg: DictConfig, checkpoint: Path, out: Path, settings: dict[str, Any],
                        *, policy_name: str | None = None):
    """Evaluation of ``checkpoint`` on ``eval.suite`` with the prompt it was trained on and the
    HFPolicy ``settings`` of :func:`eval_policy_settings`.

    Saves the report in ``out``; returns it and a summary (overall metrics and seconds taken).
    """
    from agentgym.policies.hf import HFPolicy
    from agentgym.rollout import RolloutConfig
    from agentgym.suites import evaluate

    suite = eval_suite(cfg)
    policy = HFPolicy(str(checkpoint), **settings)
    started = time.perf_counter()
    name = policy_name or f"{cfg.trainer.name}:{Path(checkpoint).name}"
    report = evaluate(policy, suite, policy_name=name,
                      rollout=build(RolloutConfig, cfg.rollout, "rollout"))
    report.save(out)
    summary = {"suite": suite.name, **report.overall,
               "seconds": round(time.perf_counter() - started, 1)}
    return report, summary


def eval_suite(cfg: DictConfig):
    """The suite ``eval.suite``, with ``eval.episodes`` per entry when that is set."""
    from agentgym.suites import load_suite

    suite = load_suite(cfg.eval.suite)
    if cfg.eval.episodes:
        for entry in suite.entries:
            entry.episodes = int(cfg.eval.episodes)
    return suite


def eval_policy_settings(cfg: DictConfig, *, max_tokens: int, device: str) -> dict[str, Any]:
    """HFPolicy arguments for the evaluation: greedy, sized like training, plus ``eval.policy``.

    The prompt settings are not among them: the checkpoint's ``agentgym_prompt.json`` gives them.
    Checked without loading anything, so a bad ``eval.policy`` fails before training starts.
    """
    from agentgym.policies.hf import HFPolicyConfig

    settings = {"temperature": 0.0, "max_new_tokens": cfg.eval.max_new_tokens,
                "max_prompt_tokens": max(1, max_tokens - cfg.eval.max_new_tokens),
                "device": device, **(to_container(cfg.eval.get("policy")) or {})}
    unknown = sorted(set(settings) - set(HFPolicyConfig.__dataclass_fields__) - {"path"})
    if unknown or "path" in settings:
        raise ConfigError("eval.policy", f"not hf policy settings: {unknown or ['path']}.",
                          "use keys of conf/policy/hf.yaml except path, e.g. "
                          "eval.policy.constrain=admissible.")
    HFPolicyConfig(path="checkpoint", **settings)  # values are checked here
    return settings


def _parameters(model_path: str) -> int | None:
    """Parameter count from the checkpoint's config (without loading weights)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_path))
    except Exception:  # an exotic model: not worth failing the job over a count
        return None
    return sum(p.numel() for p in model.parameters())


def _trainer_state(checkpoint: Path) -> dict[str, Any]:
    import torch

    path = Path(checkpoint) / "trainer_state.pt"
    if not path.exists():
        return {}
    saved = torch.load(path, weights_only=False)
    return {k: saved[k] for k in ("step", "tokens", "seconds") if k in saved}
