"""Small configs shared by the mean-field tests."""

from __future__ import annotations

from typing import Any

from marlax.algorithms.meanfield_q import builtin_config_dict


def small_config_dict(**simulation: Any) -> dict[str, Any]:
    """The built-in environment with a short, cheap simulation."""
    raw = builtin_config_dict()
    raw["simulation"].update(
        {"horizon": 12, "num_local_agents": 4, "deployment_runs": 3, "training_steps": 30}
    )
    raw["simulation"].update(simulation)
    return raw


STOCHASTIC_TRANSITION = [
    "def local_agent_transition(local_state, global_state, local_action):",
    "    import random",
    "    new_state = local_state + local_action",
    "    if random.random() < 0.2:",
    "        new_state += random.choice([-1, 1])",
    "    return max(-1, min(1, new_state))",
]
