"""The ``agentgym`` command line: ``envs``, ``eval``, ``collect`` and ``demo`` over hydra configs,
and ``serve``.

Usage::

    agentgym envs                                        # registered environments
    agentgym eval suite=keydoor policy=oracle            # a policy on a suite
    agentgym eval env.id=agentgym/KeyDoor-v0 policy=random episodes=50
    agentgym eval env.id=mymodule:mine/MyEnv-v0 policy=oracle   # a user env, imported first
    agentgym collect env.id=agentgym/KeyDoor-v0 policy.think=true episodes=500  # demonstrations
    agentgym train experiment=household_bc               # behaviour cloning, then evaluation
    agentgym reward fit reward=agentprm                  # fit a step rewarder, save it
    agentgym prm-eval reward=agentprm reward.path=runs/<fit run>/reward   # meta-evaluate it
    agentgym demo                                        # the embedded default job
    agentgym eval --cfg suite=keydoor                    # print the composed config and stop
    agentgym serve --echo --port 8000                    # OpenAI-compatible test server

Everything after ``envs|eval|collect|train|demo|reward fit|prm-eval`` is a hydra override
(``key=value``, ``group=option``); ``serve`` takes plain options (``agentgym serve --help``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from agentgym.errors import AgentGymError, ConfigError, UnknownNameError, closest

__all__ = ["main"]

log = logging.getLogger("agentgym")

COMMANDS = {
    "envs": "List the registered environments.",
    "eval": "Evaluate a policy on a suite or an env; prints a table, writes JSON + CSV.",
    "collect": "Roll out a policy (oracle by default) and save trajectories (demonstrations).",
    "train": "Train a policy (behaviour cloning today): agentgym train experiment=household_bc.",
    "model": "`model init PATH`: build a tiny local model (tokenizer on env text + Llama/Qwen2).",
    "reward": "`reward fit [overrides]`: fit a learned step rewarder (AgentPRM, SPA, ...).",
    "prm-eval": "Meta-evaluate a step rewarder: MRR, step and trajectory accuracy, best-of-N.",
    "demo": "Run the embedded default job (baselines side by side on the household world).",
    "serve": "Serve a model as an OpenAI-compatible chat endpoint on 127.0.0.1 (see --help).",
}


def _console():
    from rich.console import Console

    # Pipes and CI logs get 80 columns by default, which squeezes the result table.
    return Console() if sys.stdout.isatty() else Console(width=int(os.environ.get("COLUMNS", 132)))


def cmd_envs(args: Sequence[str]) -> int:
    """``agentgym envs [--all]``: registered ids with one-line descriptions."""
    from rich.table import Table

    from agentgym.registration import NAMESPACE, describe_envs

    rows = describe_envs(None if "--all" in args else NAMESPACE)
    table = Table(title="Registered environments" + ("" if "--all" in args else " (agentgym/)"))
    table.add_column("id", style="bold")
    table.add_column("max steps", justify="right")
    table.add_column("description")
    for row in rows:
        table.add_row(row.id, str(row.max_episode_steps or "-"), row.description)
    _console().print(table)
    return 0


def _overrides(args: Sequence[str]) -> list[str]:
    return [a for a in args if not a.startswith("--")]


def _rollout_config(cfg: DictConfig):
    from agentgym.config import build
    from agentgym.rollout import RolloutConfig

    return build(RolloutConfig, cfg.rollout, "rollout")


def _run_dir(cfg: DictConfig, default_name: str) -> Path:
    name = cfg.run.name or f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path = Path(cfg.run.dir) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_top_level(cfg: DictConfig, allowed: Sequence[str]) -> None:
    for key in cfg:
        if key not in allowed:
            raise ConfigError.unknown_key("", str(key), allowed)


def _suite_from(cfg: DictConfig):
    from agentgym.suites import Suite

    if cfg.get("suite") is not None and cfg.env.id:
        raise ConfigError(
            "env.id", "both suite and env.id are set.", "give one: suite=NAME or env.id=ID."
        )
    if cfg.get("suite") is not None:
        return Suite.from_config(cfg.suite)
    if not cfg.env.id:
        raise ConfigError(
            "env.id",
            "nothing to evaluate: neither suite nor env.id is set.",
            "add suite=keydoor or env.id=agentgym/KeyDoor-v0 (see `agentgym envs`).",
        )
    from agentgym.config import to_container

    kwargs = to_container(cfg.env.kwargs) or {}
    return Suite.single(cfg.env.id, kwargs=kwargs, episodes=cfg.episodes, seed=cfg.seed)


def cmd_eval(args: Sequence[str]) -> int:
    """``agentgym eval [overrides]``: one policy on a suite or env."""
    from agentgym.config import compose
    from agentgym.policies.registry import make_policy
    from agentgym.suites import evaluate

    cfg = compose("eval", _overrides(args))
    if "--cfg" in args:
        _console().print(OmegaConf.to_yaml(cfg))
        return 0
    _check_top_level(cfg, ["policy", "suite", "env", "episodes", "seed", "rollout", "run"])
    suite = _suite_from(cfg)
    policy = make_policy(cfg.policy)
    rollout = _rollout_config(cfg)
    report = evaluate(policy, suite, policy_name=cfg.policy.name, rollout=rollout)
    out = _run_dir(cfg, f"eval-{cfg.policy.name}-{suite.name}".replace(":", "_"))
    OmegaConf.save(cfg, out / "config.yaml")
    report.save(out, trajectories=cfg.run.save_trajectories)
    print_reports([report], title=f"{suite.name}: {cfg.policy.name}")
    _console().print(f"Results written to [bold]{out}[/] (results.json, results.csv).")
    return 0


def cmd_collect(args: Sequence[str]) -> int:
    """``agentgym collect [overrides]``: save a policy's trajectories (demonstrations)."""
    from agentgym.config import compose, to_container
    from agentgym.policies.registry import make_policy
    from agentgym.rollout import RolloutEngine
    from agentgym.storage import save_trajectories
    from agentgym.suites import episode_metrics

    cfg = compose("collect", _overrides(args))
    if "--cfg" in args:
        _console().print(OmegaConf.to_yaml(cfg))
        return 0
    allowed = ["policy", "env", "episodes", "seed", "group_size", "only_success", "format",
               "rollout", "run"]
    _check_top_level(cfg, allowed)
    if cfg.format not in ("jsonl", "parquet"):
        raise ConfigError("format", f"{cfg.format!r} is not a format.", "use jsonl or parquet.")
    policy = make_policy(cfg.policy)
    kwargs = to_container(cfg.env.kwargs) or {}
    with RolloutEngine(cfg.env.id, env_kwargs=kwargs, config=_rollout_config(cfg)) as engine:
        trajs = engine.run(policy, episodes=cfg.episodes, seed=cfg.seed, group_size=cfg.group_size)
    kept = [t for t in trajs if t.success] if cfg.only_success else trajs
    name = f"collect-{cfg.policy.name}-{cfg.env.id.rpartition(':')[2]}".replace("/", "-")
    out = _run_dir(cfg, name.replace(":", "_"))
    OmegaConf.save(cfg, out / "config.yaml")
    path = save_trajectories(kept, out / f"trajectories.{cfg.format}")
    stats = episode_metrics(trajs)
    _console().print(
        f"Collected {len(trajs)} episodes (success {stats['success_rate']:.3f}, "
        f"mean steps {stats['mean_steps']:.1f}); kept {len(kept)} in [bold]{path}[/]."
    )
    return 0


