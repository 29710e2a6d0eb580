"""The baseline policies and building policies by name from config sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from omegaconf import OmegaConf

from agentgym.errors import AgentGymError, ConfigError, UnknownNameError
from agentgym.policies import registry
from agentgym.policies.base import _WORDS, OraclePolicy, Policy, RandomPolicy
from agentgym.policies.registry import make_policy, register_policy
from agentgym.registration import make
from agentgym.types import ActionOutput, AgentInput


def _input(admissible: Sequence[str] = (), expert: str | None = None) -> AgentInput:
    return AgentInput(
        env_id="test/Env-v0",
        goal="Reach the exit.",
        observation="You are in the hall.",
        admissible_actions=list(admissible),
        expert_action=expert,
    )


@dataclass(kw_only=True)
class FirstActionConfig:
    """FirstAction takes no settings."""


class FirstAction:
    """A user policy: always the first admissible action, prefixed by ``prefix``."""

    def __init__(self, *, prefix: str = "") -> None:
        self.prefix = prefix

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        firsts = [inp.admissible_actions[0] for inp in batch]
        return [ActionOutput(text=self.prefix + a, action=a) for a in firsts]


# -- RandomPolicy -----------------------------------------------------------------------------


BATCHES = [
    [_input(["go north", "go south", "look"]), _input(), _input(["take key", "look"])],
    [_input(["a", "b", "c", "d"])] * 5,
    [_input()] * 4,
]


def _actions(policy: RandomPolicy) -> list[str]:
    return [out.action for batch in BATCHES for out in policy.act(batch)]


def test_random_policy_is_deterministic_given_its_seed() -> None:
    assert _actions(RandomPolicy(seed=7)) == _actions(RandomPolicy(seed=7))
    assert _actions(RandomPolicy(seed=7)) != _actions(RandomPolicy(seed=8))


def test_random_policy_picks_only_admissible_actions_and_all_of_them() -> None:
    policy = RandomPolicy(seed=0)
    admissible = ["go north", "go south", "take red key"]
    outputs = policy.act([_input(admissible)] * 300)
    assert len(outputs) == 300
    assert {o.action for o in outputs} == set(admissible)
    assert all(o.text == o.action for o in outputs)


def test_random_policy_writes_random_text_where_the_action_space_is_open() -> None:
    policy = RandomPolicy(seed=0, max_words=3)
    outputs = policy.act([_input()] * 300)
    counts = {len(o.action.split(" ")) for o in outputs}
    assert counts == {1, 2, 3}
    assert all(set(o.action.split(" ")) <= set(_WORDS) for o in outputs)
    assert len({o.action for o in outputs}) > 50  # genuinely varied, not one fixed string
    assert all(o.text == o.action for o in outputs)


def test_random_policy_rejects_bad_max_words() -> None:
    with pytest.raises(ConfigError) as err:
        RandomPolicy(max_words=0)
    assert err.value.field == "policy.max_words"


def test_baselines_satisfy_the_policy_protocol() -> None:
    assert isinstance(RandomPolicy(), Policy)
    assert isinstance(OraclePolicy(), Policy)
    assert isinstance(FirstAction(), Policy)


# -- OraclePolicy -----------------------------------------------------------------------------


def test_oracle_policy_follows_the_expert_action() -> None:
    batch = [_input(["go north", "look"], expert="go north"), _input(expert="unlock east door")]
    outputs = OraclePolicy().act(batch)
    assert [(o.text, o.action) for o in outputs] == [
        ("go north", "go north"),
        ("unlock east door", "unlock east door"),
    ]


def test_oracle_policy_follows_a_real_env_to_its_goal() -> None:
    env = make("agentgym/KeyDoor-v0")
    obs, info = env.reset(seed=3)
    oracle = OraclePolicy()
    won = False
    for _ in range(50):
        inp = _input(obs["admissible_actions"], expert=info["expert_action"])
        (out,) = oracle.act([inp])
        assert out.action == info["expert_action"]
        obs, _, terminated, _, info = env.step(out.action)
        if terminated:
            won = info["won"]
            break
    env.close()
    assert won


def test_oracle_policy_without_an_expert_action_explains_the_fix() -> None:
    with pytest.raises(AgentGymError) as err:
        OraclePolicy().act([_input(expert="look"), _input(["look"])])
    message = str(err.value)
    assert "'test/Env-v0'" in message
    assert "info['expert_action']" in message
    assert "Fix:" in message and "Task.oracle()" in message


# -- make_policy ------------------------------------------------------------------------------


def test_make_policy_builds_random_with_its_settings() -> None:
    policy = make_policy({"name": "random", "seed": 3, "max_words": 2})
    assert isinstance(policy, RandomPolicy)
    assert policy.max_words == 2
    assert _actions(policy) == _actions(RandomPolicy(seed=3, max_words=2))


def test_make_policy_accepts_an_omegaconf_section() -> None:
    policy = make_policy(OmegaConf.create({"name": "random", "seed": 3}))
    assert _actions(policy) == _actions(RandomPolicy(seed=3))
    assert isinstance(make_policy(OmegaConf.create({"name": "oracle"})), OraclePolicy)


def test_unknown_policy_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError) as err:
        make_policy({"name": "radnom"})
    assert isinstance(err.value, KeyError)
    assert err.value.name == "radnom"
    assert "Did you mean 'random'?" in str(err.value)
    assert "oracle" in str(err.value)  # the known names are listed
    assert "package.module:ClassName" in str(err.value)


def test_missing_policy_name() -> None:
    with pytest.raises(ConfigError) as err:
        make_policy({"seed": 3})
    assert err.value.field == "policy.name"
    assert "random" in str(err.value)


@pytest.mark.parametrize(
    ("section", "field", "hint"),
    [
        ({"name": "random", "sed": 3}, "policy.sed", "Did you mean 'seed'?"),
        ({"name": "oracle", "seed": 3}, "policy.seed", "no such field"),
    ],
)
def test_unknown_policy_field_is_named(section: dict, field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_policy(section)
    assert err.value.field == field
    assert f"'{field}'" in str(err.value) and hint in str(err.value)


@pytest.mark.parametrize(
    ("value", "field"), [("x", "policy.seed"), (True, "policy.seed"), (1.5, "policy.seed")]
)
def test_wrong_type_of_policy_field(value: object, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_policy({"name": "random", "seed": value})
    assert err.value.field == field
    assert "expected int" in str(err.value) and repr(value) in str(err.value)


def test_bad_policy_value_is_checked_by_its_config() -> None:
    with pytest.raises(ConfigError) as err:
        make_policy({"name": "random", "max_words": 0})
    assert err.value.field == "policy.max_words"


def test_module_colon_class_loads_a_user_policy() -> None:
    policy = make_policy({"name": f"{__name__}:FirstAction", "prefix": "> "})
    assert isinstance(policy, FirstAction)
    (out,) = policy.act([_input(["look", "go north"])])
    assert (out.text, out.action) == ("> look", "look")
    by_path = make_policy({"name": "agentgym.policies.base:RandomPolicy", "seed": 3})
    assert _actions(by_path) == _actions(RandomPolicy(seed=3))


@pytest.mark.parametrize("name", ["no_such_module_xyz:Policy", f"{__name__}:NoSuchClass"])
def test_unloadable_user_policy_names_the_field(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_policy({"name": name})
    assert err.value.field == "policy.name"
    assert f"cannot load {name!r}" in str(err.value)


def test_register_policy_adds_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.POLICIES, "first", registry.POLICIES["oracle"])
    register_policy("first", f"{__name__}:FirstAction", f"{__name__}:FirstActionConfig")
    assert isinstance(make_policy({"name": "first"}), FirstAction)
    with pytest.raises(UnknownNameError, match="Did you mean 'first'"):
        make_policy({"name": "firts"})


def test_user_policy_with_a_bad_argument_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"policy.*bogus"):
        make_policy({"name": "agentgym.policies.base:RandomPolicy", "bogus": 1})
