"""Tests of the text spaces: Unicode, TextList and the shared observation space."""

from __future__ import annotations

import copy
import pickle

import pytest
from gymnasium import spaces

from agentgym.spaces import MAX_ACTIONS, MAX_TEXT, TextList, Unicode, observation_space

# -- Unicode -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "go north", "é ß ж 中文 🙂", "\x00\x1b\n\t", "\ud800", "x" * MAX_TEXT]
)
def test_unicode_contains_any_string_up_to_the_limit(text: str):
    assert Unicode().contains(text)
    assert text in Unicode()


@pytest.mark.parametrize("value", [None, 1, 1.5, b"go north", ["go"], ("go",), {"go": 1}])
def test_unicode_rejects_what_is_not_a_str(value: object):
    assert not Unicode().contains(value)


def test_unicode_length_bounds():
    space = Unicode(5, min_length=2)
    assert space.contains("ab") and space.contains("abcde")
    assert not space.contains("a")
    assert not space.contains("abcdef")
    assert not Unicode().contains("x" * (MAX_TEXT + 1))
    assert Unicode(0).contains("") and not Unicode(0).contains("a")


@pytest.mark.parametrize(("max_length", "min_length"), [(3, 4), (5, -1), (-1, 0)])
def test_unicode_bad_bounds_raise(max_length: int, min_length: int):
    with pytest.raises(ValueError, match="min_length"):
        Unicode(max_length, min_length=min_length)


@pytest.mark.parametrize(("max_length", "min_length"), [(MAX_TEXT, 0), (5, 0), (40, 40), (3, 3)])
def test_unicode_samples_lie_in_the_space(max_length: int, min_length: int):
    space = Unicode(max_length, min_length=min_length, seed=0)
    samples = [space.sample() for _ in range(200)]
    assert all(isinstance(s, str) and space.contains(s) for s in samples)
    if min_length < max_length:
        assert len({len(s) for s in samples}) > 1, "sample lengths never vary"


def test_unicode_same_seed_same_samples():
    def draw(space: Unicode) -> list[str]:
        return [space.sample() for _ in range(20)]

    first = draw(Unicode(seed=7))
    assert draw(Unicode(seed=7)) == first
    reseeded = Unicode()
    reseeded.sample()
    reseeded.seed(7)
    assert draw(reseeded) == first
    assert draw(Unicode(seed=8)) != first


def test_unicode_sample_refuses_mask_and_probability():
    with pytest.raises(ValueError):
        Unicode(seed=0).sample(mask="abc")
    with pytest.raises(ValueError):
        Unicode(seed=0).sample(probability=[0.5])


def test_unicode_equality():
    assert Unicode(10) == Unicode(10)
    assert Unicode(10, min_length=2) == Unicode(10, min_length=2)
    assert Unicode(10) != Unicode(11)
    assert Unicode(10) != Unicode(10, min_length=1)
    assert Unicode(10) != spaces.Text(10)
    assert Unicode(10) != TextList(10)
    assert Unicode() == Unicode(MAX_TEXT)


def test_unicode_copies_pickles_and_round_trips_json():
    space = Unicode(20, min_length=1, seed=3)
    assert copy.deepcopy(space) == space
    assert pickle.loads(pickle.dumps(space)) == space
    samples = ["a", "🙂 b"]
    assert space.from_jsonable(space.to_jsonable(samples)) == samples
    assert not space.is_np_flattenable


# -- TextList ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [(), [], ("go north",), ["go north", "look"], ("é", "🙂", ""), ("x" * 1000,)]
)
def test_textlist_contains_tuples_and_lists_of_strings(value: object):
    assert TextList().contains(value)


@pytest.mark.parametrize(
    "value",
    ["go north", None, 3, ("go", 3), ("go", None), (b"go",), ("x" * 1001,), {"go"}, (("go",),)],
)
def test_textlist_rejects_other_values(value: object):
    assert not TextList().contains(value)


