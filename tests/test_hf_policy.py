"""``HFPolicy`` on tiny local checkpoints: batching, token data, log-probs, rollouts, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.policies.hf import (
    HFPolicy,
    HFPolicyConfig,
    _stopping_criteria_class,
    fit_prompt,
    render_prompt,
)
from agentgym.prompts import ReActFormat
from agentgym.types import ActionOutput, AgentInput, Turn
from logprob_check import teacher_forced


def _inputs() -> list[AgentInput]:
    """Three inputs with very different prompt lengths (so the batch is left-padded)."""
    goal = "Find your way to the exit. Locked doors open with the key of their colour."
    return [
        AgentInput(env_id="agentgym/KeyDoor-v0", goal=goal, observation="You are in the hall.",
                   admissible_actions=["go north", "look"]),
        AgentInput(env_id="agentgym/KeyDoor-v0", goal=goal,
                   observation="You are in the pantry. A blue key lies on the floor.",
                   admissible_actions=["take blue key", "go east", "look", "inventory"],
                   history=[Turn(observation=f"Room {i}.", action="go east") for i in range(6)]),
        AgentInput(env_id="agentgym/KeyDoor-v0", goal="Exit.", observation="Dark.",
                   last_action_error="You cannot go west."),
    ]


@pytest.fixture(scope="module")
def policy(tiny_checkpoint: Path) -> HFPolicy:
    return HFPolicy(str(tiny_checkpoint), temperature=1.0, max_new_tokens=12, seed=0)


def test_batched_act_returns_token_data_per_input(policy: HFPolicy) -> None:
    batch = _inputs()
    outs = policy.act(batch)
    assert len(outs) == len(batch) and all(isinstance(o, ActionOutput) for o in outs)
    fmt = ReActFormat(think=True)
    for inp, out in zip(batch, outs):
        text = policy.tokenizer.apply_chat_template(fmt.messages(inp), add_generation_prompt=True,
                                                    tokenize=False)
        assert out.prompt_ids == policy.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert policy.pad_id not in out.prompt_ids
        assert 1 <= len(out.action_ids) <= 12 and len(out.action_logprobs) == len(out.action_ids)
        assert all(isinstance(x, float) and x <= 0.0 for x in out.action_logprobs)
        assert out.text == policy.tokenizer.decode(out.action_ids, skip_special_tokens=True)
        assert out.action == fmt.parse(out.text) and isinstance(out.action, str)
    assert len({len(o.prompt_ids) for o in outs}) == 3  # the batch really was padded


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
@pytest.mark.parametrize("temperature", [0.0, 1.3])
def test_logprobs_equal_a_fresh_forward_pass(arch, temperature, request) -> None:
    path = request.getfixturevalue("tiny_checkpoint" if arch == "llama" else "tiny_qwen2_checkpoint")
    pol = HFPolicy(str(path), temperature=temperature, top_p=0.9, max_new_tokens=10, seed=1)
    outs = pol.act(_inputs())
    for out in outs:
        expected = teacher_forced(pol.model, out)
        assert torch.allclose(torch.tensor(out.action_logprobs), expected, atol=1e-4), (
            (torch.tensor(out.action_logprobs) - expected).abs().max())


def test_rows_stopping_early_drop_the_padding(policy: HFPolicy) -> None:
    # Make about half the vocabulary end a generation, so rows stop at different lengths and
    # generate pads the finished ones while the others go on.
    stops = {i for i in range(len(policy.tokenizer)) if i % 2 == 0}
    saved = policy.eos_ids
    policy.eos_ids = stops
    try:
        outs = policy.act(_inputs() * 3)
    finally:
        policy.eos_ids = saved
    early = [o for o in outs if o.meta["finish_reason"] == "eos"]
    assert early and len({len(o.action_ids) for o in outs}) > 1
    for out in outs:
        assert policy.pad_id not in out.action_ids or policy.pad_id in stops
        if out.meta["finish_reason"] == "eos":
            assert out.action_ids[-1] in stops and not set(out.action_ids[:-1]) & stops
        expected = teacher_forced(policy.model, out)
        assert torch.allclose(torch.tensor(out.action_logprobs), expected, atol=1e-4)


def test_stop_rule_ends_at_the_newline_after_action(policy: HFPolicy) -> None:
    tok = policy.tokenizer
    text = "Thought: the key opens it.\nAction: take blue key\nObservation: more"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    stop = _stopping_criteria_class()(tok, 2, 1, {tok.eos_token_id})
    seq = [0, 0]
    for token in ids:
        seq.append(token)
        if stop(torch.tensor([seq]), None)[0]:
            break
    n = stop.stop_at[0]
    assert stop.reasons[0] == "action_line"
    assert tok.decode(ids[:n]).startswith("Thought: the key opens it.\nAction: take blue key\n")
    assert "Observation" not in tok.decode(ids[:n])
    assert ReActFormat().parse(tok.decode(ids[:n])) == "take blue key"


def test_greedy_is_deterministic_and_independent_of_the_batch(tiny_checkpoint: Path) -> None:
    a = HFPolicy(str(tiny_checkpoint), temperature=0.0, max_new_tokens=10)
    batch = _inputs()
    first = a.act(batch)
    again = a.act(batch)
    alone = a.act(batch[1:2])
    assert [o.action_ids for o in first] == [o.action_ids for o in again]
    assert alone[0].action_ids == first[1].action_ids  # left padding changes nothing


def test_same_seed_same_samples_and_global_rng_untouched(tiny_checkpoint: Path) -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = HFPolicy(str(tiny_checkpoint), max_new_tokens=8, seed=5)
    b = HFPolicy(str(tiny_checkpoint), max_new_tokens=8, seed=5)
    assert [o.action_ids for o in a.act(_inputs())] == [o.action_ids for o in b.act(_inputs())]
    assert torch.equal(torch.random.get_rng_state(), before)


def test_long_prompts_drop_old_turns_first(policy: HFPolicy) -> None:
    inp = _inputs()[1]
    inp.history = [Turn(observation=f"A long room description number {i}.", action="look")
                   for i in range(8)]
    full, cut = policy.prompt_ids(inp)
    assert not cut
    two_turns = policy._render(inp, 2)
    saved = policy.max_prompt_tokens
    try:
        policy.max_prompt_tokens = len(two_turns)
        ids, cut = policy.prompt_ids(inp)
        assert cut and ids == two_turns and len(ids) < len(full)
        policy.max_prompt_tokens = 10  # even no history is too long: keep the last tokens
        ids, cut = policy.prompt_ids(inp)
        assert cut and ids == policy._render(inp, 0)[-10:]
    finally:
        policy.max_prompt_tokens = saved


@pytest.mark.parametrize("style", ["chat", "inline"])
def test_prompt_search_keeps_the_most_turns_that_fit(policy: HFPolicy, style: str) -> None:
    """The galloping search returns what dropping one turn at a time returns, for every budget
    (turns of very uneven length, so the first guess is often wrong in both directions)."""
    inp = _inputs()[1]
    inp.history = [Turn(observation="room " + "with a long shelf " * (1 + (7 * i) % 11),
                        action=f"go to shelf {i}") for i in range(12)]
    fmt = ReActFormat(history_style=style, history_turns=10)
    tok = policy.tokenizer

    def linear(budget: int) -> tuple[list[int], bool]:
        for turns in range(10, -1, -1):
            ids = render_prompt(tok, fmt.with_history(turns).messages(inp))
            if len(ids) <= budget:
                return ids, turns < 10
        return ids[-budget:], True

    sizes = [len(render_prompt(tok, fmt.with_history(t).messages(inp))) for t in range(11)]
    budgets = sorted({b for n in sizes for b in (n - 1, n, n + 1)} | {5, 10_000})
    for budget in budgets:
        assert fit_prompt(tok, fmt, inp, budget) == linear(budget), budget


def test_without_chat_template_the_prompt_is_plain_text(tiny_checkpoint: Path) -> None:
    pol = HFPolicy(str(tiny_checkpoint), temperature=0.0, max_new_tokens=4)
    pol.tokenizer.chat_template = None
    inp = _inputs()[0]
    text = "\n\n".join(m["content"] for m in ReActFormat().messages(inp)) + "\n\n"
    assert pol.prompt_ids(inp)[0] == pol.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(pol.act([inp])) == 1


def test_runs_in_the_rollout_engine(policy: HFPolicy) -> None:
    from agentgym.rollout import RolloutConfig, RolloutEngine

    config = RolloutConfig(num_envs=2, max_episode_steps=3, progress=False)
    with RolloutEngine("agentgym/KeyDoor-v0", config=config) as engine:
        trajs = engine.run(policy, episodes=2)
    assert len(trajs) == 2
    for traj in trajs:
        assert 1 <= len(traj.steps) <= 3
        for step in traj.steps:
            assert step.prompt_ids and step.action_ids
            assert len(step.action_logprobs) == len(step.action_ids)


def test_eval_cli_with_a_tiny_checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from agentgym.cli import main

    code = main(["eval", "env.id=agentgym/KeyDoor-v0", "policy=hf",
                 f"policy.path={tiny_checkpoint}", "episodes=2", "policy.max_new_tokens=8",
                 "rollout.max_episode_steps=3", "rollout.progress=false",
                 f"run.dir={tmp_path}", "run.name=hf"])
    assert code == 0
    report = json.loads((tmp_path / "hf" / "results.json").read_text())
    assert report["overall"]["episodes"] == 2


def test_missing_or_bad_path_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"policy.path.*agentgym model init"):
        HFPolicyConfig()
    with pytest.raises(ConfigError, match=r"policy.path.*cannot load"):
        HFPolicy(str(tmp_path / "nothing-here"))
    with pytest.raises(ConfigError, match="policy.temperature"):
        HFPolicyConfig(path="x", temperature=-1.0)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_constrained_decoding_only_spells_admissible_actions(tiny_checkpoint: Path,
                                                             temperature: float) -> None:
    # An untrained model: free generation is gibberish, so any valid answer is the constraint's.
    pol = HFPolicy(str(tiny_checkpoint), temperature=temperature, think=False, max_new_tokens=16,
                   constrain="admissible", seed=3)
    batch = _inputs() * 4
    outs = pol.act(batch)
    for inp, out in zip(batch, outs):
        if inp.admissible_actions:
            assert out.action in inp.admissible_actions, out.text
            assert out.meta["finish_reason"] == "eos"
            assert out.action_ids[-1] in pol.eos_ids
        # log-probs stay the model's own (not renormalised), as a fresh forward pass gives them
        assert torch.allclose(torch.tensor(out.action_logprobs), teacher_forced(pol.model, out),
                              atol=1e-4)
    free = HFPolicy(str(tiny_checkpoint), temperature=temperature, think=False,
                    max_new_tokens=16, seed=3).act(batch)
    assert sum(o.action in i.admissible_actions for i, o in zip(batch, free)) < len(batch) - 4


def test_constrained_decoding_needs_think_off(tiny_checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match="think=false") as err:
        HFPolicy(str(tiny_checkpoint), think=True, constrain="admissible")
    assert err.value.field == "policy.constrain"
    with pytest.raises(ConfigError, match="none, admissible"):
        HFPolicy(str(tiny_checkpoint), constrain="valid")
