"""`from_jaxmarl(name, **kwargs)`: any JaxMARL environment in the marlax API.

    from marlax.envs.adapters import from_jaxmarl
    env = from_jaxmarl("HeuristicEnemySMAX", scenario="3s_vs_5z")
    obs, state = env.reset(key)                      # obs f32[N, D]
    obs, state, reward, done, info = env.step(key, state, actions)   # actions i32[N]

Conversions at the boundary (JaxMARL speaks dicts keyed by `env.agents`):

- **obs**: stacked in `env.agents` order as f32. If agents' observations differ in shape,
  each is flattened and zero-padded at the end to the largest size D, so `obs` is f32[N, D]
  (the padding carries no information; `observation_sizes` gives each agent's true size).
  Extra keys such as SMAX's `"world_state"` are not agent observations: see `global_state`.
- **actions**: i32[N] when every agent has a Discrete space (`Discrete(max n)`; the action
  mask forbids actions beyond an agent's own n), f32[N, A] when all have Boxes of one shape.
- **step**: JaxMARL's `step_env` (no auto-reset), so marlax wrappers (`AutoReset`,
  `VectorEnv`) decide about resets and `info["final_obs"]` is the true last observation.
  JaxMARL's `infos` dict is passed on under `info["jaxmarl"]`.
- **done / terminated / truncated**: JaxMARL does not separate them. The adapter counts steps
  in its own `state.step`; the episode is *truncated* when that reaches `max_steps` (the JaxMARL
  env's `max_steps`, e.g. 25 for MPE, 100 for SMAX). A JaxMARL `dones["__all__"]` before that
  is a *termination* (e.g. a SMAX team wiped out). JaxMARL flags its own time limit one step
  late (it tests the step count before incrementing it), so under the adapter the time limit
  always comes first and appears as truncation. An env without `max_steps` never truncates.
- **action mask**: `env.get_avail_actions(state)` when the env implements it (SMAX), else all
  of an agent's own actions are legal.
- **global_state**: `env.get_world_state(state)` flattened when the env has it (SMAX), else
  the concatenated observations.
- **render**: JaxMARL renderers use matplotlib and cannot be jitted. When the env state holds
  positions (`p_pos`, `unit_positions`, `agent_pos`, `pos`, `positions`: a float [K, 2] leaf)
  they are drawn as dots (the first N, the agents, in blue; the rest in red) on a 256 x 256
  canvas, framed by `map_width`/`map_height` when the env has them, else centred on the
  origin. Otherwise the picture is a bar chart of the last step's rewards (green up, red
  down, around a black axis).

JaxMARL's code relies on NumPy rank promotion, so every call into it runs under
`jax.numpy_rank_promotion("allow")`, whatever the caller's setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.base import Env, Info
from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError

NO_TIME_LIMIT = 2**31 - 1
"""`max_steps` of an env that has no time limit of its own."""
POSITION_FIELDS = ("p_pos", "unit_positions", "agent_pos", "pos", "positions")
"""State fields drawn as dots by `render`, first match wins."""
RENDER_SIZE = 256
"""Side of the rendered image in pixels."""
_DOT_RADIUS = 5.0
_AGENT_COLOUR = (60, 90, 220)
_OTHER_COLOUR = (220, 60, 60)


@struct.dataclass
class JaxMARLState:
    """A JaxMARL env state plus what the marlax API needs."""

    env_state: Any  # the wrapped env's own state pytree
    step: jax.Array  # i32[] steps taken in this episode
    last_reward: jax.Array  # f32[N] reward of the last step (zeros after reset)


@dataclass(frozen=True)
class JaxMARLEnv(Env):
    """A JaxMARL env behind the marlax API; build it with `from_jaxmarl` (module docstring).

    Equality and hashing use `(env_name, settings)` only, so two adapters of the same env
    and settings are interchangeable static arguments under jit.
    """

    name: ClassVar[str] = "jaxmarl"

    env_name: str
    """JaxMARL registry name, e.g. "MPE_simple_spread_v3"."""
    settings: tuple[tuple[str, Any], ...]
    """The keyword arguments given to `from_jaxmarl`, sorted, made hashable."""
    max_steps: int
    """Episode length after which the adapter reports truncation."""
    jaxmarl_env: Any = field(compare=False, hash=False, repr=False)
    """The wrapped JaxMARL env object (possibly unhashable, so outside eq/hash)."""
    agent_names: tuple[str, ...] = field(compare=False)
    """`env.agents`: agent i of the stacked arrays is `agent_names[i]`."""
    observation_sizes: tuple[int, ...] = field(compare=False)
    """Each agent's flattened observation size before padding."""
    obs_shape: tuple[int, ...] = field(compare=False)
    """Shape of one stacked observation row: the common shape, or (max size,) when padded."""
    action_sizes: tuple[int, ...] = field(compare=False)
    """Each agent's number of discrete actions (empty for continuous actions)."""
    continuous_action_space: Box | None = field(compare=False)
    """The shared Box of continuous actions, or None for discrete actions."""
    has_avail_actions: bool = field(compare=False)
    """Whether the env implements `get_avail_actions`."""
    has_world_state: bool = field(compare=False)
    """Whether the env implements `get_world_state`."""
    position_leaf: int | None = field(compare=False)
    """Index (in `jax.tree.leaves(env_state)`) of the positions drawn by `render`, or None."""

    # ---- spaces ------------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return len(self.agent_names)

    @property
    def padded(self) -> bool:
        """Whether observations were flattened and zero-padded to a common size."""
        return len(set(self.observation_sizes)) > 1

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, self.obs_shape, "float32")

    @property
    def action_space(self) -> Space:
        if self.continuous_action_space is not None:
            return self.continuous_action_space
        return Discrete(max(self.action_sizes))

    # ---- API ---------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, JaxMARLState]:
        """Reset the JaxMARL env. Returns obs f32[N, *obs_shape] and JaxMARLState."""
        with _jaxmarl_rules():
            obs, env_state = self.jaxmarl_env.reset(key)
        state = JaxMARLState(
            env_state=env_state,
            step=jnp.zeros((), jnp.int32),
            last_reward=jnp.zeros(self.num_agents, jnp.float32),
        )
        return self._stack_obs(obs), state

    def _step(
        self, key: jax.Array, state: JaxMARLState, actions: jax.Array
    ) -> tuple[jax.Array, JaxMARLState, jax.Array, jax.Array, Info]:
        """`step_env` of the JaxMARL env on dict actions; stacks what comes back."""
        action_dict = {name: actions[i] for i, name in enumerate(self.agent_names)}
        with _jaxmarl_rules():
            obs, env_state, reward, dones, infos = self.jaxmarl_env.step_env(
                key, state.env_state, action_dict
            )
        reward = jnp.stack([jnp.asarray(reward[name]) for name in self.agent_names])
        reward = reward.astype(jnp.float32)
        step = state.step + 1
        # a JaxMARL done at or after the time limit counts as truncation (see module doc)
        terminated = jnp.asarray(dones["__all__"], bool) & (step < self.max_steps)
        state = JaxMARLState(env_state=env_state, step=step, last_reward=reward)
        return self._stack_obs(obs), state, reward, terminated, {"jaxmarl": infos}

    def _stack_obs(self, obs: dict[str, jax.Array]) -> jax.Array:
        """Dict of agent observations -> f32[N, *obs_shape] (zero-padded when shapes differ)."""
        rows = [jnp.asarray(obs[name], jnp.float32) for name in self.agent_names]
        if self.padded:
            size = self.obs_shape[0]
            rows = [jnp.pad(row.reshape(-1), (0, size - row.size)) for row in rows]
        return jnp.stack(rows)

    def action_mask(self, state: JaxMARLState) -> jax.Array:
        """bool[N, max n]: `get_avail_actions` where the env has it, and `a < n_i`."""
        if self.continuous_action_space is not None:
            raise TypeError(f"{self.env_name} has continuous actions: no action mask")
        width = max(self.action_sizes)
        within = jnp.arange(width)[None, :] < jnp.asarray(self.action_sizes)[:, None]
        if not self.has_avail_actions:
            return within
        with _jaxmarl_rules():
            avail = self.jaxmarl_env.get_avail_actions(state.env_state)
        rows = [
            jnp.pad(jnp.asarray(avail[name]).astype(bool), (0, width - size))
            for name, size in zip(self.agent_names, self.action_sizes, strict=True)
        ]
        return jnp.stack(rows) & within

    def global_state(self, state: JaxMARLState, obs: jax.Array) -> jax.Array:
        """f32[S]: the env's `get_world_state` when it has one, else all observations."""
        if self.has_world_state:
            with _jaxmarl_rules():
                world_state = self.jaxmarl_env.get_world_state(state.env_state)
            return jnp.asarray(world_state, jnp.float32).reshape(-1)
        return super().global_state(state, obs)

    def render(self, state: JaxMARLState) -> jax.Array:
        """u8[256, 256, 3]: positions as dots, or a bar chart of the last rewards."""
        if self.position_leaf is None:
            return _render_reward_bars(state.last_reward)
        positions = jax.tree.leaves(state.env_state)[self.position_leaf]
        width = getattr(self.jaxmarl_env, "map_width", None)
        height = getattr(self.jaxmarl_env, "map_height", None)
        bounds = None if width is None or height is None else (float(width), float(height))
        return _render_dots(positions, self.num_agents, bounds)