def test_textlist_bounds():
    space = TextList(2, item=Unicode(3))
    assert space.contains(("abc", "de"))
    assert not space.contains(("a", "b", "c"))
    assert not space.contains(("abcd",))
    assert TextList().max_items == MAX_ACTIONS
    assert TextList().contains(("a",) * MAX_ACTIONS)
    assert not TextList().contains(("a",) * (MAX_ACTIONS + 1))


def test_textlist_samples_lie_in_the_space():
    space = TextList(3, item=Unicode(4, min_length=1), seed=0)
    samples = [space.sample() for _ in range(200)]
    assert all(isinstance(s, tuple) and space.contains(s) for s in samples)
    assert {len(s) for s in samples} == {0, 1, 2, 3}


def test_textlist_same_seed_same_samples():
    a, b = TextList(seed=5), TextList(seed=5)
    first = [a.sample() for _ in range(20)]
    assert first == [b.sample() for _ in range(20)]
    assert any(first), "every sample was empty"
    c = TextList()
    c.item.sample()  # the item sampler's state must be reset by seeding the list
    c.seed(5)
    assert [c.sample() for _ in range(20)] == first
    assert [TextList(seed=6).sample() for _ in range(20)] != first


def test_textlist_sample_refuses_mask_and_probability():
    with pytest.raises(ValueError):
        TextList(seed=0).sample(mask=[1])
    with pytest.raises(ValueError):
        TextList(seed=0).sample(probability=[1.0])


def test_textlist_equality():
    assert TextList(4) == TextList(4)
    assert TextList(4) != TextList(5)
    assert TextList(4, item=Unicode(10)) == TextList(4, item=Unicode(10))
    assert TextList(4, item=Unicode(10)) != TextList(4, item=Unicode(20))
    assert TextList(4) != Unicode(4)


def test_textlist_copies_pickles_and_round_trips_json():
    space = TextList(3, seed=1)
    assert copy.deepcopy(space) == space
    assert pickle.loads(pickle.dumps(space)) == space
    samples = [("go north", "look"), ()]
    assert space.to_jsonable(samples) == [["go north", "look"], []]
    assert space.from_jsonable(space.to_jsonable(samples)) == samples


# -- the observation space -----------------------------------------------------------------------


def test_observation_space_keys_and_types():
    space = observation_space()
    assert isinstance(space, spaces.Dict)
    assert set(space.spaces) == {"text", "goal", "admissible_actions", "last_action_error"}
    assert space["text"] == Unicode(MAX_TEXT)
    assert space["goal"] == Unicode(MAX_TEXT)
    assert space["last_action_error"] == Unicode(MAX_TEXT)
    assert space["admissible_actions"] == TextList(MAX_ACTIONS)
    assert space == observation_space()


def test_observation_space_contains_an_observation():
    space = observation_space()
    obs = {
        "text": "You are in the hall.",
        "goal": "Find the exit.",
        "admissible_actions": ("look",),
        "last_action_error": "",
    }
    assert space.contains(obs)
    assert space.contains({**obs, "admissible_actions": ["look", "go north"]})
    assert not space.contains({**obs, "text": None})
    assert not space.contains({k: v for k, v in obs.items() if k != "goal"})
    assert not space.contains({**obs, "admissible_actions": "look"})


def test_observation_space_bounds():
    space = observation_space(max_text=10, max_actions=2)
    obs = {"text": "x" * 10, "goal": "g", "admissible_actions": ("a", "b"), "last_action_error": ""}
    assert space.contains(obs)
    assert not space.contains({**obs, "text": "x" * 11})
    assert not space.contains({**obs, "admissible_actions": ("a", "b", "c")})


def test_observation_space_sampling_is_seeded():
    a, b = observation_space(), observation_space()
    a.seed(42)
    b.seed(42)
    samples = [a.sample() for _ in range(10)]
    assert samples == [b.sample() for _ in range(10)]
    assert all(a.contains(s) for s in samples)