def cmd_train(args: Sequence[str]) -> int:
    """``agentgym train [overrides]``: demonstrations, starting model, training, evaluation."""
    from agentgym.config import compose
    from agentgym.trainers.jobs import run_job

    cfg = compose("train", _overrides(args))
    if "--cfg" in args:
        _console().print(OmegaConf.to_yaml(cfg))
        return 0
    _check_top_level(cfg, ["trainer", "model", "data", "eval", "rollout", "run", "bc", "loop",
                           "reward"])
    from agentgym.trainers.distributed import DistInfo

    if DistInfo.from_env().distributed:  # launched by torchrun
        return _train_distributed(cfg)
    out = _run_dir(cfg, f"train-{cfg.trainer.name}")
    OmegaConf.save(cfg, out / "config.yaml")
    result, report = run_job(cfg, out)
    if cfg.trainer.name != "sft":
        _print_experiment(out, result)
    else:
        _print_sft(out, result, report)
    return 0


def _print_sft(out: Path, result: dict[str, Any], report) -> None:
    """What an SFT job did, and its evaluation report when there is one."""
    if report is not None:
        print_reports([report], title=f"{result['eval']['suite']}: sft checkpoint")
    minutes = result["train_seconds"] / 60
    _console().print(
        f"Trained {result['steps']} steps ({minutes:.1f} min) on {result['samples']} samples "
        f"from {result['demonstrations']} demonstrations. Checkpoint: [bold]{result['checkpoint']}[/]"
    )
    _console().print(f"Results written to [bold]{out}[/] (result.json).")