def from_jaxmarl(name: str, **kwargs: Any) -> JaxMARLEnv:
    """Build JaxMARL's env `name` with `kwargs` and wrap it (see the module docstring).

    A string `scenario` (a SMAX map name such as "3s_vs_5z") is converted with
    `jaxmarl.environments.smax.map_name_to_scenario`.

    Raises:
        ConfigError: jaxmarl missing, unknown `name`, settings the env rejects, or agents
            whose action spaces cannot share one marlax space.
    """
    try:
        import jaxmarl
    except ImportError as error:
        raise ConfigError("jaxmarl", name, "the [jaxmarl] extra installed") from error
    if name not in jaxmarl.registered_envs:
        raise ConfigError("name", name, f"a JaxMARL env: {', '.join(jaxmarl.registered_envs)}")
    make_kwargs = dict(kwargs)
    if isinstance(make_kwargs.get("scenario"), str):
        from jaxmarl.environments.smax import map_name_to_scenario

        try:
            make_kwargs["scenario"] = map_name_to_scenario(make_kwargs["scenario"])
        except KeyError as error:
            raise ConfigError("scenario", kwargs["scenario"], "a SMAX map name") from error
    try:
        with _jaxmarl_rules():
            env = jaxmarl.make(name, **make_kwargs)
    except (TypeError, ValueError, KeyError) as error:
        raise ConfigError(name, kwargs, f"settings that {name} accepts ({error})") from error
    agent_names = tuple(env.agents)
    with _jaxmarl_rules():
        obs_shapes, state_shape = jax.eval_shape(env.reset, jax.random.key(0))
    sizes = tuple(math.prod(obs_shapes[agent].shape) for agent in agent_names)
    shapes = {obs_shapes[agent].shape for agent in agent_names}
    action_sizes, continuous = _action_spaces(name, env, agent_names)
    return JaxMARLEnv(
        env_name=name,
        settings=tuple(sorted((key, _hashable(value)) for key, value in kwargs.items())),
        max_steps=int(getattr(env, "max_steps", NO_TIME_LIMIT)),
        jaxmarl_env=env,
        agent_names=agent_names,
        observation_sizes=sizes,
        obs_shape=shapes.pop() if len(shapes) == 1 else (max(sizes),),
        action_sizes=action_sizes,
        continuous_action_space=continuous,
        has_avail_actions=_implements(env.get_avail_actions, state_shape),
        has_world_state=hasattr(env, "get_world_state")
        and _implements(env.get_world_state, state_shape),
        position_leaf=_find_positions(state_shape),
    )


