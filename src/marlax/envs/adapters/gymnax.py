"""`from_gymnax(name, **settings)`: a single-agent gymnax env as a marlax team of one.

    from marlax.envs.adapters import from_gymnax
    env = from_gymnax("MemoryChain-bsuite", memory_length=5)
    obs, state = env.reset(key)                                     # obs f32[1, 3]
    obs, state, reward, done, info = env.step(key, state, actions)  # actions i32[1]

From configs: `{"env": {"name": "gymnax:MemoryChain-bsuite", "params": {"memory_length": 5}}}`.

Conversions at the boundary (N = 1):

- **obs**: gymnax's observation as f32[1, *shape] (a scalar observation, e.g. FrozenLake's
  cell index, becomes f32[1, 1]). The observation space is `Box(-inf, inf, shape)`: gymnax's
  declared bounds are not always kept by its own envs (MemoryChain declares [0, 2] and shows
  its context as -1 or +1), so they are not repeated here.
- **actions**: i32[1] for a gymnax `Discrete(n)` (marlax `Discrete(n)`), f32[1, A] for a
  gymnax `Box` of shape (A,) (marlax `Box(min low, max high, (A,))`). Row 0 goes to gymnax.
- **reward**: f32[1].
- **step**: gymnax's `step_env`, which never resets, with the key as given. gymnax's own `step`
  splits its key into (step key, reset key), steps with the first and, when the episode ends,
  resets with the second: exactly what marlax's `AutoReset` and `VectorEnv` do. So
  `AutoReset(from_gymnax(name)).step(key, ...)` equals gymnax's `step(key, ...)`, and no
  episode is reset twice. (DeepSea's own `step` also carries two bsuite scores across resets;
  under marlax they restart with each episode.)
- **terminated / truncated**: `info["terminated"]` is gymnax's `terminated` (the episode's
  own end: MemoryChain after its query, MetaMaze in the rare case that the agent is
  re-placed on the goal; PointRobot never). gymnax truncates when `state.time` reaches
  `max_steps_in_episode`; every gymnax env counts `time` in steps from 0, so the adapter
  counts steps in `state.step`, sets `max_steps = max_steps_in_episode`, and marlax reports
  `truncated = time limit and not terminated` (gymnax reports both when both hold). `done`
  is the same in both.
- **settings**: keyword arguments are fields of gymnax's `EnvParams` (e.g. `memory_length`,
  `max_steps_in_episode`; `max_steps` is accepted as marlax's name for the latter) or
  arguments of the env's constructor (e.g. MemoryChain's `num_bits`, MetaMaze's
  `maze_size`). They are checked eagerly, kept as Python values (constants under jit), and
  make the adapter's equality and hash, so it is a static jit argument like any marlax env.
- **render**: gymnax draws with matplotlib, which cannot be jitted. The picture is a bar
  chart of the last observation (its first 64 values, green up, red down, scaled to the
  largest magnitude), jittable, u8[256, 256, 3].
- **state types**: some gymnax resets build Python scalars (MetaMaze's `time = 0.0`) that
  its steps turn into typed arrays; the adapter casts every state leaf to the dtype that
  `step_env` gives it, so reset and step states match and a scan carry never retraces.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.adapters.jaxmarl import _render_reward_bars
from marlax.envs.base import Env, Info
from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError
from marlax.validate import require_bool, require_int, require_number, require_positive_int

INSTALL_HINT = 'the [gymnax] extra installed (pip install "marlax[gymnax]" or gymnax>=1.0.1)'
"""What a ConfigError asks for when gymnax is missing."""
MAX_BARS = 64
"""Observation values drawn by `render` (the first ones of the flattened observation)."""
TIME_LIMIT_FIELD = "max_steps_in_episode"
"""gymnax's name of the episode length; `max_steps` is marlax's name for it."""


@struct.dataclass
class GymnaxState:
    """A gymnax env state plus what the marlax API needs."""

    env_state: Any  # gymnax's own state pytree, leaves cast to the dtypes step_env gives
    step: jax.Array  # i32[] steps taken in this episode
    last_obs: jax.Array  # f32[*obs_shape] the last observation (for render)


@dataclass(frozen=True)
class GymnaxEnv(Env):
    """A gymnax env behind the marlax API as a team of one; build it with `from_gymnax`.

    Obs f32[1, *obs_shape]; actions i32[1] or f32[1, A]; reward f32[1]; done bool[].
    State: `GymnaxState`. Equality and hashing use `(env_name, settings)` only.
    """

    name: ClassVar[str] = "gymnax"

    env_name: str
    """gymnax registry name, e.g. "MemoryChain-bsuite"."""
    settings: tuple[tuple[str, Any], ...]
    """The keyword arguments given to `from_gymnax`, sorted, made hashable."""
    max_steps: int
    """Episode length after which the adapter reports truncation (`max_steps_in_episode`)."""
    gymnax_env: Any = field(compare=False, hash=False, repr=False)
    """The wrapped gymnax env object."""
    env_params: Any = field(compare=False, hash=False, repr=False)
    """gymnax's `EnvParams` with the overrides applied (Python values: constants under jit)."""
    obs_shape: tuple[int, ...] = field(compare=False)
    """Shape of one agent's observation (gymnax's, or (1,) for a scalar observation)."""
    discrete_actions: int | None = field(compare=False)
    """Number of discrete actions, or None for a continuous (Box) action space."""
    continuous_action_space: Box | None = field(compare=False)
    """The Box of continuous actions, or None for discrete actions."""
    state_dtypes: Any = field(compare=False, hash=False, repr=False)
    """gymnax state pytree of the dtypes `step_env` gives each leaf."""

    # ---- spaces ------------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return 1

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, self.obs_shape, "float32")

    @property
    def action_space(self) -> Space:
        if self.continuous_action_space is not None:
            return self.continuous_action_space
        return Discrete(self.discrete_actions)

    # ---- API ---------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, GymnaxState]:
        """gymnax's `reset_env(key)`. Returns obs f32[1, *obs_shape] and GymnaxState."""
        obs, env_state = self.gymnax_env.reset_env(key, self.env_params)
        obs = self._agent_obs(obs)
        state = GymnaxState(
            env_state=self._typed(env_state), step=jnp.zeros((), jnp.int32), last_obs=obs[0]
        )
        return obs, state

    def _step(
        self, key: jax.Array, state: GymnaxState, actions: jax.Array
    ) -> tuple[jax.Array, GymnaxState, jax.Array, jax.Array, Info]:
        """gymnax's `step_env` on agent 0's action; no reset (the wrappers decide)."""
        obs, env_state, reward, terminated, extra = self.gymnax_env.step_env(
            key, state.env_state, actions[0], self.env_params
        )
        obs = self._agent_obs(obs)
        state = GymnaxState(env_state=self._typed(env_state), step=state.step + 1, last_obs=obs[0])
        reward = jnp.asarray(reward, jnp.float32).reshape(1)
        return obs, state, reward, jnp.asarray(terminated, bool), {"gymnax": extra}

    def render(self, state: GymnaxState) -> jax.Array:
        """u8[256, 256, 3]: the last observation's first values as bars."""
        return _render_reward_bars(state.last_obs.reshape(-1)[:MAX_BARS])

    def _agent_obs(self, obs: jax.Array) -> jax.Array:
        """gymnax observation -> f32[1, *obs_shape]."""
        return jnp.asarray(obs, jnp.float32).reshape(1, *self.obs_shape)

    def _typed(self, env_state: Any) -> Any:
        """Every leaf as a strongly typed array of the dtype `step_env` gives it."""
        return jax.tree.map(
            lambda leaf, dtype: jnp.asarray(leaf, dtype), env_state, self.state_dtypes
        )


