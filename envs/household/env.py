"""Gymnasium environment of the household (``agentgym/Household-v0``)."""

from __future__ import annotations

from typing import Any

from agentgym.envs.household.task import HouseholdTask

from agentgym.env import TextEnv

__all__ = ["HouseholdEnv"]


class HouseholdEnv(TextEnv):
    """ALFWorld's household text games (TextWorld version), re-implemented to run fast.

    ## Description
    A room of ALFRED's (kitchen, living room, bedroom, bathroom) with numbered receptacles
    (``cabinet 3``, ``fridge 1``, ...) holding objects (``apple 1``, ``mug 2``, ...). The agent
    is asked one of ALFWorld's six tasks (``pick_and_place_simple``, ``look_at_obj_in_light``,
    ``pick_clean_then_place_in_recep``, ``pick_heat_then_place_in_recep``,
    ``pick_cool_then_place_in_recep``, ``pick_two_obj_and_place``) in ALFWorld's words, e.g.
    ``put a clean apple in fridge``. Actions, preconditions, feedback sentences and the sorted
    admissible-command list are those of ALFWorld's engine (``alfred.pddl`` + ``alfred.twl2``);
    pure Python, tens of thousands of steps per second.

    ## Observation
    ``Dict(text, goal, admissible_actions, last_action_error)``. ``text`` is ALFWorld's
    observation (the first one starts ``-= Welcome to TextWorld, ALFRED! =-``); ``goal`` the task
    sentence; ``admissible_actions`` ALFWorld's admissible commands, sorted.

    ## Action
    A string, one of ALFWorld's commands: ``go to R``, ``open R``, ``close R``, ``take O from R``,
    ``move O to R``, ``heat/cool/clean O with R``, ``slice O with K``, ``use L``, ``examine X``,
    ``inventory``, ``look``, ``help``. Anything else gives ALFWorld's ``Nothing happens.``, with
    ``info["valid_action"] = False`` and the reason in ``last_action_error``.

    ## Rewards
    ``success``: 1.0 when the goal is reached. With ``subgoal_rewards=True`` also ``subgoal``:
    ``subgoal_reward`` (0.1) for each ALFWorld-style milestone first reached (pick up the object,
    clean/heat/cool it or turn on the lamp, place the first of two). ``info["subgoals"]`` and
    ``info["subgoals_done"]`` name them.

    ## Episode end
    Terminated when the goal holds; truncated by ``max_episode_steps`` (50 when registered, the
    usual ALFWorld evaluation horizon).

    ## Arguments
    ``split`` (``train``: 3,553 tasks; ``valid_seen``: 140; ``valid_unseen``: 134, held-out floor
    plans and object/receptacle pairs), ``task_types``, ``subgoal_rewards``, ``subgoal_reward``,
    difficulty knobs ``max_receptacles``, ``max_objects``, ``open_fraction``,
    ``shared_locations``, and ``pddl_problem`` (play an ALFRED PDDL problem file).
    ``reset(seed=s)`` plays task ``s % n`` of the split (so seeds ``0..n-1`` enumerate it);
    ``reset(options={"task_index": i})`` plays task ``i``; without either a task is drawn.

    ## Version history
    * v0: initial version.
    """

    task_class = HouseholdTask
    task: HouseholdTask

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        index = (options or {}).get("task_index", seed)
        self.task.select(index)
        return super().reset(seed=seed, options=options)
