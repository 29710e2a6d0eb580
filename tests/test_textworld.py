"""TextWorld games (``agentgym/TextWorld-v0``) and their generator cache.

Games for playing come from a cache under ``.scratch/`` that outlives the session (the
conformance tests share it), so only a first run generates them; the cache and home-directory
tests generate their own games into a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("textworld")

from agentgym.envs.textworld import TextWorldEnv, TextWorldTask
from agentgym.envs.textworld.env import SPLIT_SEEDS, start_game
from agentgym.envs.textworld.games import (
    cache_root,
    ensure_games,
    game_spec,
    games_dir,
    main,
    make_game,
    make_games,
    parse_seeds,
)
from agentgym.errors import ConfigError, UnknownNameError
from agentgym.registration import make

SCRATCH = Path(__file__).resolve().parents[1] / ".scratch" / "textworld"

# Small games of every challenge; two seeds each.
SETTINGS = {
    "tw-simple": {"rewards": "dense", "goal": "detailed"},
    "tw-cooking": {"recipe": 1, "take": 1, "go": 1},
    "tw-treasure_hunter": {"level": 5},
    "tw-coin_collector": {"level": 5},
    "custom": {"world_size": 3, "nb_objects": 5, "quest_length": 3},
}
SEEDS = (7, 8)


@pytest.fixture(scope="module")
def games() -> dict[str, list[Path]]:
    """Two games per challenge in the shared cache, generated (in parallel) when missing."""
    specs = [game_spec(c, s, o) for c, o in SETTINGS.items() for s in SEEDS]
    paths = ensure_games(specs, cache_dir=SCRATCH)
    return {c: paths[i * len(SEEDS):(i + 1) * len(SEEDS)] for i, c in enumerate(SETTINGS)}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, Path]:
    """Two games generated into an empty cache while HOME and TMPDIR point at empty folders."""
    root = tmp_path_factory.mktemp("fresh")
    home, tmp, cache = root / "home", root / "tmp", root / "cache"
    home.mkdir()
    tmp.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("TMPDIR", str(tmp))
        mp.delenv("AGENTGYM_CACHE", raising=False)
        paths = make_games("tw-treasure_hunter", SEEDS, {"level": 5}, cache_dir=cache)
    return {"home": home, "tmp": tmp, "cache": cache, "a": paths[0], "b": paths[1]}


def _play_oracle(env: TextWorldEnv, game: int | str) -> list[tuple]:
    obs, info = env.reset(options={"game": game})
    steps = []
    while True:
        action = info["expert_action"]
        assert action in obs["admissible_actions"], (action, obs["admissible_actions"])
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append((action, reward, info["reward_terms"], info))
        assert info["valid_action"] and obs["last_action_error"] == ""
        if terminated or truncated:
            return steps


# -- generation and cache ------------------------------------------------------------------------


@pytest.mark.slow
def test_generation_writes_the_game_and_nothing_in_home(fresh) -> None:
    for key in ("a", "b"):
        path = fresh[key]
        assert path.is_file() and path.with_suffix(".json").is_file()
        assert path.parent == games_dir(fresh["cache"])
        assert path.stem == f"tw-treasure_hunter-level=5-s{SEEDS[0 if key == 'a' else 1]}"
    assert list(fresh["home"].iterdir()) == [], "generation wrote into HOME"
    assert list(fresh["tmp"].iterdir()) == [], "generation wrote into TMPDIR"
    # Only the games (and the lock) are left in the cache: no Inform sources, no scratch folders.
    left = sorted(p.name for p in games_dir(fresh["cache"]).iterdir())
    games = [f"{fresh[k].stem}{suffix}" for k in "ab" for suffix in (".json", ".z8")]
    assert left == sorted([".lock", *games])


@pytest.mark.slow
def test_cached_games_are_not_generated_again(fresh, monkeypatch) -> None:
    before = {k: fresh[k].stat().st_mtime_ns for k in ("a", "b")}

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a cached game was generated again: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    again = make_games("tw-treasure_hunter", SEEDS, {"level": 5}, cache_dir=fresh["cache"])
    assert again == [fresh["a"], fresh["b"]]
    one = make_game("tw-treasure_hunter", SEEDS[0], {"level": 5}, cache_dir=fresh["cache"])
    assert one == again[0]
    assert {k: fresh[k].stat().st_mtime_ns for k in ("a", "b")} == before


@pytest.mark.slow
def test_same_seed_same_game_other_seed_other_game(fresh, games) -> None:
    # The same spec made in another process into another cache is byte-for-byte the same game.
    shared = games["tw-treasure_hunter"][0]
    assert shared.stem == fresh["a"].stem and shared != fresh["a"]
    for suffix in (".json", ".z8"):
        made_here, made_there = fresh["a"].with_suffix(suffix), shared.with_suffix(suffix)
        assert made_here.read_bytes() == made_there.read_bytes(), suffix
    a, b = (json.loads(fresh[k].with_suffix(".json").read_text()) for k in ("a", "b"))
    assert a != b
    env = TextWorldEnv(game=[fresh["a"], fresh["b"]])
    first = [env.reset(options={"game": i})[0] for i in (0, 1, 0)]
    assert first[0] == first[2] and first[0]["text"] != first[1]["text"]
    env.close()


def test_cache_location_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "agc"))
    assert cache_root() == tmp_path / "agc" / "textworld"
    assert cache_root(tmp_path / "mine") == tmp_path / "mine"
    monkeypatch.delenv("AGENTGYM_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "agentgym" / "textworld"
    assert games_dir(tmp_path).parent == tmp_path


def test_game_names_are_stable_and_settings_checked() -> None:
    spec = game_spec("tw-cooking", 3, {"recipe": 2, "take": 1, "open": True})
    assert spec.stem == "tw-cooking-open+recipe=2+take=1-s3"
    assert game_spec("tw-cooking", 3, {"take": 1, "recipe": 2, "open": True}) == spec
    assert game_spec("tw-cooking", 4, {"recipe": 2, "take": 1, "open": True}) != spec
    assert game_spec("tw-simple", 0).stem == "tw-simple-goal=detailed+rewards=dense-s0"
    assert game_spec("custom", 1, {"world_size": 3}).stem == "custom-world_size=3-s1"
    with pytest.raises(ConfigError, match="Did you mean 'recipe'"):
        game_spec("tw-cooking", 0, {"recipes": 2})
    with pytest.raises(ConfigError, match="invalid choice"):
        game_spec("tw-cooking", 0, {"go": 5})
    with pytest.raises(ConfigError, match="flag"):
        game_spec("tw-cooking", 0, {"open": "yes"})
    with pytest.raises(UnknownNameError, match="tw-cooking"):
        game_spec("tw-cookin", 0)
    with pytest.raises(ConfigError, match="seed"):
        game_spec("tw-cooking", -1)


def test_parse_seeds() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5, 7,9-10") == [5, 7, 9, 10]
    with pytest.raises(ConfigError, match="0-9"):
        parse_seeds("a-b")


@pytest.mark.slow
def test_command_line_prints_the_games(games, capsys) -> None:
    code = main(["--challenge", "tw-treasure_hunter", "--seeds", "7-8", "-o", "level=5",
                 "--out", str(SCRATCH)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[:2] == [f"cached  {p}" for p in games["tw-treasure_hunter"]]
    assert out[2].startswith("2 game(s): 0 made, 2 cached")


# -- playing -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("challenge", list(SETTINGS))
def test_oracle_wins_every_game(games, challenge: str) -> None:
    env = TextWorldEnv(game=games[challenge])
    for path in games[challenge]:
        steps = _play_oracle(env, path.stem)
        info = steps[-1][3]
        assert info["won"] is True and info["score"] == info["max_score"] > 0
        assert info["task"] == {"id": path.stem, "type": challenge, "split": "train"}
        assert sum(terms["score"] for _, _, terms, _ in steps) == pytest.approx(1.0)
        for _, reward, terms, _ in steps:
            assert set(terms) == {"score", "intermediate"}
            assert sum(terms.values()) == pytest.approx(reward)
    env.close()


@pytest.mark.slow
def test_dense_rewards_are_named_terms(games) -> None:
    env = TextWorldEnv(game=games["tw-simple"], intermediate_weight=0.5)
    steps = _play_oracle(env, 0)
    scores = [terms["score"] for _, _, terms, _ in steps]
    intermediate = [terms["intermediate"] for _, _, terms, _ in steps]
    max_score = steps[-1][3]["max_score"]
    assert max_score >= 3 and sum(s > 0 for s in scores) == max_score  # one point at a time
    assert all(s == pytest.approx(1 / max_score) for s in scores if s)
    assert intermediate == [0.5] * len(steps)  # every oracle command brings the goal closer
    # A detour lengthens the walkthrough: TextWorld's intermediate reward goes negative.
    obs, info = env.reset(options={"game": 0})
    detours = [a for a in obs["admissible_actions"] if a.startswith(("open", "go"))
               and a != info["expert_action"]]
    obs, reward, *_, info = env.step(detours[0])
    assert info["valid_action"] and sum(info["reward_terms"].values()) == pytest.approx(reward)
    assert info["reward_terms"]["intermediate"] <= 0.0
    env.close()


@pytest.mark.slow
def test_bad_commands_are_errors_and_change_nothing(games) -> None:
    env = TextWorldEnv(game=games["tw-simple"])
    obs0, info0 = env.reset(options={"game": 0})
    examine = next(a for a in obs0["admissible_actions"] if a.startswith("examine "))
    for command in ["dance", "take the moon", "restart", "quit", "RESTORE", "go north. restart",
                    "tw-trace-actions", "undo", "héllo", "x" * 199]:
        obs, reward, terminated, truncated, info = env.step(command)
        assert info["valid_action"] is False, command
        assert obs["last_action_error"], command
        assert reward == 0.0 and not terminated and not truncated
        assert info["moves"] == 0 and info["score"] == 0, command
        assert obs["admissible_actions"] == obs0["admissible_actions"], command
        assert info["expert_action"] == info0["expert_action"], command
    # A command the parser understands counts as valid though it is not listed verbatim.
    obs, *_, info = env.step("x " + examine.split(" ", 1)[1])
    assert info["valid_action"] is True and obs["last_action_error"] == ""
    # The game was neither restarted nor desynchronised: the walkthrough still wins from here.
    for _ in range(50):
        obs, reward, terminated, truncated, info = env.step(info["expert_action"])
        assert info["valid_action"], obs["last_action_error"]
        if terminated:
            break
    assert info["won"] and info["score"] == info["max_score"]
    env.close()


@pytest.mark.slow
def test_splits_seeds_and_game_choice(games) -> None:
    kwargs = {"challenge": "tw-treasure_hunter", "options": {"level": 5}, "num_games": 4,
              "cache_dir": str(SCRATCH)}
    seeds = {s: [g.seed for g in TextWorldTask(split=s, **kwargs).game_specs] for s in SPLIT_SEEDS}
    assert seeds["train"] == [0, 1, 2, 3] and seeds["test"] == [2_000_000 + i for i in range(4)]
    assert len(set(seeds["train"]) | set(seeds["valid"]) | set(seeds["test"])) == 12
    cooking = TextWorldTask(split="valid", challenge="tw-cooking", num_games=2)
    assert all(dict(g.settings)["split"] == "valid" for g in cooking.game_specs)

    env = make("agentgym/TextWorld-v0", split="test", **kwargs)
    ids = [env.reset(seed=s)[1]["task"]["id"] for s in range(8)]
    assert ids[:4] == [f"tw-treasure_hunter-level=5-s{2_000_000 + i}" for i in range(4)]
    assert ids[4:] == ids[:4]  # seed k plays game k mod num_games
    assert env.reset(options={"game": ids[2]})[1]["task"]["id"] == ids[2]
    assert env.reset(seed=5, options={"game": 3})[1]["task"]["id"] == ids[3]
    with pytest.raises(UnknownNameError, match="Did you mean"):
        env.reset(options={"game": ids[2] + "x"})
    env.close()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Unable to find valid actions")
def test_faster_start_keeps_descriptions_and_inventory(games) -> None:
    """``start_game`` skips Jericho's look/inventory round trips; the infos stay the same."""
    import textworld

    from agentgym.envs.textworld.env import _ENV_INFOS

    path = games["tw-cooking"][0]
    fast = start_game(path)
    slow = textworld.start(str(path), request_infos=textworld.EnvInfos(**_ENV_INFOS))
    assert fast.unwrapped.request_infos.description is False  # the patch is in place
    a, b = fast.reset(), slow.reset()
    for _ in range(4):
        for key in ("feedback", "description", "inventory", "admissible_commands", "score"):
            assert a[key] == b[key], key
        command = a["policy_commands"][0] if a["policy_commands"] else "look"
        (a, *_), (b, *_) = fast.step(command), slow.step(command)
    fast.close()
    slow.close()


