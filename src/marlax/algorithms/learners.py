"""Which learner trains a config: `train_run_for(config.algorithm)(folder, config, console)`.

Each learner's stack is imported only when it is picked, so `marlax train` with PPO does not
import evosax or flashbax. `marlax train` and `marlax reproduce` both start runs through here.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from marlax.config.actor_critic import OFF_POLICY_ALGORITHMS
from marlax.config.q_learning import Q_ALGORITHMS
from marlax.errors import ConfigError


def train_run_for(algorithm: str) -> Any:
    """The learner's `train_run(folder, config, console) -> LoopResult`.

    Raises:
        ConfigError: `algorithm` names no learner.
    """
    if algorithm == "ppo":
        from marlax.algorithms.ppo.loop import train_run
    elif algorithm == "pbt":
        from marlax.algorithms.pbt.loop import train_run
    elif algorithm == "rl2":
        from marlax.algorithms.rl2.loop import train_run
    elif algorithm == "varibad":
        from marlax.algorithms.varibad.loop import train_run
    elif algorithm == "es":
        require_evosax()
        from marlax.algorithms.es.loop import train_run
    elif algorithm in OFF_POLICY_ALGORITHMS:
        from marlax.algorithms.off_policy.loop import train_run
    elif algorithm in Q_ALGORITHMS:
        from marlax.algorithms.q_learning.loop import train_run
    elif algorithm == "maml":
        from marlax.algorithms.maml.loop import train_run
    elif algorithm == "sebulba":
        from marlax.algorithms.sebulba.loop import train_run
    else:
        raise ConfigError("algorithm", algorithm, "a learner marlax has")
    return train_run


def require_evosax() -> None:
    """ES needs evosax, an optional extra (ConfigError naming the install command if absent)."""
    if importlib.util.find_spec("evosax") is None:
        raise ConfigError(
            "algorithm",
            "es",
            "evosax installed for evolution strategies: pip install 'marlax[evolution]'",
        )