def from_gymnax(name: str, **settings: Any) -> GymnaxEnv:
    """Build gymnax's env `name` with `settings` and wrap it (see the module docstring).

    Args:
        name: a gymnax registry name, e.g. "MemoryChain-bsuite", "MetaMaze-misc".
        **settings: `EnvParams` fields or constructor arguments of that env; `max_steps`
            means `max_steps_in_episode`.

    Raises:
        ConfigError: gymnax missing, an unknown `name`, an unknown setting, or a value of
            the wrong kind (the field, the value and what was expected).
    """
    try:
        import gymnax
    except ImportError as error:
        raise ConfigError("gymnax", name, INSTALL_HINT) from error
    _check_name(name, list(gymnax.registered_envs))
    settings = _rename_max_steps(settings)
    default_env, default_params = _make(gymnax, name, {})
    param_names = {item.name for item in dataclasses.fields(default_params)}
    constructor_kwargs = {key: value for key, value in settings.items() if key not in param_names}
    _check_constructor_kwargs(name, type(default_env), constructor_kwargs, param_names)
    env, _ = _make(gymnax, name, constructor_kwargs) if constructor_kwargs else (default_env, None)
    params = default_params.replace(
        **{
            key: _checked_param(key, value, getattr(default_params, key))
            for key, value in settings.items()
            if key in param_names
        }
    )
    obs_shape, state_dtypes = _step_shapes(env, params)
    discrete, continuous = _action_space(env, params)
    return GymnaxEnv(
        env_name=name,
        settings=tuple(sorted((key, _hashable(value)) for key, value in settings.items())),
        max_steps=int(getattr(params, TIME_LIMIT_FIELD)),
        gymnax_env=env,
        env_params=params,
        obs_shape=obs_shape,
        discrete_actions=discrete,
        continuous_action_space=continuous,
        state_dtypes=state_dtypes,
    )


