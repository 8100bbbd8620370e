"""The GridWorld as a Gymnasium environment, registered as ``pgcore/GridWorld-v0``, so the world of
:mod:`pgcore.gridworld` works with Gymnasium tools (wrappers, ``check_env``, vector envs).

Kept apart from :mod:`pgcore.gridworld` so that pages which only need the exact math never import
gymnasium. Training uses the vectorized :func:`pgcore.gridworld_sampling.sample_episodes`
instead: one numpy step for a whole batch of episodes rather than one Python call per step.

Example:
    >>> import gymnasium as gym
    >>> env = gym.make(ENV_ID, size=3)
    >>> obs, info = env.reset(seed=0)
    >>> obs, env.step(1)[1:4]  # right from (0, 0): cell (0, 1), −10, not over
    (0, (-10.0, False, False))
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces

from pgcore._checks import whole_number
from pgcore.gridworld import ACTIONS, GridWorld

__all__ = ["ENV_ID", "GridWorldEnv", "register"]

ENV_ID = "pgcore/GridWorld-v0"


class GridWorldEnv(gym.Env):
    """One GridWorld episode at a time, with the Gymnasium API.

    Observation: the state index row · size + col (``Discrete(size²)``). Action: ``Discrete(4)``,
    0 up, 1 right, 2 down, 3 left. ``step`` returns ``terminated`` on entering the goal and
    ``truncated`` after ``max_steps`` actions (the cap is part of the world, not a wrapper), and
    ``info["cell"] = (row, col)``. Render mode ``"ansi"`` draws the grid as text.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        size: int = 5,
        step_reward: float = -10.0,
        goal_reward: float = 1.0,
        max_steps: int = 50,
        render_mode: str | None = None,
    ) -> None:
        self.world = GridWorld(size=size, step_reward=step_reward, goal_reward=goal_reward, max_steps=max_steps)
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.world.n_states)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self._state = self.world.start
        self._steps = 0
        self._over = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Start in (0, 0) (or ``options["start"]``, any cell but the goal)."""
        super().reset(seed=seed)
        start = self.world.start
        if options and "start" in options:
            start = whole_number("start", options["start"], 0, self.world.n_states - 2)
        self._state, self._steps, self._over = start, 0, False
        return self._state, {"cell": self.world.cell(self._state)}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Move (walls keep the agent in place); reward and end flags as in the module docstring."""
        if self._over:
            raise RuntimeError("the episode is over: call reset() first")
        a = whole_number("action", int(action) if hasattr(action, "__index__") else action, 0, len(ACTIONS) - 1)
        reward = float(self.world.reward[self._state, a])
        self._state = int(self.world.next_state[self._state, a])
        self._steps += 1
        terminated = self._state == self.world.goal
        truncated = not terminated and self._steps >= self.world.max_steps
        self._over = terminated or truncated
        return self._state, reward, terminated, truncated, {"cell": self.world.cell(self._state)}

    def render(self) -> str | None:
        """The grid as text: A for the agent, G for the goal, . elsewhere."""
        if self.render_mode != "ansi":
            return None
        marks = ["."] * self.world.n_states
        marks[self.world.goal] = "G"
        marks[self._state] = "A"
        size = self.world.size
        return "\n".join(" ".join(marks[r * size : (r + 1) * size]) for r in range(size))


def register() -> None:
    """Register ``pgcore/GridWorld-v0`` with Gymnasium (done on import; calling again is harmless)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="pgcore.gridworld_gym:GridWorldEnv")


register()
