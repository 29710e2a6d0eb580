"""Tiny local models that stand in for real checkpoints.

No weights can be downloaded here, so tests and the demo build a small tokenizer and a randomly
initialised causal LM from environment text and save both in Hugging Face format. Everything else
then loads them with ``AutoTokenizer.from_pretrained(path)`` and
``AutoModelForCausalLM.from_pretrained(path)``, the same path a user's real checkpoint takes.

Example:
    >>> from agentgym.models import build_tiny_model, env_corpus, train_tokenizer
    >>> tok = train_tokenizer(env_corpus(), path="runs/tiny")       # doctest: +SKIP
    >>> build_tiny_model("runs/tiny", tokenizer=tok)                # doctest: +SKIP

or from the shell: ``agentgym model init runs/tiny``.

torch and transformers are imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentgym.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from agentgym.prompts import ReActFormat
    from agentgym.types import Trajectory

__all__ = [
    "CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "TinyModelConfig",
    "build_tiny_model",
    "env_corpus",
    "make_tiny_checkpoint",
    "train_tokenizer",
    "trajectory_texts",
]

log = logging.getLogger(__name__)

#: ChatML-style special tokens: end of text, turn start, turn end (the eos), padding.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>")

#: ChatML chat template (the format of Qwen2 chat models), so ``apply_chat_template`` works.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

DEFAULT_ENVS = ("agentgym/KeyDoor-v0", "agentgym/Household-v0")
ARCHS = ("llama", "qwen2")


@dataclass(kw_only=True)
class TinyModelConfig:
    """Config of :func:`build_tiny_model` (the defaults give about 3.7M parameters)."""

    arch: str = "llama"
    """Architecture: ``llama`` (LlamaConfig) or ``qwen2`` (Qwen2Config)."""
    hidden_size: int = 256
    """Width of the residual stream."""
    layers: int = 4
    """Number of transformer blocks."""
    heads: int = 4
    """Attention heads (``hidden_size`` must be divisible by it)."""
    kv_heads: int | None = None
    """Key/value heads for grouped-query attention; ``None`` means as many as ``heads``."""
    intermediate_size: int = 688
    """Width of the MLP."""
    max_position_embeddings: int = 2048
    """Longest sequence (prompt + generation) the model takes."""
    tie_word_embeddings: bool = True
    """Share the input embedding with the output head (fewer parameters)."""
    seed: int = 0
    """Seed of the random initialisation."""

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError("model.arch", f"{self.arch!r} is not supported.",
                              f"use one of: {', '.join(ARCHS)}.")
        for name in ("hidden_size", "layers", "heads", "intermediate_size",
                     "max_position_embeddings"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name}", f"must be >= 1, got {getattr(self, name)}.")
        if self.hidden_size % self.heads:
            raise ConfigError("model.heads", f"{self.heads} does not divide hidden_size "
                              f"{self.hidden_size}.", "pick heads that divide hidden_size.")
        kv = self.kv_heads if self.kv_heads is not None else self.heads
        if kv < 1 or self.heads % kv:
            raise ConfigError("model.kv_heads", f"{kv} must be >= 1 and divide heads "
                              f"{self.heads}.", "leave it None (= heads).")


def env_corpus(
    env_ids: Sequence[str] = DEFAULT_ENVS,
    episodes: int = 20,
    *,
    seed: int = 0,
    think: bool = True,
) -> list[str]:
    """Texts an agent meets in ``env_ids``: prompts and ReAct answers of oracle rollouts.

    Each step gives one text: the ReAct system and user messages followed by the expert's answer
    (``Thought: ...`` / ``Action: ...``), so a tokenizer trained on it covers the goals,
    observations, admissible actions and the answer format.

    Args:
        env_ids: Registered environments with an oracle (``info["expert_action"]``).
        episodes: Oracle episodes per environment.
        seed: First reset seed.
        think: Render answers with a thought line.
    """
    from agentgym.policies.base import OraclePolicy
    from agentgym.rollout import RolloutConfig, rollout

    texts: list[str] = []
    config = RolloutConfig(num_envs=min(8, max(episodes, 1)), progress=False)
    for env_id in env_ids:
        trajs = rollout(env_id, OraclePolicy(think=think), episodes=episodes, seed=seed,
                        config=config)
        texts += trajectory_texts(trajs, think=think)
    return texts


def trajectory_texts(
    trajectories: Iterable[Trajectory],
    *,
    think: bool = True,
    format: ReActFormat | None = None,
) -> list[str]:
    """Texts a policy reads and writes along ``trajectories``, to train a tokenizer on.

    Each message is laid out as the chat template lays it out (the role on its own line, then
    the content), without the special tokens, so the role names and the opening words of the
    answers (``go``, ``take``, ``Thought``) become tokens of their own. The answer is the step's
    raw output when there is one, else ``format.render_action``. With ``chat`` history one text
    per episode holds the whole conversation (every step's prompt is a prefix of it); otherwise
    there is one text per step.

    Args:
        trajectories: Demonstrations or rollouts.
        think: Thought lines in the answers (used when ``format`` is ``None``).
        format: The prompt format the model will be trained with; default ``ReActFormat(think)``.
    """
    from agentgym.prompts import ReActFormat

    fmt = format or ReActFormat(think=think)
    texts: list[str] = []
    for traj in trajectories:
        indices = range(len(traj.steps))
        if fmt.history_style == "chat":
            indices = indices[-1:]
        for i in indices:
            inp, step = traj.agent_input(i), traj.steps[i]
            answer = step.raw_output or fmt.render_action(step.action)
            messages = [*fmt.messages(inp), {"role": "assistant", "content": answer}]
            texts.append("".join(f"{m['role']}\n{m['content']}\n" for m in messages))
    return texts


def train_tokenizer(
    texts: Iterable[str],
    *,
    vocab_size: int = 2048,
    path: str | Path | None = None,
    model_max_length: int = 2048,
) -> PreTrainedTokenizerBase:
    """Train a byte-level BPE tokenizer on ``texts`` and wrap it for transformers.

    Byte-level means every string encodes (no unknown token). The tokenizer has the special
    tokens of :data:`SPECIAL_TOKENS`, ``<|im_end|>`` as eos, ``<|pad|>`` as pad, and the ChatML
    :data:`CHAT_TEMPLATE`, so ``apply_chat_template`` works as for a chat model.

    Args:
        texts: Training text (e.g. :func:`env_corpus`).
        vocab_size: Size of the vocabulary, special tokens and the 256 bytes included.
        path: Where to ``save_pretrained`` it (skipped when ``None``).
        model_max_length: Longest sequence the tokenizer reports.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ConfigError("vocab_size", f"must be >= {256 + len(SPECIAL_TOKENS)} (the bytes "
                          f"and special tokens), got {vocab_size}.", "use 2048.")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        model_max_length=model_max_length,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    if path is not None:
        wrapped.save_pretrained(str(path))
    return wrapped


def build_tiny_model(
    path: str | Path | None,
    *,
    tokenizer: PreTrainedTokenizerBase,
    config: TinyModelConfig | None = None,
    num_labels: int | None = None,
    **overrides: Any,
) -> PreTrainedModel:
    """Create a randomly initialised causal LM sized for ``tokenizer`` and save it to ``path``.

    Args:
        path: Folder for ``save_pretrained`` (safetensors weights, config, generation config, and
            the tokenizer beside them); ``None`` only returns the model.
        tokenizer: The tokenizer the model is for (its size, eos and pad ids).
        config: Architecture and size; ``overrides`` (``hidden_size=128``, ...) replace fields.
        num_labels: Build a sequence classifier with this many outputs instead (the same backbone
            with a linear ``score`` head, as process reward models use).
    """
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        LlamaConfig,
        Qwen2Config,
    )

    c = TinyModelConfig(**{**asdict(config or TinyModelConfig()), **overrides})
    common = {
        "vocab_size": len(tokenizer),
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "num_key_value_heads": c.kv_heads if c.kv_heads is not None else c.heads,
        "max_position_embeddings": c.max_position_embeddings,
        "tie_word_embeddings": c.tie_word_embeddings,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": None,
    }
    if num_labels is not None:
        common["num_labels"] = num_labels
    hf_config = LlamaConfig(**common) if c.arch == "llama" else Qwen2Config(**common)
    auto = AutoModelForCausalLM if num_labels is None else AutoModelForSequenceClassification
    state = torch.random.get_rng_state()
    torch.manual_seed(c.seed)
    try:
        model = auto.from_config(hf_config, dtype=torch.float32)
    finally:
        torch.random.set_rng_state(state)  # leave the caller's random stream alone
    if num_labels is None:
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.bos_token_id = None
    if path is not None:
        model.save_pretrained(str(path))
        tokenizer.save_pretrained(str(path))
    return model


