"""Constants of mean-field subsample Q-learning."""

from __future__ import annotations

FUNCTION_NAMES: tuple[str, ...] = (
    "local_agent_reward",
    "global_agent_reward",
    "local_agent_transition",
    "global_agent_transition",
)
"""The four functions a config must define, in the order the tables use them."""

FUNCTION_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "local_agent_reward": ("local_state", "global_state", "local_action"),
    "global_agent_reward": ("global_state", "global_action"),
    "local_agent_transition": ("local_state", "global_state", "local_action"),
    "global_agent_transition": ("global_state", "global_action"),
}
"""Argument names of each function (the published config's signatures)."""

TABULATION_SAMPLES = 256
"""Calls per input used to tabulate a function that is found to be stochastic."""

MAX_TABLE_ENTRIES = 120_000_000
"""Largest Q-table (state-action entries) a run may build; beyond it the k is refused."""

TIE_TOLERANCE = 1e-6
"""Paper-mode deployment: actions within this (relative) distance of the max Q count as ties."""

MAX_TIES = 32
"""Paper-mode deployment keeps at most this many tied maximal actions per state."""

SEMANTICS: tuple[str, ...] = ("paper", "reference")
"""Supported mean-field semantics (see the package docstring)."""
