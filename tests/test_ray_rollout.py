"""The rollout engine on Ray actors (``rollout.backend=ray``), against a local Ray instance.

The same seeds give the same trajectories as the in-process engine; a worker killed in the
middle of a rollout is replaced and every episode comes back exactly once.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest

from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.rollout import RolloutConfig, RolloutEngine
from agentgym.types import ActionOutput, AgentInput, Trajectory

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ENV = "agentgym/KeyDoor-v0"
KWARGS = {"split": "valid", "size": 3, "keys": 1}


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from agentgym.ray_envs import init_ray

    scratch = tmp_path_factory.mktemp("ray")
    home = os.path.expanduser("~/.ray/auth_token")
    had_token = os.path.exists(home)
    init_ray(scratch=str(scratch), num_cpus=4)
    yield
    import ray

    ray.shutdown()
    assert any(scratch.iterdir())  # Ray's session files went to the scratch folder ...
    assert os.path.exists(home) == had_token  # ... and no token to the home folder


def _key(traj: Trajectory) -> tuple:
    return (traj.seed, traj.group, traj.success, traj.total_reward,
            tuple((s.observation["text"], s.action, s.reward, s.terminated, s.truncated)
                  for s in traj.steps))


def _run(config: RolloutConfig, policy, episodes: int = 12) -> list[Trajectory]:
    with RolloutEngine(ENV, env_kwargs=KWARGS, config=config) as engine:
        return engine.run(policy, episodes=episodes, seed=100, group_size=2)


@pytest.mark.parametrize("make_policy", [lambda: OraclePolicy(), lambda: RandomPolicy(seed=3)])
def test_ray_rollouts_equal_in_process_ones(make_policy) -> None:
    local = _run(RolloutConfig(num_envs=6, progress=False), make_policy())
    remote = _run(RolloutConfig(num_envs=6, workers=2, backend="ray", progress=False),
                  make_policy())
    assert [_key(t) for t in remote] == [_key(t) for t in local]
    assert len(remote) == 24 and any(len(t.steps) > 3 for t in remote)


class _KillOnce:
    """The oracle, which kills one Ray env worker (SIGKILL) before its ``at``-th batch."""

    def __init__(self, engine: RolloutEngine, at: int) -> None:
        self.engine, self.at, self.calls, self.inner = engine, at, 0, OraclePolicy()

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        self.calls += 1
        if self.calls == self.at:
            os.kill(self.engine.slots.pids()[0], signal.SIGKILL)
        return self.inner.act(batch)


def test_a_killed_worker_is_replaced_and_every_episode_comes_back_once() -> None:
    config = RolloutConfig(num_envs=4, workers=2, backend="ray", progress=False)
    with RolloutEngine(ENV, env_kwargs=KWARGS, config=config) as engine:
        first = engine.slots.pids()[0]
        policy = _KillOnce(engine, at=5)
        trajs = engine.run(policy, episodes=10, seed=100)
        assert engine.slots.restarts == 1 and engine.slots.pids()[0] != first
    local = _run(RolloutConfig(num_envs=4, progress=False), OraclePolicy(), episodes=10)
    seeds = Counter(t.seed for t in trajs)
    assert seeds == Counter(range(100, 110))  # each episode exactly once
    # the interrupted episodes started over from their seeds: same as in-process
    expected = {t.seed: _key(t) for t in _run(RolloutConfig(num_envs=4, progress=False),
                                              OraclePolicy(), episodes=10)}
    assert {t.seed: _key(t) for t in trajs} == expected == {t.seed: _key(t) for t in local}
    assert all(t.success for t in trajs)


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _browsers(pid: int) -> list[int]:
    """Chromium's main processes below ``pid`` (its helpers carry ``--type=``)."""
    out = []
    for child in _children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"chrom" in cmdline.lower() and b"--type=" not in cmdline:
            out.append(child)
    return out


class _CrashBrowserOnce(_KillOnce):
    """The oracle, which kills the Chromium of Ray env worker 0 (not the worker) before its
    ``at``-th batch."""

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        self.calls += 1
        if self.calls == self.at:
            self.killed = _browsers(self.engine.slots.pids()[0])
            for pid in self.killed:
                os.kill(pid, signal.SIGKILL)
        return self.inner.act(batch)


def test_a_crashed_browser_in_a_ray_worker_restarts_its_episode_only() -> None:
    shop, kwargs = "agentgym/WebShop-v0", {"split": "test", "backend": "browser"}

    def run(config: RolloutConfig, policy) -> list[Trajectory]:
        with RolloutEngine(shop, env_kwargs=kwargs, config=config) as engine:
            if isinstance(policy, type):
                policy = policy(engine, at=3)
            trajs = engine.run(policy, episodes=4, seed=0)
            restarts = getattr(engine.slots, "restarts", 0)
        return trajs, policy, restarts

    crashed, policy, restarts = run(RolloutConfig(num_envs=2, workers=2, backend="ray",
                                                  progress=False), _CrashBrowserOnce)
    assert policy.killed  # a Chromium was found and killed mid-episode ...
    assert restarts == 0  # ... while its Ray worker lived on
    local, _, _ = run(RolloutConfig(num_envs=2, progress=False), OraclePolicy())
    assert Counter(t.seed for t in crashed) == Counter(range(4))  # each episode exactly once
    assert [_key(t) for t in crashed] == [_key(t) for t in local]
    assert all(t.success for t in crashed)
