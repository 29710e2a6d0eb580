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
