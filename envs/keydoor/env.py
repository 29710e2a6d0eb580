"""Gymnasium environment of the key-and-door maze."""

from __future__ import annotations

from agentgym.env import TextEnv
from agentgym.envs.keydoor.task import KeyDoorTask

__all__ = ["KeyDoorEnv"]


class KeyDoorEnv(TextEnv):
    """Text maze: collect coloured keys, unlock their doors and reach the exit.

    ## Description
    A ``size × size`` grid of named rooms joined by a random spanning tree of passages. ``keys``
    locked doors stand on the one route from the start to the exit; each door's key lies where the
    agent can reach it before that door. Fully deterministic given the reset seed, and fast (pure
    Python, no engine): the test suite's and the demo's environment.

    ## Observation
    ``Dict(text, goal, admissible_actions, last_action_error)`` of unicode strings.

    ## Action
    A string: ``go <north|south|east|west>``, ``take <colour> key``, ``unlock <direction> door``,
    ``look``, ``inventory`` (short forms such as ``n`` or ``pick up the red key`` are understood).

    ## Rewards
    ``success``: 1.0 on reaching the exit. ``subgoal``: 0.1 for each key first taken and each door
    first unlocked. ``info["reward_terms"]`` holds both; they sum to the step reward.

    ## Episode end
    Terminated on reaching the exit; truncated by ``max_episode_steps`` (50 when registered).

    ## Arguments
    ``split`` (``train``/``valid``/``test``, disjoint mazes), ``size`` (2–5, default 3), ``keys``
    (0 to ``size - 1``, default 1), ``render_mode`` (``ansi`` or ``human``).

    ## Version history
    * v0: initial version.
    """

    task_class = KeyDoorTask