# ---- construction helpers ------------------------------------------------------------
def _check_name(name: Any, registered: list[str]) -> None:
    """A gymnax registry name, or a ConfigError that lists them (with a close match)."""
    if isinstance(name, str) and name in registered:
        return
    close = difflib.get_close_matches(name, registered, n=1) if isinstance(name, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError("name", name, f"a gymnax env: {', '.join(registered)}{hint}")


def _rename_max_steps(settings: dict[str, Any]) -> dict[str, Any]:
    """`max_steps` (marlax's name) -> `max_steps_in_episode` (gymnax's); both is an error."""
    if "max_steps" not in settings:
        return dict(settings)
    if TIME_LIMIT_FIELD in settings:
        raise ConfigError(
            "max_steps", settings["max_steps"], f"either max_steps or {TIME_LIMIT_FIELD}, not both"
        )
    renamed = {key: value for key, value in settings.items() if key != "max_steps"}
    renamed[TIME_LIMIT_FIELD] = settings["max_steps"]
    return renamed


def _make(gymnax: Any, name: str, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """`gymnax.make(name, **kwargs)`; a constructor that rejects them is a ConfigError."""
    try:
        return gymnax.make(name, **kwargs)
    except (TypeError, ValueError, AssertionError, OSError) as error:
        # OSError: MNISTBandit downloads its data set when built
        if len(kwargs) == 1:  # name the one setting and its value
            ((field_name, value),) = kwargs.items()
        else:
            field_name, value = ", ".join(kwargs) or "name", kwargs or name
        rejected = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise ConfigError(
            field_name, value, f"settings that {name}'s constructor accepts ({rejected})"
        ) from error


def _check_constructor_kwargs(
    name: str, env_class: type, kwargs: dict[str, Any], param_names: set[str]
) -> None:
    """Settings that are not EnvParams fields must be named arguments of the env class."""
    accepted = [
        parameter.name
        for parameter in inspect.signature(env_class).parameters.values()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    known = sorted(param_names | set(accepted) | {"max_steps"})
    for key, value in kwargs.items():
        if key not in accepted:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(key, value, f"a setting of {name}: {', '.join(known)}{hint}")


def _checked_param(key: str, value: Any, default: Any) -> Any:
    """`value` checked against the kind of the EnvParams default it replaces."""
    if key == TIME_LIMIT_FIELD:
        return require_positive_int(key, value)
    if isinstance(default, bool):
        return require_bool(key, value)
    if isinstance(default, int):
        return require_int(key, value)
    if isinstance(default, float):
        return require_number(key, value)
    default = np.asarray(default)
    array = np.asarray(value, dtype=default.dtype)
    if array.shape != default.shape:
        raise ConfigError(key, value, f"an array of shape {default.shape}")
    return jnp.asarray(array)


def _step_shapes(env: Any, params: Any) -> tuple[tuple[int, ...], Any]:
    """Observation shape (scalars as (1,)) and the dtype of every state leaf after a step."""
    key = jax.eval_shape(jax.random.key, 0)  # shapes only: no randomness is drawn
    obs, state = jax.eval_shape(env.reset_env, key, params)
    action_space = env.action_space(params)
    action = jax.ShapeDtypeStruct(
        tuple(action_space.shape), jnp.int32 if hasattr(action_space, "n") else jnp.float32
    )
    step_state = jax.eval_shape(env.step_env, key, state, action, params)[1]
    return tuple(obs.shape) or (1,), jax.tree.map(lambda leaf: leaf.dtype, step_state)


def _action_space(env: Any, params: Any) -> tuple[int | None, Box | None]:
    """(number of discrete actions, None) or (None, the continuous Box)."""
    space = env.action_space(params)
    if hasattr(space, "n"):
        return int(space.n), None
    low = float(np.min(np.asarray(space.low)))
    high = float(np.max(np.asarray(space.high)))
    return None, Box(low, high, tuple(space.shape), "float32")


def _hashable(value: Any) -> Any:
    """`value` when hashable, lists and arrays as nested tuples (a settings key for eq/hash)."""
    if isinstance(value, list | tuple | np.ndarray | jax.Array):
        items = np.asarray(value).tolist()
        return tuple(_hashable(item) for item in items) if isinstance(items, list) else items
    return value