#: Trainers whose ``agentgym train`` runs under ``torchrun``.
DISTRIBUTED_TRAINERS = ("sft", "ppo", "online_dpo")


def _train_distributed(cfg: DictConfig) -> int:
    """``agentgym train`` under ``torchrun``. ``sft``: every rank runs the job (rank 0 gets the
    data and writes, all train; see :mod:`agentgym.trainers.jobs`). ``ppo`` / ``online_dpo``:
    rank 0 runs the experiment, every rank joins its training (DDP); see
    :mod:`agentgym.trainers.experiment`."""
    from agentgym.trainers.distributed import destroy, init_distributed
    from agentgym.trainers.experiment import follow_experiment, run_experiment
    from agentgym.trainers.jobs import run_job

    name = cfg.trainer.name
    if name not in DISTRIBUTED_TRAINERS:
        near = closest(str(name), DISTRIBUTED_TRAINERS)
        raise ConfigError("trainer.name", f"{name!r} does not run under torchrun; "
                          f"{', '.join(DISTRIBUTED_TRAINERS)} do.",
                          (f"did you mean trainer={near[0]}? " if near else "")
                          + "Use one of those trainers, or run without torchrun.")
    if cfg.run.name is None:  # checked on every rank, before any of them waits for another
        raise ConfigError("run.name", "must be set under torchrun.",
                          "give run.name=<name> so that every rank, and a rerun, uses the "
                          "same run folder.")
    # rank 0 collects, fits and evaluates alone meanwhile: the others wait up to a day
    info = init_distributed(device=str(cfg.trainer.get("device", "auto")), timeout_s=86400)
    try:
        out = Path(cfg.run.dir) / cfg.run.name
        if info.is_main:
            out = _run_dir(cfg, f"train-{name}")
            OmegaConf.save(cfg, out / "config.yaml")
        if name == "sft":
            result, report = run_job(cfg, out)
            if info.is_main:
                _print_sft(out, result, report)
        elif not info.is_main:
            follow_experiment(cfg)
        else:
            result, _ = run_experiment(cfg, out)
            _print_experiment(out, result)
        return 0
    finally:
        destroy()


def _print_experiment(out: Path, result: dict[str, Any]) -> None:
    """The per-iteration table of an experiment run, from its metrics.csv."""
    import csv

    from rich.table import Table

    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in ("iteration", "env_steps", "rollout/success", "eval/success_rate",
                           "reward/total", "loss/policy", "loss/value", "loss/dpo")
               if any(r.get(c) for r in rows)]
    table = Table(title=f"{out.name}: {result['trainer']}, {result['iterations']} iterations")
    for c in columns:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*[_fmt(r.get(c, ""), whole=c in ("iteration", "env_steps"))
                        for c in columns])
    _console().print(table)
    _console().print(f"Policy: [bold]{result['policy']}[/]. Report: [bold]{out / 'report.md'}[/].")


def _fmt(value: str, *, whole: bool = False) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value or ""
    return str(int(number)) if whole else f"{number:.3f}"


def cmd_model(args: Sequence[str]) -> int:
    """``agentgym model init PATH [options]``: a tiny checkpoint in Hugging Face format."""
    if not args or args[0] != "init":
        raise UnknownNameError("model command", args[0] if args else "", ["init"],
                               fix="Usage: agentgym model init PATH [--arch qwen2 ...].")
    from agentgym.models.tiny import main as tiny_main

    return tiny_main(list(args[1:]))


def cmd_reward(args: Sequence[str]) -> int:
    """``agentgym reward fit [overrides]``: fit a learned step rewarder and save it."""
    if not args or args[0] != "fit":
        raise UnknownNameError("reward command", args[0] if args else "", ["fit"],
                               fix="Usage: agentgym reward fit reward=agentprm [overrides].")
    from agentgym.config import compose
    from agentgym.rewards.jobs import fit_job

    args = list(args[1:])
    cfg = compose("reward_fit", _overrides(args))
    if "--cfg" in args:
        _console().print(OmegaConf.to_yaml(cfg))
        return 0
    _check_top_level(cfg, ["reward", "data", "prover", "rollout", "run"])
    out = _run_dir(cfg, f"reward-{cfg.reward.name}")
    OmegaConf.save(cfg, out / "config.yaml")
    result = fit_job(cfg, out)
    _console().print(
        f"Fitted {result['reward']} on {result['episodes']} episodes ({result['steps']} steps, "
        f"success {result['success_rate']:.2f}): {result['optimizer_steps']} optimizer steps in "
        f"{result['fit_seconds'] / 60:.1f} min, loss {result['first_loss']:.4f} -> "
        f"{result['last_loss']:.4f}. Saved to [bold]{result['path']}[/]."
    )
    return 0


