"""Where environments live during a rollout: in this process, or in subprocess workers.

Both hold ``num_envs`` slots and answer the same batched calls (reset, step, and snapshot /
restore for branch rollouts), so the rollout engine does not care which it drives, and the same
seeds give the same trajectories either way:

* :class:`LocalEnvs` steps every env in this process (fast engines: no copying, no IPC).
* :class:`SubprocessEnvs` spreads the slots over worker processes and sends one message per
  worker per call (slow engines: a browser, TextWorld, anything that blocks or leaks).
* :class:`agentgym.ray_envs.RayEnvs` spreads them over Ray actors, on one machine or a cluster,
  and replaces a worker that dies (its episodes come back as :data:`LOST` and start over).

In every pool, a step whose env raises :class:`~agentgym.errors.EnvCrashedError` (its browser
or game process died) answers :data:`LOST` too: the engine runs that episode again from its seed.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import subprocess
import sys
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from agentgym.env import EnvSnapshot, TextEnv, restore_env
from agentgym.errors import EnvCrashedError, WorkerError

__all__ = ["LOST", "EnvSlots", "LocalEnvs", "ResetResult", "StepResult", "SubprocessEnvs",
           "make_env", "serve_command", "split_by_worker", "step_env"]

# Run with -c rather than -m: the worker imports this module as a library, never as __main__.
_WORKER_CMD = "from agentgym.workers import worker_main; worker_main()"

log = logging.getLogger(__name__)

ResetResult = tuple[dict[str, Any], dict[str, Any]]
StepResult = tuple[dict[str, Any], float, bool, bool, dict[str, Any]]


class _Lost:
    """The answer of a slot whose worker or env engine died during a step: its episode must
    start over."""

    def __repr__(self) -> str:
        return "LOST"

    def __reduce__(self) -> str:  # unpickles as this module's LOST: ``is LOST`` holds anywhere
        return "LOST"


#: What ``step`` answers for a slot whose worker died (pools that replace workers) or whose env
#: raised :class:`~agentgym.errors.EnvCrashedError` (any pool).
LOST = _Lost()


def step_env(env: gym.Env, action: Any) -> StepResult | _Lost:
    """``env.step(action)``, or :data:`LOST` when the engine behind the env died (the env is
    reset before its next episode, which relaunches what it needs)."""
    try:
        return env.step(action)
    except EnvCrashedError as exc:
        log.warning("an env's engine died mid-episode (%s); the episode starts over", exc)
        return LOST


class EnvSlots(Protocol):
    """A fixed set of environment slots addressed by index."""

    num_envs: int

    def reset(self, jobs: Sequence[tuple[int, int]]) -> list[ResetResult]:
        """Reset slot ``i`` with seed ``s`` for each ``(i, s)``; results in the same order."""
        ...

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[StepResult]:
        """Step slot ``i`` with action ``a`` for each ``(i, a)``; results in the same order."""
        ...

    def close(self) -> None:
        """Release the environments."""
        ...


def _snapshot(env: gym.Env) -> EnvSnapshot | None:
    """``env``'s snapshot when it is a :class:`~agentgym.env.TextEnv`, else ``None``."""
    base = env.unwrapped
    return base.snapshot() if isinstance(base, TextEnv) else None


def make_env(spec: EnvSpec, kwargs: dict[str, Any], max_episode_steps: int | None) -> gym.Env:
    """``gym.make(spec, **kwargs)``, with the step limit overridden when given."""
    extra = {"max_episode_steps": max_episode_steps} if max_episode_steps else {}
    return gym.make(spec, **extra, **kwargs)


def serve_command(envs: Sequence[gym.Env], command: str, jobs: Sequence[tuple[int, Any]]
                  ) -> list[Any]:
    """Answer one batched command of a worker holding ``envs`` (``close`` answers ``[]``)."""
    if command == "reset":
        return [envs[i].reset(seed=seed) for i, seed in jobs]
    if command == "step":
        return [step_env(envs[i], action) for i, action in jobs]
    if command == "snapshot":
        return [_snapshot(envs[i]) for i, _ in jobs]
    if command == "restore":
        return [restore_env(envs[i], snap) for i, snap in jobs]
    if command == "close":
        for env in envs:
            env.close()
        return []
    raise ValueError(f"unknown command {command!r}")


class LocalEnvs:
    """``num_envs`` environments stepped one after another in this process."""

    def __init__(
        self,
        spec: EnvSpec,
        kwargs: dict[str, Any],
        num_envs: int,
        *,
        max_episode_steps: int | None = None,
    ) -> None:
        self.num_envs = num_envs
        self.envs = [make_env(spec, kwargs, max_episode_steps) for _ in range(num_envs)]

    def reset(self, jobs: Sequence[tuple[int, int]]) -> list[ResetResult]:
        return [self.envs[i].reset(seed=seed) for i, seed in jobs]

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[StepResult]:
        return [step_env(self.envs[i], action) for i, action in jobs]

    def snapshot(self, slots: Sequence[int]) -> list[EnvSnapshot | None]:
        """A snapshot of each slot's episode, or ``None`` where the env cannot take one."""
        return [_snapshot(self.envs[i]) for i in slots]

    def restore(self, jobs: Sequence[tuple[int, EnvSnapshot]]) -> list[ResetResult]:
        """Put slot ``i`` back to snapshot ``snap`` for each ``(i, snap)``."""
        return [restore_env(self.envs[i], snap) for i, snap in jobs]

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _serve(conn: Connection) -> None:
    """Loop of one worker process: build its envs, then answer batched commands."""
    try:
        sys.path[:] = conn.recv()
        spec, kwargs, count, limit = conn.recv()
        envs = [make_env(spec, kwargs, limit) for _ in range(count)]
        conn.send(("ok", None))
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        try:
            command, jobs = conn.recv()
        except EOFError:
            break
        try:
            result = serve_command(envs, command, jobs)
            if command == "close":
                conn.send(("ok", None))
                break
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))


