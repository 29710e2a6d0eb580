"""Tiny local checkpoints: built from env text, loaded back through ``from_pretrained``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym.errors import ConfigError
from agentgym.models import TinyModelConfig, build_tiny_model, env_corpus, train_tokenizer

_FRESH = r"""
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
path = sys.argv[1]
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path)
messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Goal: exit"}]
text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
ids = tok("Action: take blue key\n", add_special_tokens=False)["input_ids"]
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0, -1, :5].tolist()
print(json.dumps({
    "text": text, "ids": ids, "decoded": tok.decode(ids), "eos": tok.eos_token,
    "pad": tok.pad_token, "vocab": len(tok), "model_type": model.config.model_type,
    "params": model.num_parameters(), "logits": logits, "dtype": str(model.dtype),
}))
"""


def test_checkpoint_round_trips_in_a_fresh_process(tiny_checkpoint: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    files = {p.name for p in tiny_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= files
    out = subprocess.run([sys.executable, "-c", _FRESH, str(tiny_checkpoint)], check=True,
                         capture_output=True, text=True, timeout=120)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["text"] == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
                           "Goal: exit<|im_end|>\n<|im_start|>assistant\n")
    assert got["decoded"] == "Action: take blue key\n"
    assert (got["eos"], got["pad"]) == ("<|im_end|>", "<|pad|>")
    assert got["model_type"] == "llama" and got["dtype"] == "torch.float32"
    # The same weights and tokenizer as this process sees.
    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    assert got["ids"] == tok("Action: take blue key\n", add_special_tokens=False)["input_ids"]
    assert got["vocab"] == len(tok) == model.config.vocab_size
    with torch.no_grad():
        logits = model(torch.tensor([got["ids"]])).logits[0, -1, :5]
    assert torch.allclose(logits, torch.tensor(got["logits"]), atol=1e-5)


def test_default_model_has_1_to_20_million_parameters(tiny_checkpoint: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(tiny_checkpoint))
    assert 1_000_000 <= model.num_parameters() <= 20_000_000


def test_qwen2_architecture_loads_back(tiny_qwen2_checkpoint: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2_checkpoint)
    assert model.config.model_type == "qwen2" and model.config.num_key_value_heads == 2
    assert 100_000 <= model.num_parameters() <= 20_000_000


def test_tokenizer_is_byte_level_and_learns_env_words() -> None:
    texts = env_corpus(["agentgym/KeyDoor-v0"], episodes=3)
    assert texts and all("Action: " in t and "Goal: " in t for t in texts)
    tok = train_tokenizer(texts, vocab_size=400)
    assert len(tok) == 400
    odd = "naïve ✓ 日本 \t<|im_end|> tail"
    assert tok.decode(tok(odd, add_special_tokens=False)["input_ids"]) == odd  # no unknown tokens
    assert tok.convert_tokens_to_ids("<|im_end|>") == tok.eos_token_id
    # Frequent env words become single tokens: far fewer tokens than bytes.
    sample = texts[0]
    assert len(tok(sample)["input_ids"]) < len(sample.encode()) / 2


def test_tokenizer_texts_follow_the_training_prompt_format() -> None:
    from agentgym.envs.household.demonstrator import HouseholdDemonstrator
    from agentgym.models import trajectory_texts
    from agentgym.prompts import ReActFormat
    from agentgym.rollout import RolloutConfig, rollout

    trajs = rollout("agentgym/Household-v0", HouseholdDemonstrator(), episodes=4, seed=0,
                    config=RolloutConfig(num_envs=4, progress=False))
    fmt = ReActFormat(think=False, history_style="chat", max_admissible=0, history_turns=50)
    texts = trajectory_texts(trajs, format=fmt)
    assert len(texts) == 4  # chat: one conversation per episode holds every step's prompt
    last = trajs[0].steps[-1].action
    assert texts[0].startswith("system\n") and texts[0].endswith(f"assistant\n{last}\n")
    assert texts[0].count("\nassistant\n") == len(trajs[0].steps)
    inline = trajectory_texts(trajs, format=ReActFormat(think=False))
    assert len(inline) == sum(len(t.steps) for t in trajs)  # inline: one text per step
    tok = train_tokenizer(texts * 20, vocab_size=600)
    # Role names and the verbs that open an answer are single tokens where the chat template
    # puts them (after a newline, no leading space).
    for word in ("user", "assistant", "go", "take"):
        assert tok("\n" + word, add_special_tokens=False)["input_ids"][1:] == [
            tok.convert_tokens_to_ids(word)], word


def test_household_text_is_in_the_default_corpus() -> None:
    texts = env_corpus(["agentgym/Household-v0"], episodes=2)
    assert any("Your task is to" in t or "You are in the middle of a room" in t for t in texts)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"arch": "gpt9"}, "model.arch"), ({"heads": 3}, "model.heads"),
     ({"kv_heads": 3}, "model.kv_heads"), ({"layers": 0}, "model.layers")],
)
def test_bad_model_config_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        TinyModelConfig(**kwargs)
    assert err.value.field == field


def test_build_without_path_returns_an_unsaved_model(tiny_checkpoint: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    a = build_tiny_model(None, tokenizer=tok, hidden_size=64, layers=1, heads=2, seed=3)
    b = build_tiny_model(None, tokenizer=tok, hidden_size=64, layers=1, heads=2, seed=3)
    assert a.config.hidden_size == 64 and a.config.eos_token_id == tok.eos_token_id
    pa, pb = a.model.embed_tokens.weight, b.model.embed_tokens.weight
    assert (pa == pb).all()  # same seed, same weights


def test_importing_agentgym_models_loads_no_torch() -> None:
    code = "import sys, agentgym, agentgym.models, agentgym.policies.hf; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_agentgym_model_init_builds_a_loadable_checkpoint(tmp_path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentgym.cli import main

    out = tmp_path / "tiny"
    assert main(["model", "init", str(out), "--layers", "1", "--hidden-size", "64",
                 "--heads", "2", "--episodes", "2", "--vocab-size", "512"]) == 0
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert tokenizer.chat_template and model.config.num_hidden_layers == 1
    assert main(["model", "train"]) == 2