def cmd_prm_eval(args: Sequence[str]) -> int:
    """``agentgym prm-eval [overrides]``: meta-evaluation of a step rewarder."""
    from rich.table import Table

    from agentgym.config import compose
    from agentgym.rewards.jobs import prm_eval_job

    cfg = compose("prm_eval", _overrides(args))
    if "--cfg" in args:
        _console().print(OmegaConf.to_yaml(cfg))
        return 0
    _check_top_level(cfg, ["reward", "env", "episodes", "seed", "alternatives",
                           "skip_equivalent", "max_episode_steps", "policy", "best_of_n",
                           "rollout", "run"])
    out = _run_dir(cfg, f"prm-eval-{cfg.reward.name}")
    OmegaConf.save(cfg, out / "config.yaml")
    result = prm_eval_job(cfg, out)
    table = Table(title=f"prm-eval: {result['reward']} on {result['env']}")
    for column in ("states", "episodes", "MRR", "step acc", "trajectory acc"):
        table.add_column(column, justify="right" if column != "states" else "left")
    parts = [("all", result)] + [(k, result[k]) for k in ("expert", "policy") if k in result]
    table.columns[0].header = "states"
    for label, m in parts:
        table.add_row(f"{label} ({m['states']})", str(m["episodes"]), f"{m['mrr']:.3f}",
                      f"{m['step_accuracy']:.3f}", f"{m['trajectory_accuracy']:.3f}")
    _console().print(table)
    if "best_of_n" in result:
        curve = ", ".join(f"N={n}: {s:.3f}" for n, s in result["best_of_n"].items())
        _console().print(f"Best-of-N success: {curve}")
    _console().print(f"Results written to [bold]{out}[/] (result.json).")
    return 0


def cmd_demo(args: Sequence[str]) -> int:
    """``agentgym demo``: the experiment of conf/demo.yaml, then its table beside the baselines."""
    from agentgym.config import compose, group_options
    from agentgym.policies.registry import make_policy
    from agentgym.suites import EvalReport, evaluate, write_csv
    from agentgym.trainers.experiment import run_experiment
    from agentgym.trainers.jobs import eval_suite

    cfg = compose("demo", _overrides(args))
    if "--cfg" in args:
        _console().print(OmegaConf.to_yaml(cfg))
        return 0
    _check_top_level(cfg, ["trainer", "model", "data", "eval", "rollout", "run", "bc", "loop",
                           "reward", "baselines"])
    for name in cfg.baselines:
        if name not in group_options("policy"):
            raise UnknownNameError("baselines", name, group_options("policy"))
    out = _run_dir(cfg, "demo")
    OmegaConf.save(cfg, out / "config.yaml")
    result, _ = run_experiment(cfg, out)
    suite = eval_suite(cfg)
    reports = []
    for name in cfg.baselines:
        folder = out / "baselines" / name
        if (folder / "results.json").exists():
            reports.append(EvalReport.load(folder))
            continue
        policy = make_policy(compose("eval", [f"policy={name}"]).policy)
        report = evaluate(policy, suite, policy_name=name, rollout=_rollout_config(cfg))
        report.save(folder)
        reports.append(report)
    start = EvalReport.load(out / "iterations" / "start-eval")
    start.policy = "cloned (start)"
    trained = EvalReport.load(Path(result["policy"]).parent / "eval")
    trained.policy = f"{cfg.trainer.name} + step rewards"
    reports = [*reports[:1], start, trained, *reports[1:]]  # random first, oracle last
    write_csv([row for r in reports for row in r.rows()], out / "results.csv")
    _print_experiment(out, result)
    print_reports(reports, title=f"agentgym demo: {suite.name} suite")
    _console().print(f"Results written to [bold]{out}[/] (results.csv, report.md).")
    return 0


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises (exit code 2 through :func:`main`) instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise AgentGymError(f"{message}. Fix: see `{self.prog} --help`.")


