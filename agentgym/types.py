"""Core records: what a policy sees (:class:`AgentInput`), what it returns (:class:`ActionOutput`),
and what a rollout produces (:class:`Step`, :class:`Trajectory`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AgentInput", "ActionOutput", "Step", "Trajectory", "Turn"]


@dataclass(kw_only=True)
class Turn:
    """One past exchange in an episode: the observation text and the action taken on it.

    ``output`` is the raw text the policy wrote for that action (thought included), or ``""``
    when it is not known; prompt formats that replay past outputs fall back to the action.
    """

    observation: str
    action: str
    output: str = ""


@dataclass(kw_only=True)
class AgentInput:
    """Everything a policy may look at to choose the next action in one env.

    Attributes:
        env_id: Registered id of the environment.
        goal: The instruction.
        observation: The current observation text.
        admissible_actions: Valid actions now (empty for an open action space).
        history: Earlier turns of this episode, oldest first.
        last_action_error: Why the previous action failed ("" if it did not).
        expert_action: The env oracle's next action, where the env has one (used by
            :class:`~agentgym.policies.OraclePolicy`; learned policies must ignore it).
        expert_thought: The oracle's reason for ``expert_action``, where the env gives one.
        candidate_actions: Plausible actions where the action space is open and
            ``admissible_actions`` is empty (``info["candidate_actions"]``, e.g. the web shop's
            clickable elements); what :class:`~agentgym.policies.NoisyExpert` explores with.
        tools: Function schemas (OpenAI's ``{"type": "function", "function": ...}``) the env
            declared at reset (``info["tools"]``, e.g. the tool-use env's); policies that call
            functions natively pass them to the model.
    """

    env_id: str
    goal: str
    observation: str
    admissible_actions: list[str] = field(default_factory=list)
    history: list[Turn] = field(default_factory=list)
    last_action_error: str = ""
    expert_action: str | None = None
    expert_thought: str | None = None
    candidate_actions: list[str] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True)
class ActionOutput:
    """A policy's answer for one env.

    Attributes:
        text: The raw model output (e.g. ``Thought: ... Action: ...``).
        action: The action parsed out of ``text`` and sent to the env.
        prompt_ids: Token ids of the prompt, when the policy is a token model.
        action_ids: Token ids of the generated text.
        action_logprobs: Log-probabilities of ``action_ids`` under the sampling policy.
        meta: Anything else worth keeping (e.g. best-of-N scores).
    """

    text: str
    action: str
    prompt_ids: list[int] | None = None
    action_ids: list[int] | None = None
    action_logprobs: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class Step:
    """One transition: the observation acted on, the action, and what followed.

    Attributes:
        observation: The observation dict the action was chosen on.
        raw_output: The policy's raw text.
        action: The parsed action sent to the env.
        reward: The env's reward for this step.
        terminated: The episode ended in a terminal state.
        truncated: The episode was cut by the step limit.
        info: The env's info after the step (``won``, ``valid_action``, ``reward_terms``, ...).
        prompt_ids: Prompt token ids, if the policy recorded them.
        action_ids: Generated token ids, if recorded.
        action_logprobs: Log-probabilities of ``action_ids``, if recorded.
        rewards: Named step rewards written by rewarders (``outcome``, ``agentprm``, ...).
        meta: The policy's :attr:`ActionOutput.meta` (best-of-N scores, an exploration mark).
    """

    observation: dict[str, Any]
    raw_output: str
    action: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)
    prompt_ids: list[int] | None = None
    action_ids: list[int] | None = None
    action_logprobs: list[float] | None = None
    rewards: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Whether the env understood and executed the action."""
        return bool(self.info.get("valid_action", True))


@dataclass(kw_only=True)
class Trajectory:
    """One episode.

    Attributes:
        env_id: Registered id of the environment.
        task: ``{"id", "type", "split"}`` of the task instance.
        seed: The reset seed.
        group: Index of the same-start group (episodes sharing ``seed``), or -1.
        steps: The transitions, in order.
        success: The episode was won.
        total_reward: Sum of the env rewards.
        final_observation: The observation after the last step.
        env_kwargs: Keyword arguments the env was made with.
    """

    env_id: str
    task: dict[str, Any]
    seed: int
    group: int = -1
    steps: list[Step] = field(default_factory=list)
    success: bool = False
    total_reward: float = 0.0
    final_observation: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def invalid_actions(self) -> int:
        """How many steps had an action the env could not execute."""
        return sum(not s.valid for s in self.steps)

    def agent_input(self, index: int) -> AgentInput:
        """The :class:`AgentInput` the policy saw at step ``index`` (as the rollout engine built
        it): that step's observation, with the earlier steps as history."""
        obs = self.steps[index].observation
        history = [Turn(observation=s.observation["text"], action=s.action, output=s.raw_output)
                   for s in self.steps[:index]]
        return AgentInput(
            env_id=self.env_id,
            goal=obs["goal"],
            observation=obs["text"],
            admissible_actions=list(obs.get("admissible_actions", ())),
            history=history,
            last_action_error=obs.get("last_action_error", ""),
        )
