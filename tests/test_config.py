"""Every YAML in conf/ composes, and each section matches the constructor it feeds."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from agentgym.config import build, compose, group_options
from agentgym.errors import ConfigError
from agentgym.policies.registry import POLICIES, _load, make_policy
from agentgym.rollout import RolloutConfig, RolloutEngine
from agentgym.suites import Suite, SuiteEntry


def test_groups_are_found_in_the_package() -> None:
    assert {"random", "oracle"} <= set(group_options("policy"))
    assert {"keydoor", "smoke"} <= set(group_options("suite"))


#: Policies whose YAML leaves a required field null (no default can be right) -> that field.
REQUIRED_FIELD = {"hf": "policy.path", "vllm": "policy.path", "best_of_n": "policy.path"}


@pytest.mark.parametrize("option", group_options("policy"))
def test_every_policy_yaml_builds_its_policy(option: str) -> None:
    cfg = compose("eval", [f"policy={option}"])
    policy_path, config_path = POLICIES[cfg.policy.name]
    config_cls = _load(config_path)
    yaml_keys = set(cfg.policy) - {"name"}
    fields = {f.name for f in dataclasses.fields(config_cls)}
    assert yaml_keys == fields, f"conf/policy/{option}.yaml keys differ from {config_cls.__name__}"
    params = inspect.signature(_load(policy_path)).parameters
    assert fields == {n for n in params if n != "self"}, "config fields must match the constructor"
    if option in REQUIRED_FIELD:  # the error names the field and the fix
        with pytest.raises(ConfigError, match="Fix:") as err:
            make_policy(cfg.policy)
        assert err.value.field == REQUIRED_FIELD[option]
        return
    assert hasattr(make_policy(cfg.policy), "act")


@pytest.mark.parametrize("option", group_options("suite"))
def test_every_suite_yaml_builds(option: str) -> None:
    suite = Suite.from_config(compose("eval", [f"suite={option}"]).suite)
    assert suite.entries and all(isinstance(e, SuiteEntry) for e in suite.entries)
    for entry in suite.entries:  # the env and its kwargs must be real
        with RolloutEngine(entry.env_id, env_kwargs=entry.kwargs,
                           config=RolloutConfig(num_envs=1, progress=False)):
            pass


@pytest.mark.parametrize("name", ["eval", "demo"])
def test_rollout_section_matches_rollout_config(name: str) -> None:
    cfg = compose(name)
    assert set(cfg.rollout) == {f.name for f in dataclasses.fields(RolloutConfig)}
    assert isinstance(build(RolloutConfig, cfg.rollout, "rollout"), RolloutConfig)


@pytest.mark.parametrize(
    ("overrides", "field", "hint"),
    [
        (["polcy=oracle"], "polcy", "policy"),
        (["policy=oracel"], "policy", "oracle"),
        (["rollout.num_env=3"], "rollout.num_env", "num_envs"),
        (["suite=keydor"], "suite", "keydoor"),
        (["env.kwargs.size=3"], "env.kwargs.size", "+env.kwargs.size=3"),
    ],
)
def test_bad_overrides_name_the_field_and_the_fix(overrides, field, hint) -> None:
    with pytest.raises(ConfigError) as err:
        compose("eval", overrides)
    assert err.value.field == field
    assert hint in str(err.value)


def test_build_checks_types_and_values() -> None:
    with pytest.raises(ConfigError, match=r"rollout.num_envs.*expected int, got str"):
        build(RolloutConfig, {"num_envs": "abc"}, "rollout")
    with pytest.raises(ConfigError, match=r"rollout.num_envs.*>= 1"):
        build(RolloutConfig, {"num_envs": 0}, "rollout")
    with pytest.raises(ConfigError, match=r"Did you mean 'workers'"):
        build(RolloutConfig, {"wokers": 2}, "rollout")
    assert build(RolloutConfig, {"max_episode_steps": None}, "rollout").max_episode_steps is None


def _trainer_config_class(name: str):
    from agentgym.trainers.online_dpo import OnlineDPOConfig
    from agentgym.trainers.ppo import PPOConfig
    from agentgym.trainers.sft import SFTConfig

    return {"sft": SFTConfig, "ppo": PPOConfig, "online_dpo": OnlineDPOConfig}[name]


@pytest.mark.parametrize("option", group_options("trainer"))
def test_every_trainer_yaml_matches_its_config(option: str) -> None:
    cfg = compose("train", [f"trainer={option}"])
    cls = _trainer_config_class(cfg.trainer.name)
    fields = {f.name for f in dataclasses.fields(cls)} - {"out_dir"}  # out_dir: set by the job
    assert set(cfg.trainer) - {"name"} == fields, f"conf/trainer/{option}.yaml != {cls.__name__}"
    section = {k: v for k, v in cfg.trainer.items() if k != "name"}
    assert isinstance(build(cls, section, "trainer"), cls)


@pytest.mark.parametrize("option", group_options("experiment"))
def test_every_experiment_composes_and_builds(option: str) -> None:
    from agentgym.rewards.registry import make_rewarder

    cfg = compose("train", [f"experiment={option}"])
    cls = _trainer_config_class(cfg.trainer.name)
    section = {k: v for k, v in cfg.trainer.items() if k != "name"}
    assert isinstance(build(cls, section, "trainer"), cls)
    if cfg.trainer.name != "sft":  # the loop's parts: rewarders, bc settings, env
        assert cfg.loop.env.id and cfg.eval.suite
        for term in cfg.reward.terms:
            assert make_rewarder(term, field="reward.terms").name == term.name
        if cfg.bc:
            build(_trainer_config_class("sft"), dict(cfg.bc), "bc")