# ---- construction helpers ------------------------------------------------------------
def _action_spaces(
    name: str, env: Any, agent_names: tuple[str, ...]
) -> tuple[tuple[int, ...], Box | None]:
    """Per-agent discrete sizes, or the one shared continuous Box."""
    spaces = [env.action_space(agent) for agent in agent_names]
    if all(hasattr(space, "n") for space in spaces):
        return tuple(int(space.n) for space in spaces), None
    shapes = {tuple(getattr(space, "shape", ())) for space in spaces}
    if any(hasattr(space, "n") for space in spaces) or len(shapes) != 1:
        raise ConfigError(
            "name", name, "an env whose agents all have discrete or equally shaped Box actions"
        )
    low = float(np.min(np.asarray(spaces[0].low)))
    high = float(np.max(np.asarray(spaces[0].high)))
    return (), Box(low, high, shapes.pop(), "float32")


def _implements(method: Any, state_shape: Any) -> bool:
    """Whether `method(state)` traces (JaxMARL's base class raises NotImplementedError)."""
    try:
        with _jaxmarl_rules():
            jax.eval_shape(method, state_shape)
    except NotImplementedError:
        return False
    return True


def _find_positions(state_shape: Any) -> int | None:
    """Leaf index of the first float [K, 2] state field named in POSITION_FIELDS."""
    leaves = jax.tree_util.tree_flatten_with_path(state_shape)[0]
    for field_name in POSITION_FIELDS:
        for index, (path, leaf) in enumerate(leaves):
            last = path[-1] if path else None
            leaf_name = getattr(last, "name", getattr(last, "key", None))
            if (
                leaf_name == field_name
                and len(leaf.shape) == 2
                and leaf.shape[1] == 2
                and jnp.issubdtype(leaf.dtype, jnp.floating)
            ):
                return index
    return None