def test_bad_arguments_teach(tmp_path) -> None:
    with pytest.raises(UnknownNameError, match="tw-coin_collector"):
        TextWorldTask(challenge="coin_collector")
    with pytest.raises(ConfigError, match="Did you mean 'level'"):
        TextWorldTask(challenge="tw-treasure_hunter", options={"levle": 2})
    with pytest.raises(ConfigError, match="neither a game file nor a folder"):
        TextWorldTask(game=str(tmp_path / "missing.z8"))
    (tmp_path / "old.ulx").write_bytes(b"")
    with pytest.raises(ConfigError, match="TextWorld < 1.7"):
        TextWorldTask(game=str(tmp_path / "old.ulx"))
    (tmp_path / "lone.z8").write_bytes(b"")
    with pytest.raises(ConfigError, match="lone.json"):
        TextWorldTask(game=str(tmp_path))
    with pytest.raises(ConfigError, match="num_games"):
        TextWorldTask(num_games=0)


@pytest.mark.slow
def test_snapshots_of_earlier_steps_cannot_be_played(games) -> None:
    task = TextWorldTask(game=games["tw-treasure_hunter"])
    start = task.setup(np.random.default_rng(0)).state
    task.apply(start, start.policy[0])
    with pytest.raises(RuntimeError, match="cannot be rewound"):
        task.apply(start, "look")
    task.close()


@pytest.mark.slow
def test_description_and_inventory_can_be_left_out(games) -> None:
    full = TextWorldEnv(game=games["tw-cooking"])
    lean = TextWorldEnv(game=games["tw-cooking"], description_and_inventory=False)
    (obs_f, info_f), (obs_l, info_l) = full.reset(seed=0), lean.reset(seed=0)
    assert info_f["inventory"] and "inventory" not in info_l and "description" not in info_l
    assert obs_f == obs_l
    steps = _play_oracle(lean, 0)
    assert steps[-1][3]["won"] and [s[0] for s in steps] == [s[0] for s in _play_oracle(full, 0)]
    full.close()
    lean.close()
