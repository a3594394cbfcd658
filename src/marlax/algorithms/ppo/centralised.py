"""MAPPO's centralised critic: one embedding of the global state per env, not one per agent.

The critic's value for agent i of an env reads the env's global state s (f32[C]:
`Env.global_state`, flattened, with the task one-hot appended in multi-task runs) and which
agent it is. The first layer of a network on the concatenation [s, one_hot(i)] is

    W [s; one_hot(i)] + b = (W_s s + b) + W_a[i]

so it is computed as `state_dense(s)` once per env, O(C H), plus the row `agent_embedding[i]`
per agent, O(H): O(C H + N H) per env step. Building the concatenated input for every agent
instead costs O(N (C + N)) memory and O(N (C + N) H) compute, O(N^2) when the global state is
itself O(N) (coverage, battle): 10,000 agents would need 10,000 x (C + 10,000) floats per env
step. The function class is the same: the equivalent kernel is `[W_s; W_a]` stacked on the
input axis, and `init` draws both parts from the distribution (LeCun normal on the fan-in
C + N) the Dense on the concatenation would have drawn. The rest of the torso (the encoder's
further layers, the memory core, the value head) runs per agent, as in any `RecurrentModel`,
so memories and resets are per agent as before.

The rollout stores s once per env step (`Transition.critic_state` f32[B, C]); acting reads
it as f32[*envs, C] (`per_env_input`), the loss as the rollout's whole table f32[T * B, C]
with each sample's row and agent index (`CentralisedInput`), so shuffled minibatches never
copy a global state per agent.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.config.schema import ModelConfig
from marlax.envs.spaces import Box
from marlax.models.base import ACTIVATIONS, Carry, PolicyOutput, RecurrentModel, dense
from marlax.models.encoders import VectorEncoder
from marlax.models.precision import cast_floating, cast_parameters, compute_dtype
from marlax.models.registry import make_model


class CentralisedInput(NamedTuple):
    """What the centralised critic reads for a batch of agent samples.

    Attributes:
        state: f32[R, C] global states (+ task one-hot), one row per env step.
        row: i32[*batch] the row of `state` each sample's env step is.
        agent: i32[*batch] each sample's agent index (< N_max).
    """

    state: jax.Array
    row: jax.Array
    agent: jax.Array


def per_env_input(state: jax.Array, num_agents: int) -> CentralisedInput:
    """The input of every agent of every env: row = the env, agent = 0 .. N-1.

    Args:
        state: f32[*envs, C] one global state per env (and step, for a sequence [T, B, C]).
        num_agents: N.

    Returns:
        CentralisedInput: state f32[prod(envs), C], row and agent i32[*envs, N].
    """
    envs = state.shape[:-1]
    count = math.prod(envs)
    batch = (*envs, num_agents)
    rows = jnp.arange(count, dtype=jnp.int32).reshape((*envs, 1))
    agents = jnp.arange(num_agents, dtype=jnp.int32).reshape((1,) * len(envs) + (num_agents,))
    return CentralisedInput(
        state.reshape(count, state.shape[-1]),
        jnp.broadcast_to(rows, batch),
        jnp.broadcast_to(agents, batch),
    )


def _lecun_part(fan_in: int) -> Any:
    """LeCun normal (truncated, variance 1 / fan_in) for one block of rows of a kernel whose
    whole fan-in is `fan_in`: the blocks [W_s (C rows); W_a (N rows)] drawn this way are
    distributed as one LeCun-normal kernel of a Dense on [s, one_hot(i)] (C + N inputs)."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        scale = shape[0] / fan_in  # variance_scaling divides by this block's fan-in, shape[0]
        return nn.initializers.variance_scaling(scale, "fan_in", "truncated_normal")(
            key, shape, dtype
        )

    return init