def _jaxmarl_rules() -> Any:
    """Context in which JaxMARL code traces: NumPy-style rank promotion allowed."""
    return jax.numpy_rank_promotion("allow")


def _hashable(value: Any) -> Any:
    """`value` when hashable, else its repr (a settings key for eq/hash only)."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


# ---- pictures ----------------------------------------------------------------------
def _pixel_grid() -> tuple[jax.Array, jax.Array]:
    """Pixel-centre coordinates in [0, 1]: x f32[1, S] (right), y f32[S, 1] (up)."""
    centres = (jnp.arange(RENDER_SIZE, dtype=jnp.float32) + 0.5) / RENDER_SIZE
    return centres[None, :], 1.0 - centres[:, None]


def _render_dots(
    positions: jax.Array, num_agents: int, bounds: tuple[float, float] | None
) -> jax.Array:
    """Dots at `positions` f32[K, 2]: the first `num_agents` blue, the rest red. u8[S, S, 3]."""
    positions = positions.astype(jnp.float32)
    if bounds is None:
        half_width = jnp.maximum(1.0, jnp.max(jnp.abs(positions))) / 0.9
        unit = positions / (2.0 * half_width) + 0.5
    else:
        unit = positions / jnp.asarray(bounds, jnp.float32)[None, :]
    x, y = _pixel_grid()
    dist = (
        jnp.sqrt(
            jnp.square(x[..., None] - unit[None, None, :, 0])
            + jnp.square(y[..., None] - unit[None, None, :, 1])
        )
        * RENDER_SIZE
    )  # f32[S, S, K] in pixels
    is_agent = jnp.arange(positions.shape[0]) < num_agents
    covers_agent = jnp.any((dist <= _DOT_RADIUS) & is_agent[None, None, :], axis=-1)
    covers_other = jnp.any((dist <= _DOT_RADIUS) & ~is_agent[None, None, :], axis=-1)
    image = jnp.full((RENDER_SIZE, RENDER_SIZE, 3), 255.0)
    image = jnp.where(
        covers_other[..., None], jnp.asarray(_OTHER_COLOUR, jnp.float32)[None, None, :], image
    )
    image = jnp.where(
        covers_agent[..., None], jnp.asarray(_AGENT_COLOUR, jnp.float32)[None, None, :], image
    )
    return image.astype(jnp.uint8)


def _render_reward_bars(reward: jax.Array) -> jax.Array:
    """One bar per agent, height proportional to reward / max |reward|: u8[S, S, 3]."""
    num_agents = reward.shape[0]
    x, y = _pixel_grid()
    column = jnp.minimum((x * num_agents).astype(jnp.int32), num_agents - 1)  # i32[1, S]
    scale = jnp.maximum(jnp.max(jnp.abs(reward)), 1e-6)
    height = 0.45 * reward[column] / scale  # f32[1, S], in [-0.45, 0.45]
    offset = y - 0.5  # f32[S, 1]
    in_bar = ((offset >= 0) & (offset < height)) | ((offset < 0) & (offset >= height))
    gap = jnp.abs((x * num_agents) % 1.0 - 0.5) > 0.4  # margins between bars
    axis = jnp.abs(offset) < 1.0 / RENDER_SIZE
    colour = jnp.where(height >= 0, 1.0, 0.0)[..., None]  # green up, red down
    green = jnp.asarray([40.0, 170.0, 60.0])[None, None, :]
    red = jnp.asarray([210.0, 50.0, 50.0])[None, None, :]
    bar_colour = colour * green + (1 - colour) * red  # f32[1, S, 3]
    image = jnp.full((RENDER_SIZE, RENDER_SIZE, 3), 255.0)
    image = jnp.where((in_bar & ~gap)[..., None], bar_colour, image)
    image = jnp.where(axis[..., None], 0.0, image)
    return image.astype(jnp.uint8)
