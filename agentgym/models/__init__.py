"""Model helpers: tiny local checkpoints that stand in for hub models (no torch at import)."""

from agentgym.models.tiny import (
    TinyModelConfig,
    build_tiny_model,
    env_corpus,
    make_tiny_checkpoint,
    train_tokenizer,
    trajectory_texts,
)

__all__ = [
    "TinyModelConfig",
    "build_tiny_model",
    "env_corpus",
    "make_tiny_checkpoint",
    "train_tokenizer",
    "trajectory_texts",
]