class CentralisedCritic(nn.Module):
    """state_dense(s) + agent_embedding[i] -> (norm) -> activation -> the per-agent torso.

    The same interface as `RecurrentModel`, with a `CentralisedInput` for the observation:

        carry = critic.initialize_carry((B, N))
        carry, (_, value) = critic.apply(params, carry, per_env_input(state, N), reset)

    Attributes:
        torso: the rest of the critic, run per agent on the first layer's output f32[..., H]:
            a `RecurrentModel` whose encoder holds the further vector-encoder layers.
        num_agents: N_max, rows of `agent_embedding`.
        width: H, the first layer's width (the vector encoder's first hidden size).
        activation: name in `ACTIVATIONS`, after the first layer (as in `VectorEncoder`).
        layer_norm: a LayerNorm `norm_0` between the first layer and its activation.
        dtype: compute dtype, "float32" or "bfloat16" (parameters stay f32, as in
            `RecurrentModel.apply`).

    Parameters: `state_dense` (kernel f32[C, H], bias f32[H]), `agent_embedding` f32[N, H],
    `norm_0` (with `layer_norm`), and `torso` (encoder, core, head).
    """

    torso: RecurrentModel
    num_agents: int
    width: int
    activation: str = "tanh"
    layer_norm: bool = False
    dtype: str = "float32"

    @nn.nowrap
    def apply(self, variables: Any, *args: Any, **kwargs: Any) -> Any:
        """`nn.Module.apply` on the variables cast to the compute dtype (`RecurrentModel.apply`)."""
        if self.dtype != "float32":
            variables = cast_parameters(variables, compute_dtype("model.dtype", self.dtype))
        return super().apply(variables, *args, **kwargs)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry:
        """The torso's memory for `batch_shape` (*envs, N) agents."""
        return self.torso.initialize_carry(tuple(batch_shape))

    @nn.compact
    def embed(self, critic_input: CentralisedInput) -> jax.Array:
        """The first layer, f32[*batch, H]: each sample's env embedded once, plus its agent's row.

        Args:
            critic_input: state f32[R, C]; row, agent i32[*batch].
        """
        chex.assert_rank(critic_input.state, 2)
        chex.assert_equal_shape([critic_input.row, critic_input.agent])
        state = cast_floating(critic_input.state, compute_dtype("model.dtype", self.dtype))
        fan_in = state.shape[-1] + self.num_agents
        per_env = dense(self.width, kernel_init=_lecun_part(fan_in), name="state_dense")(state)
        table = self.param(
            "agent_embedding", _lecun_part(fan_in), (self.num_agents, self.width), jnp.float32
        ).astype(per_env.dtype)
        # gathers: O(|batch| H); the [R, H] embedding is computed once per env step
        features = jnp.take(per_env, critic_input.row, axis=0) + jnp.take(
            table, critic_input.agent, axis=0
        )
        if self.layer_norm:
            features = nn.LayerNorm(name="norm_0")(features)
        return ACTIVATIONS[self.activation](features)

    def __call__(
        self, carry: Carry, critic_input: CentralisedInput, reset: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """One step: (carry, input with row/agent i32[*batch], bool[*batch]) -> (carry,
        (policy output (unused), value f32[*batch] or logits f32[*batch, bins]))."""
        chex.assert_shape(reset, critic_input.row.shape)
        return self.torso(carry, self.embed(critic_input), reset)

    def sequence(
        self, carry: Carry, critic_input: CentralisedInput, reset_seq: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """T steps: row/agent i32[T, *batch], reset bool[T, *batch]; equal to T calls."""
        chex.assert_shape(reset_seq, critic_input.row.shape)
        return self.torso.sequence(carry, self.embed(critic_input), reset_seq)


def centralised_critic(
    model_config: ModelConfig, layout: TaskLayout, value_bins: int
) -> CentralisedCritic:
    """MAPPO's critic: the vector encoder's first layer as `state_dense` + `agent_embedding`,
    then its further layers, the memory core and the value head per agent.

    The vector-encoder settings are the actor's when its observations are vectors (the
    defaults otherwise). The first layer always exists: with `encoder.hidden_sizes = []` the
    critic keeps a first layer of the default width (64) instead of feeding the core the
    concatenated [state, one-hot] input, which would be O(N (C + N)) per env step again.
    """
    space = layout.observation_space
    vector_obs = isinstance(space, Box) and len(space.shape) == 1
    settings = dict(model_config.encoder) if vector_obs else {}

    def value_model(encoder_settings: dict) -> RecurrentModel:
        return make_model(
            model_config.name,
            num_actions=1,
            encoder="vector",
            encoder_settings=encoder_settings,
            value_bins=value_bins,
            dtype=model_config.dtype,
            **dict(model_config.core),
        )

    # make_model checks the settings (ConfigError naming the field) before they are read
    first = value_model(settings).encoder
    hidden_sizes = first.hidden_sizes or VectorEncoder().hidden_sizes
    torso = value_model({**settings, "hidden_sizes": list(hidden_sizes[1:])})
    return CentralisedCritic(
        torso=torso,
        num_agents=layout.max_agents,
        width=hidden_sizes[0],
        activation=first.activation,
        layer_norm=first.layer_norm,
        dtype=model_config.dtype,
    )
