"""marlax: scalable multi-agent reinforcement learning and coordination on JAX."""

import os as _os

from marlax._xla_flags import with_safe_cpu_scheduler as _with_safe_cpu_scheduler

# before jax starts its backend: XLA:CPU's concurrency-optimised scheduler can deadlock a
# vmapped training step (two seeds of a GRU PPO update hung forever on a 2-core host)
_os.environ["XLA_FLAGS"] = _with_safe_cpu_scheduler(_os.environ.get("XLA_FLAGS", ""))

from marlax.envs.registry import list_envs, make  # noqa: E402
from marlax.errors import ConfigError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ConfigError", "list_envs", "make", "__version__"]