def make_tiny_checkpoint(
    path: str | Path,
    *,
    env_ids: Sequence[str] = DEFAULT_ENVS,
    episodes: int = 20,
    vocab_size: int = 2048,
    config: TinyModelConfig | None = None,
    texts: Iterable[str] | None = None,
) -> Path:
    """Tokenizer from :func:`env_corpus` plus a :func:`build_tiny_model` model, saved in ``path``.

    ``texts`` (e.g. :func:`trajectory_texts` of the demonstrations to clone) replaces the oracle
    corpus of ``env_ids`` as the tokenizer's training text. Returns ``path``, loadable with
    ``from_pretrained`` (and ``policy=hf policy.path=<path>``).
    """
    path = Path(path)
    corpus = list(texts) if texts is not None else env_corpus(env_ids, episodes)
    tokenizer = train_tokenizer(corpus, vocab_size=vocab_size, path=path)
    model = build_tiny_model(path, tokenizer=tokenizer, config=config)
    log.info("tiny %s model with %d parameters saved to %s", model.config.model_type,
             model.num_parameters(), path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``agentgym model init OUT_DIR [--arch qwen2] ...``: save a tiny checkpoint."""
    parser = argparse.ArgumentParser(prog="agentgym model init", description=main.__doc__)
    parser.add_argument("path", help="output folder")
    parser.add_argument("--arch", default="llama", choices=ARCHS)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--episodes", type=int, default=20, help="oracle episodes per env")
    parser.add_argument("--env", action="append", help="env id (repeatable)")
    args = parser.parse_args(argv)
    config = TinyModelConfig(arch=args.arch, hidden_size=args.hidden_size, layers=args.layers,
                             heads=args.heads)
    out = make_tiny_checkpoint(args.path, env_ids=args.env or DEFAULT_ENVS,
                               episodes=args.episodes, vocab_size=args.vocab_size, config=config)
    print(out)  # the CLI's answer: where the checkpoint is
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
