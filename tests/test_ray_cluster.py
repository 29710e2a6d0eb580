"""``rollout.ray_address``: a rollout joins a running Ray cluster of two nodes.

The cluster is two ``ray start`` nodes on this machine (addressed on 127.0.0.1, one CPU each,
token authentication, files in a scratch folder), the way a cluster of machines is started
node by node. A driver process joins it through ``RolloutConfig(ray_address=...)``: its two env
workers land on different nodes and return the in-process engine's trajectories.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

DRIVER = """
import json, sys
from agentgym.policies.base import OraclePolicy
from agentgym.rollout import RolloutConfig, RolloutEngine

def run(config):
    with RolloutEngine("agentgym/KeyDoor-v0", env_kwargs={"split": "valid", "size": 3, "keys": 1},
                       config=config) as engine:
        trajs = engine.run(OraclePolicy(), episodes=6, seed=100, group_size=2)
        nodes = engine.slots.nodes() if hasattr(engine.slots, "nodes") else []
    return [(t.seed, t.success, [s.action for s in t.steps]) for t in trajs], nodes

local, _ = run(RolloutConfig(num_envs=4, progress=False))
remote, nodes = run(RolloutConfig(num_envs=4, workers=2, backend="ray", ray_address=sys.argv[1],
                                  ray_cpus_per_worker=1, progress=False))
import ray
alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
print(json.dumps({"local": local, "remote": remote, "nodes": nodes, "alive": alive}))
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(group: int) -> None:
    """End every process of a ``ray start`` session (its daemons keep its process group)."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, dict[str, str]]]:
    scratch = Path(tempfile.mkdtemp(prefix="agr-", dir="/tmp"))  # short: Ray's sockets live here
    token = scratch / "token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}
    ray = str(Path(sys.executable).parent / "ray")
    address = f"127.0.0.1:{_port()}"
    node = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    commands = [[ray, "start", "--head", f"--port={address.split(':')[1]}",
                 f"--temp-dir={scratch}", "--include-dashboard=false",
                 f"--ray-client-server-port={_port()}", *node],
                [ray, "start", f"--address={address}", *node]]
    groups = []
    try:
        for command in commands:
            started = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True,
                                       start_new_session=True)
            groups.append(started.pid)
            out, _ = started.communicate(timeout=120)
            assert started.returncode == 0, out[-3000:]
        yield address, env
    finally:
        for group in reversed(groups):
            _stop(group)
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_rollout_joins_a_two_node_cluster(cluster) -> None:
    address, env = cluster
    done = subprocess.run([sys.executable, "-c", DRIVER, address], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["alive"]) == 2  # the driver joined the cluster rather than starting one
    assert sorted(result["nodes"]) == sorted(result["alive"])  # one env worker on each node
    assert result["remote"] == result["local"]
    assert len(result["remote"]) == 12 and all(success for _, success, _ in result["remote"])