def serve_parser() -> argparse.ArgumentParser:
    """The options of ``agentgym serve``."""
    parser = _ArgumentParser(
        prog="agentgym serve",
        description="Serve a model as an OpenAI-compatible /v1/chat/completions endpoint on "
        "127.0.0.1, batching concurrent requests into one generator call.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--policy-path", help="local model directory (transformers format)")
    source.add_argument("--echo", action="store_true",
                        help="deterministic test generator: the first admissible action")
    parser.add_argument("--host", default="127.0.0.1", help="only 127.0.0.1/localhost allowed")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0: any free one)")
    parser.add_argument("--model-name", default=None,
                        help="name clients send as 'model' (default: echo, or the path)")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0,
                        help="how long to collect concurrent requests into one batch")
    parser.add_argument("--max-tokens-limit", type=int, default=4096)
    parser.add_argument("--device", default="auto", help="with --policy-path: auto, cpu, cuda, ...")
    parser.add_argument("--dtype", default="auto", help="with --policy-path: auto, bfloat16, ...")
    return parser


def build_server(args: Sequence[str]):
    """The :class:`~agentgym.serve.ChatServer` that ``agentgym serve ARGS`` runs (not started)."""
    from agentgym.serve import ChatServer, echo_generator, hf_generator

    opts = serve_parser().parse_args(list(args))
    if opts.echo:
        generate, name = echo_generator, "echo"
    elif opts.policy_path:
        generate = hf_generator(opts.policy_path, device=opts.device, dtype=opts.dtype)
        name = opts.policy_path
    else:
        raise AgentGymError(
            "agentgym serve needs a model. Fix: give --policy-path DIR (a transformers model "
            "directory) or --echo (the deterministic test generator)."
        )
    return ChatServer(
        generate, host=opts.host, port=opts.port, model=opts.model_name or name,
        max_batch_size=opts.max_batch_size, max_wait_s=opts.batch_wait_ms / 1000.0,
        max_tokens_limit=opts.max_tokens_limit,
    )


def cmd_serve(args: Sequence[str]) -> int:
    """``agentgym serve [--echo | --policy-path DIR] [--port N]``: serve until Ctrl-C."""
    if "-h" in args or "--help" in args:
        sys.stdout.write(serve_parser().format_help())
        return 0
    server = build_server(args)
    _console().print(
        f"Serving model [bold]{server.model}[/] at [bold]{server.url}[/] "
        "(POST /chat/completions, GET /models). Ctrl-C stops."
    )
    try:
        server.serve_forever()
    finally:
        server.close()
    return 0


def print_reports(reports: Sequence[Any], *, title: str) -> None:
    """One table of every report's rows."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("policy")
    table.add_column("entry", no_wrap=True)
    for col in ("episodes", "success", "95% CI", "mean return", "mean steps", "invalid rate"):
        table.add_column(col, justify="right", no_wrap=True)
    for report in reports:
        for row in report.rows():
            table.add_row(
                row["policy"],
                row["entry"],
                str(row["episodes"]),
                f"{row['success_rate']:.3f}",
                f"{row['success_low']:.2f}–{row['success_high']:.2f}",
                f"{row['mean_return']:.3f}",
                f"{row['mean_steps']:.1f}",
                f"{row['invalid_action_rate']:.3f}",
                style="bold" if row["entry"] == "overall" else None,
            )
    _console().print(table)


def _usage() -> str:
    lines = ["usage: agentgym COMMAND [key=value ...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
    lines += ["", "Overrides are hydra's: policy=oracle suite=keydoor rollout.num_envs=16 ..."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentgym`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Other libraries stay at WARNING; agentgym's own progress notes (e.g. "Generating 10
    # TextWorld games ...") show at INFO. AGENTGYM_LOG=DEBUG (or WARNING) changes agentgym's level.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("agentgym").setLevel(os.environ.get("AGENTGYM_LOG", "INFO").upper())
    # Like `python -m`, let `env.id=mymodule:...` and `policy.name=mymodule:...` import from here.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(_usage() + "\n")
        return 0
    command, rest = argv[0], argv[1:]
    handlers = {
        "envs": cmd_envs, "eval": cmd_eval, "collect": cmd_collect, "demo": cmd_demo,
        "serve": cmd_serve, "model": cmd_model, "train": cmd_train, "reward": cmd_reward,
        "prm-eval": cmd_prm_eval,
    }
    try:
        if command not in handlers:
            raise UnknownNameError("command", command, handlers)
        return handlers[command](rest)
    except AgentGymError as exc:
        sys.stderr.write(f"agentgym {command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
