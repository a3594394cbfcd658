"""marlax: scalable multi-agent reinforcement learning and coordination on JAX."""

import logging as _logging
import os as _os

from marlax._xla_flags import apply_safe_cpu_scheduler as _apply_safe_cpu_scheduler

# before jax starts its backend: XLA:CPU's concurrency-optimised scheduler can deadlock a
# vmapped training step (two seeds of a GRU PPO update hung on a 2-core host); see
# marlax/_xla_flags.py for when this applies and MARLAX_XLA_CPU_SCHEDULER=keep to opt out
XLA_FLAG_DECISION = _apply_safe_cpu_scheduler(_os.environ)
"""What `import marlax` did to XLA_FLAGS: 'added' or why it left them alone."""
_logging.getLogger("marlax").info("XLA:CPU concurrency scheduler flag: %s", XLA_FLAG_DECISION)

from marlax.envs.registry import list_envs, make  # noqa: E402
from marlax.errors import ConfigError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["XLA_FLAG_DECISION", "ConfigError", "list_envs", "make", "__version__"]
