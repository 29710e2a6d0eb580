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
