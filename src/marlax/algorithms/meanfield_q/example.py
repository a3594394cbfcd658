"""The built-in example config: the published config's environment, as a Python dict."""

from __future__ import annotations

import copy
from typing import Any

_LOCAL_REWARD = [
    "def local_agent_reward(local_state, global_state, local_action):",
    "    formation = 1.0 - abs(local_state)",
    "    movement = 0.5 - 0.1 * abs(local_action)",
    "    alignment = 0.3 - 0.1 * abs(local_state - global_state)",
    "    bonus = 0.2 if abs(local_state - global_state) <= 1 else 0",
    "    return max(0.1, formation + movement + alignment + bonus)",
]
_GLOBAL_REWARD = [
    "def global_agent_reward(global_state, global_action):",
    "    action_bonus = 0.2 if global_action == 0 else 0.1",
    "    return 1.0 + action_bonus + 0.1 * abs(global_state)",
]
_LOCAL_TRANSITION = [
    "def local_agent_transition(local_state, global_state, local_action):",
    "    return max(-1, min(1, local_state + local_action - global_state))",
]
_GLOBAL_TRANSITION = [
    "def global_agent_transition(global_state, global_action):",
    "    return max(-2, min(2, global_state + global_action))",
]

_BUILTIN: dict[str, Any] = {
    "environment": {
        "global_agent": {"state_space": [-2, -1, 0, 1, 2], "action_space": [-2, -1, 0, 1, 2]},
        "local_agent": {"state_space": [-1, 0, 1], "action_space": [-1, 0, 1]},
        "functions": {
            "local_agent_reward": _LOCAL_REWARD,
            "global_agent_reward": _GLOBAL_REWARD,
            "local_agent_transition": _LOCAL_TRANSITION,
            "global_agent_transition": _GLOBAL_TRANSITION,
        },
    },
    "simulation": {
        "horizon": 200,
        "num_local_agents": 14,
        "monte_carlo_samples": 10,
        "discount_factor": 0.9,
        "training_steps": 100,
        "deployment_runs": 20,
    },
    "visualization": {"save_plot": True, "plot_filename": "cumulative_rewards.png"},
}


def builtin_config_dict() -> dict[str, Any]:
    """A fresh copy of the built-in example config (JSON-compatible)."""
    return copy.deepcopy(_BUILTIN)
