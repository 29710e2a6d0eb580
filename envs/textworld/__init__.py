"""Real TextWorld games (``.z8``) behind agentgym's contract: ``agentgym/TextWorld-v0``.

Needs the ``textworld`` extra (``pip install 'agentgym[textworld]'``). Importing this package
imports neither TextWorld nor its submodules (``python -m agentgym.envs.textworld.games`` must find
``games`` unimported); making an environment or a game does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TextWorldEnv", "TextWorldTask"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from agentgym.envs.textworld import env

        return getattr(env, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
