"""Shared test setup.

Puts this folder on ``sys.path`` so helper modules here (``userenv_fixture``) import by their bare
name under any pytest import mode. Subprocess env workers receive the parent's ``sys.path``, so
they find these modules too.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import pytest

#: Lines the ALFWorld fidelity test stores for the end-of-session summary.
FIDELITY_KEY = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the ALFWorld fidelity match rates (when that test ran) at the end of the session."""
    lines = config.stash.get(FIDELITY_KEY, None)
    if lines:
        terminalreporter.section("ALFWorld fidelity")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny llama-style checkpoint (tokenizer trained on env text), built once per session."""
    from agentgym.models import TinyModelConfig, make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"), episodes=8,
                                config=TinyModelConfig(arch="llama"))


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    """A very small llama-style checkpoint for KeyDoor experiments (fast to train and sample)."""
    from agentgym.models import TinyModelConfig, make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("small"), env_ids=["agentgym/KeyDoor-v0"],
                                episodes=6, vocab_size=512,
                                config=TinyModelConfig(arch="llama", hidden_size=64, layers=2,
                                                       heads=2))


@pytest.fixture(scope="session")
def tiny_qwen2_checkpoint(tiny_checkpoint, tmp_path_factory) -> Path:
    """A tiny qwen2-style checkpoint sharing :func:`tiny_checkpoint`'s tokenizer."""
    from transformers import AutoTokenizer

    from agentgym.models import build_tiny_model

    path = tmp_path_factory.mktemp("tiny-qwen2")
    build_tiny_model(path, tokenizer=AutoTokenizer.from_pretrained(tiny_checkpoint),
                     arch="qwen2", hidden_size=128, layers=2, heads=4, kv_heads=2, seed=1)
    return path
