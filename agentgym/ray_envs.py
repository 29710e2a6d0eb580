"""Environment slots held by Ray actors: rollouts spread over a machine or a cluster.

:class:`RayEnvs` answers the same batched calls as :class:`~agentgym.workers.LocalEnvs` and
:class:`~agentgym.workers.SubprocessEnvs` (reset, step, snapshot, restore), so the rollout engine
drives it unchanged and the same seeds give the same trajectories. Slot ``i`` lives in actor
``i % workers``; a call sends one request per actor with work and gathers the answers, so the
actors step their envs in parallel while the policy stays batched on the driver.

A worker that dies (its process killed, its node lost, a browser taking it down) is replaced by
a new actor, scheduled wherever Ray finds room. Its slots' episodes are answered with
:data:`~agentgym.workers.LOST` and the engine runs those episodes again from their start:
nothing is lost, nothing is counted twice. Resets, snapshots and restores are simply retried on
the new actor.

Ray is started here when it is not running yet: on a cluster with ``address`` (``"auto"``, or
``"ray://head:10001"``), else as a local instance whose files (sockets, logs, spilled objects)
and token stay in a scratch folder, with usage statistics off and its workers at normal
priority.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from gymnasium.envs.registration import EnvSpec

from agentgym.env import EnvSnapshot
from agentgym.errors import ConfigError, MissingExtraError, WorkerError
from agentgym.workers import LOST, ResetResult, StepResult, serve_command, split_by_worker

__all__ = ["RayEnvs", "init_ray"]

log = logging.getLogger(__name__)

#: Longest scratch folder path: Ray's socket paths below it must stay within 107 bytes.
_MAX_SCRATCH = 44


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("rollout.backend=ray", "ray", ["ray"]) from exc
    return ray


def init_ray(*, address: str | None = None, scratch: str | None = None,
             num_cpus: int | None = None) -> str | None:
    """Connect to Ray (a cluster at ``address``), or start a local instance; no-op if running.

    A local instance keeps its files under ``scratch`` (default: a new folder in the system's
    temporary directory; Unix sockets live there, so keep the path short) and uses a token
    made for it, kept in that folder rather than in ``~/.ray``; its workers run at the
    driver's priority (``RAY_worker_niceness=0``; Ray's default is 15). ``num_cpus``
    (local only) is the logical CPU count Ray schedules actors against (default: the machine's).
    Returns the scratch folder of a local instance, else ``None``.
    """
    imported = "ray" in sys.modules
    if imported and sys.modules["ray"].is_initialized():
        return None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        _ray().init(address=address, log_to_driver=False)
        return None
    scratch = os.path.abspath(scratch or tempfile.mkdtemp(prefix="agentgym-ray-"))
    if len(scratch.encode()) > _MAX_SCRATCH:  # Ray puts Unix sockets ~62 characters below it
        raise ConfigError("ray scratch", f"{scratch!r} is {len(scratch.encode())} bytes long; "
                          "Ray's Unix sockets under it would pass the 107-byte limit.",
                          f"use a folder path of at most {_MAX_SCRATCH} bytes, e.g. in /tmp.")
    os.makedirs(scratch, exist_ok=True)
    # Ray runs its workers at niceness 15 by default: env workers would then lose the CPU to
    # the driver and to anything else running, and a rollout would crawl.
    os.environ.setdefault("RAY_worker_niceness", "0")
    if "RAY_AUTH_MODE" not in os.environ and "RAY_AUTH_TOKEN_PATH" not in os.environ:
        token = os.path.join(scratch, "auth_token")  # Ray's default is ~/.ray/auth_token
        with open(os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_hex(32))
        os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=token)
        if imported:  # Ray read its settings at import: have it read them again
            _refresh_ray_settings()
    ray = _ray()
    ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
             _temp_dir=scratch, log_to_driver=False)
    log.info("started a local Ray instance; its files are in %s", scratch)
    return scratch


def _refresh_ray_settings() -> None:
    try:  # Ray keeps no public way to re-read RAY_AUTH_MODE after import
        from ray._raylet import Config

        Config.initialize("")
    except Exception as exc:  # pragma: no cover - depends on Ray's internals
        log.warning("could not make Ray re-read its settings (%s); import agentgym.ray_envs "
                    "and start Ray through it before importing ray elsewhere", exc)


class _EnvWorker:
    """The actor: a few envs of one spec, answering batched commands like a subprocess
    worker (see :func:`agentgym.workers.serve_command`)."""

    def __init__(self, spec: EnvSpec, kwargs: dict[str, Any], count: int,
                 max_episode_steps: int | None) -> None:
        from agentgym.workers import make_env

        self.envs = [make_env(spec, kwargs, max_episode_steps) for _ in range(count)]

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        return _ray().get_runtime_context().get_node_id()

    def run(self, command: str, jobs: list[tuple[int, Any]]) -> list[Any]:
        return serve_command(self.envs, command, jobs)

    def close(self) -> None:
        for env in self.envs:
            env.close()


class RayEnvs:
    """``num_envs`` environments spread round-robin over ``workers`` Ray actors.

    Args:
        spec: gymnasium spec of the environment (string entry point: actors import it).
        kwargs: Constructor keyword arguments.
        num_envs: Number of slots.
        workers: Number of actors (at most ``num_envs``).
        max_episode_steps: Overrides the spec's step limit when given.
        address: Ray cluster to join (``"auto"``, ``"ray://host:10001"``); None starts a local
            instance (see :func:`init_ray`) unless Ray is already running.
        scratch: Folder for a local instance's files.
        cpus_per_worker: CPUs Ray reserves for each actor when placing it.
        max_restarts: Replacement actors allowed over the pool's life before giving up.
    """

    def __init__(self, spec: EnvSpec, kwargs: dict[str, Any], num_envs: int, *, workers: int,
                 max_episode_steps: int | None = None, address: str | None = None,
                 scratch: str | None = None, cpus_per_worker: float = 1.0,
                 max_restarts: int = 8) -> None:
        self.num_envs = num_envs
        self.workers = max(1, min(workers, num_envs))
        init_ray(address=address, scratch=scratch,
                 num_cpus=max(os.cpu_count() or 1, int(self.workers * cpus_per_worker + 0.999)))
        ray = self._ray = _ray()
        self._args = (spec, kwargs, max_episode_steps)
        self._actor_class = ray.remote(num_cpus=cpus_per_worker, max_restarts=0)(_EnvWorker)
        self._actors = [self._spawn(w) for w in range(self.workers)]
        self.restarts, self._max_restarts = 0, max_restarts
        self._pids = self._gather("pid")

    def _spawn(self, w: int) -> Any:
        spec, kwargs, limit = self._args
        count = len(range(w, self.num_envs, self.workers))
        return self._actor_class.remote(spec, kwargs, count, limit)

    def _gather(self, method: str) -> list[Any]:
        return self._ray.get([getattr(a, method).remote() for a in self._actors])

    def pids(self) -> list[int]:
        """The process id of each actor (for tests and monitoring)."""
        return list(self._pids)

    def nodes(self) -> list[str]:
        """The Ray node id each actor runs on (for tests and monitoring)."""
        return self._gather("node")

    def _replace(self, w: int, error: BaseException) -> None:
        self.restarts += 1
        if self.restarts > self._max_restarts:
            self.close()
            raise WorkerError(f"Ray env workers died {self.restarts} times (last: worker {w}: "
                              f"{error}); giving up. Fix: check the workers' logs in Ray's "
                              "session folder.") from error
        log.warning("Ray env worker %d died (%s); starting a new one, its episodes start over",
                    w, type(error).__name__)
        self._actors[w] = self._spawn(w)
        self._pids[w] = self._ray.get(self._actors[w].pid.remote())

    def _call(self, command: str, jobs: Sequence[tuple[int, Any]], *, retry: bool
              ) -> list[Any]:
        per_worker, order = split_by_worker(jobs, self.workers)
        futures = {w: self._actors[w].run.remote(command, batch) for w, batch in
                   per_worker.items()}
        answers: dict[int, list[Any]] = {}
        for w, future in futures.items():
            while w not in answers:
                try:
                    answers[w] = self._ray.get(future)
                except self._ray.exceptions.RayActorError as exc:  # the process is gone
                    self._replace(w, exc)
                    if not retry:
                        answers[w] = [LOST] * len(per_worker[w])
                    else:
                        future = self._actors[w].run.remote(command, per_worker[w])
                except self._ray.exceptions.RayTaskError as exc:
                    raise WorkerError(f"Env worker {w} failed on {command}:\n{exc}") from exc
        return [answers[w][k] for w, k in order]

    def reset(self, jobs: Sequence[tuple[int, int]]) -> list[ResetResult]:
        return self._call("reset", jobs, retry=True)

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[StepResult]:
        """Step the slots; a slot whose worker died answers :data:`~agentgym.workers.LOST`."""
        return self._call("step", jobs, retry=False)

    def snapshot(self, slots: Sequence[int]) -> list[EnvSnapshot | None]:
        """A snapshot of each slot's episode, or ``None`` where the env cannot take one."""
        return self._call("snapshot", [(i, None) for i in slots], retry=False)

    def restore(self, jobs: Sequence[tuple[int, EnvSnapshot]]) -> list[ResetResult]:
        """Put slot ``i`` back to snapshot ``snap`` for each ``(i, snap)``."""
        return self._call("restore", jobs, retry=True)

    def close(self) -> None:
        """Close the envs and end the actors (Ray itself keeps running)."""
        for actor in self._actors:
            try:
                self._ray.get(actor.close.remote(), timeout=10)
            except Exception as exc:  # already dead
                log.debug("closing a Ray env worker: %s", exc)
            self._ray.kill(actor)
        self._actors = []