def split_by_worker(jobs: Sequence[tuple[int, Any]], workers: int
                    ) -> tuple[dict[int, list[tuple[int, Any]]], list[tuple[int, int]]]:
    """Group ``(slot, arg)`` jobs by worker (slot ``i`` lives in worker ``i % workers`` as its
    env ``i // workers``): each worker's batch, and per job its (worker, position in batch)."""
    per_worker: dict[int, list[tuple[int, Any]]] = {}
    order: list[tuple[int, int]] = []
    for slot, arg in jobs:
        batch = per_worker.setdefault(slot % workers, [])
        order.append((slot % workers, len(batch)))
        batch.append((slot // workers, arg))
    return per_worker, order


class SubprocessEnvs:
    """``num_envs`` environments spread round-robin over ``workers`` processes.

    Slot ``i`` lives in worker ``i % workers``. A call sends one message to each worker that has
    work, then gathers the answers, so workers step their envs in parallel. Workers are fresh
    interpreters (see :func:`worker_main`) talking over an inherited pipe: safe beside
    torch and threads, and unlike multiprocessing's spawn they never re-run the user's main
    script, so no ``if __name__ == "__main__"`` guard is needed.

    Args:
        spec: gymnasium spec of the environment (string entry point: workers import it).
        kwargs: Constructor keyword arguments.
        num_envs: Number of slots.
        workers: Number of processes (at most ``num_envs``).
        max_episode_steps: Overrides the spec's step limit when given.
    """

    def __init__(
        self,
        spec: EnvSpec,
        kwargs: dict[str, Any],
        num_envs: int,
        *,
        workers: int,
        max_episode_steps: int | None = None,
    ) -> None:
        self.num_envs = num_envs
        self.workers = max(1, min(workers, num_envs))
        self._conns: list[Connection] = []
        self._procs: list[subprocess.Popen] = []
        for w in range(self.workers):
            parent, child = mp.Pipe()
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _WORKER_CMD, str(child.fileno())],
                    pass_fds=(child.fileno(),),
                )
            )
            child.close()  # the worker holds its own copy; EOF reaches us if it dies
            self._conns.append(parent)
            count = len(range(w, num_envs, self.workers))
            parent.send(list(sys.path))  # first, so the next message unpickles user objects
            parent.send((spec, kwargs, count, max_episode_steps))
        for w in range(self.workers):
            self._receive(w)

    def _receive(self, w: int) -> Any:
        try:
            status, payload = self._conns[w].recv()
        except (EOFError, OSError) as exc:
            self._procs[w].wait(timeout=5)
            self._fail(f"Env worker {w} died (exit code {self._procs[w].poll()}).", exc)
        if status == "error":
            self._fail(f"Env worker {w} failed:\n{payload}")
        return payload

    def _fail(self, message: str, cause: BaseException | None = None) -> None:
        """Shut every worker down and raise: a pool with a dead member is not reusable."""
        self.close()
        raise WorkerError(message) from cause

    def _call(self, command: str, jobs: Sequence[tuple[int, Any]]) -> list[Any]:
        per_worker, order = split_by_worker(jobs, self.workers)
        for w, batch in per_worker.items():
            try:
                self._conns[w].send((command, batch))
            except OSError as exc:  # the worker is gone (killed, crashed, out of memory)
                self._fail(f"Env worker {w} died (exit code {self._procs[w].poll()}).", exc)
        answers = {w: self._receive(w) for w in per_worker}
        return [answers[w][k] for w, k in order]

    def reset(self, jobs: Sequence[tuple[int, int]]) -> list[ResetResult]:
        return self._call("reset", jobs)

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[StepResult]:
        return self._call("step", jobs)

    def snapshot(self, slots: Sequence[int]) -> list[EnvSnapshot | None]:
        """A snapshot of each slot's episode, or ``None`` where the env cannot take one."""
        return self._call("snapshot", [(i, None) for i in slots])

    def restore(self, jobs: Sequence[tuple[int, EnvSnapshot]]) -> list[ResetResult]:
        """Put slot ``i`` back to snapshot ``snap`` for each ``(i, snap)``."""
        return self._call("restore", jobs)

    def close(self) -> None:
        for conn, proc in zip(self._conns, self._procs):
            if proc.poll() is None:
                try:
                    conn.send(("close", []))
                    conn.recv()
                except (BrokenPipeError, EOFError, OSError):
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            conn.close()
        self._conns, self._procs = [], []

    def __del__(self) -> None:  # best effort; explicit close() is the contract
        if getattr(self, "_procs", None):
            self.close()


def worker_main() -> None:
    """Entry of a worker process: serve over the inherited pipe end whose fd is ``argv[1]``."""
    with Connection(int(sys.argv[1])) as conn:
        _serve(conn)
