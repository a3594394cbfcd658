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

MAX_STORED_DRAWS = 2**30
"""Largest Monte Carlo array one sweep may hold: Q entries x samples (reference semantics
stores and averages m next states per entry; about 4 GiB of float32 at the cap)."""

MAX_TRAINING_WORK = 10**11
"""Largest training work: Q entries x training_steps x Monte Carlo samples per entry
(samples count as 1 for an exact, deterministic paper sweep). The built-in config's paper
run at k = 14 is 8e8 and took ~4 s on one shared CPU core."""

MAX_DEPLOYMENT_WORK = 10**11
"""Largest deployment work: deployment_runs x horizon x num_local_agents x k subsample
draws. The benchmark's 20 x 200 x 10,000 x 8 = 3.2e8 took ~7 s on one shared CPU core."""

MAX_DEPLOYMENT_BATCH = 2**28
"""Largest per-step deployment array: deployment_runs x num_local_agents x (k + 2) x |S_l|
elements (every run and agent is stepped at once; about 1 GiB of int32 at the cap)."""

MAX_TABULATED_ENTRIES = 10**7
"""Largest tabulated environment: |S_l| |S_g| |A_l| |S_l| + |S_g| |A_g| |S_g| table entries."""

SIMULATION_BOUNDS: dict[str, tuple[int, int]] = {
    "horizon": (1, 10**6),
    "num_local_agents": (2, 10**7),
    "monte_carlo_samples": (1, 10**5),
    "training_steps": (1, 10**6),
    "deployment_runs": (1, 10**5),
}
"""Inclusive [low, high] of each integer `simulation` field; the products are bounded too."""

SANDBOX_CPU_SECONDS = 20
"""CPU seconds the child process that evaluates a config's functions may use."""

SANDBOX_MEMORY_BYTES = 1 << 30
"""Address space the child may add to what it starts with (a copy of the fork server)."""

SANDBOX_WALL_SECONDS = 120.0
"""Wall-clock seconds before the child is killed (it may wait for a busy CPU)."""
