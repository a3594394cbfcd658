"""marlax: scalable multi-agent reinforcement learning and coordination on JAX."""

from marlax.envs.registry import list_envs, make
from marlax.errors import ConfigError

__version__ = "0.1.0"
__all__ = ["ConfigError", "list_envs", "make", "__version__"]
