"""RayPolicy: an HF policy served by Ray actors, and weight sync into them, on a local Ray."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgym.errors import ConfigError
from agentgym.policies.hf import HFPolicy
from agentgym.types import AgentInput

pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from agentgym.ray_envs import init_ray

    init_ray(scratch=str(tmp_path_factory.mktemp("ray")), num_cpus=4)
    yield
    import ray

    ray.shutdown()


def _inputs(n: int) -> list[AgentInput]:
    return [AgentInput(env_id="agentgym/KeyDoor-v0", goal="reach the exit",
                       observation=f"You are in room {i}. Doors lead north and east.",
                       admissible_actions=["go north", "go east", "look"]) for i in range(n)]


def test_replicas_act_like_the_local_policy_and_take_synced_weights(tiny_checkpoint: Path
                                                                     ) -> None:
    import torch

    from agentgym.policies.ray_policy import RayPolicy

    section = {"name": "hf", "path": str(tiny_checkpoint), "temperature": 0.0,
               "max_new_tokens": 8}
    local = HFPolicy(str(tiny_checkpoint), temperature=0.0, max_new_tokens=8)
    remote = RayPolicy(policy=section, replicas=2, num_cpus=0.5)
    try:
        batch = _inputs(5)
        assert [o.text for o in remote.act(batch)] == [o.text for o in local.act(batch)]
        # new weights: the local model perturbed; both sides must then act alike again
        torch.manual_seed(0)
        with torch.no_grad():
            for p in local.model.parameters():
                p.add_(torch.randn_like(p) * 0.5)
        before = [o.text for o in remote.act(batch)]
        timings = remote.sync_weights(local.model.state_dict())
        after_local = [o.text for o in local.act(batch)]
        assert [o.text for o in remote.act(batch)] == after_local != before
        assert timings["total"] >= timings["load_max"] > 0
        # from a checkpoint folder too: back to the saved weights
        remote.sync_weights(tiny_checkpoint)
        fresh = HFPolicy(str(tiny_checkpoint), temperature=0.0, max_new_tokens=8)
        assert [o.text for o in remote.act(batch)] == [o.text for o in fresh.act(batch)]
    finally:
        remote.close()


def test_bad_sections_name_the_field(tiny_checkpoint: Path) -> None:
    from agentgym.policies.ray_policy import RayPolicy

    with pytest.raises(ConfigError, match="policy.policy"):
        RayPolicy(policy={})
    with pytest.raises(ConfigError, match="replicas"):
        RayPolicy(policy={"name": "hf", "path": str(tiny_checkpoint)}, replicas=0)
    local = HFPolicy(str(tiny_checkpoint), temperature=0.0)
    with pytest.raises(ConfigError, match="do not fit"):
        local.load_weights({"lm_head.weight": local.model.lm_head.weight[:3]})


def test_the_experiment_loop_collects_with_ray_replicas_given_each_iterations_weights(
        small_checkpoint: Path, tmp_path: Path) -> None:
    """loop.serve.replicas=1: the collecting policy lives in a Ray actor and gets each
    iteration's weights; with one replica its sampling stream is the local policy's, so the
    episodes equal those of the same run without Ray."""
    import json

    from agentgym.cli import main
    from agentgym.storage import load_trajectories

    base = ["train", "trainer=ppo", f"model.path={small_checkpoint}",
            "loop.env.id=agentgym/KeyDoor-v0",
            "loop.iterations=2", "loop.episodes=4", "loop.chunk=2", "loop.group_size=2",
            "loop.max_episode_steps=4", "loop.policy.max_new_tokens=12",
            "+loop.policy.constrain=admissible", "+loop.policy.think=false",
            "trainer.constrain=admissible", "reward.terms=[{name: outcome},{name: admissible}]",
            "trainer.minibatch_turns=8", "trainer.lr=1e-3", "trainer.device=cpu",
            "trainer.progress=false", "rollout.num_envs=4", "rollout.progress=false",
            f"run.dir={tmp_path}"]
    assert main([*base, "run.name=local"]) == 0
    assert main([*base, "run.name=served", "loop.serve.replicas=1", "loop.serve.num_cpus=0.5"]
                ) == 0
    for k in ("000", "001"):
        a, b = (load_trajectories(tmp_path / run / "iterations" / k / "rollouts.jsonl")
                for run in ("local", "served"))
        assert [[s.action for s in t.steps] for t in a] == [[s.action for s in t.steps]
                                                            for t in b]
    second = json.loads((tmp_path / "served" / "iterations" / "001" / "metrics.json").read_text())
    assert second["time/weight_sync"] > 0  # iteration 2 collected with iteration 1's weights
