"""A policy whose agents coordinate: core per agent, then a coordination layer across the team.

    model = make_model("gru", num_actions=5, coordination={"kind": "consensus"})
    carry = model.initialize_carry((num_envs, num_agents))           # one memory per agent
    team = TeamInputs(agent_mask)                                    # bool[num_envs, N]
    carry, (logits, value) = model.apply(params, carry, obs, reset, team)
    carry, (logits, value) = model.apply(params, carry, obs_seq, reset_seq, team_seq,
                                         method="sequence")

The last batch axis is the team: `obs [*teams, N, *obs_shape]`, `reset bool[*teams, N]`. The
encoder and memory core run on every agent alone (as in `RecurrentModel`); their output
`hidden f32[*teams, N, H]` then goes through one coordination layer over axis -2, whose
output `extra f32[*teams, N, E]` joins each agent's features: `tanh(Dense_H([hidden, extra]))`
feeds the policy/value head. Kinds (`make_coordination`):

- "consensus": `ConsensusMessage`, the robust consensus of the team's message embeddings,
  the same for every agent. O(N F) per team.
- "assignment": agents softly assigned to the env's tasks (`env.tasks(state)`, given as
  `TeamInputs.tasks`) by Sinkhorn (`DifferentiableAssignment`, as in `AssignmentHead`);
  each agent's assigned task embedding `plan @ Dense_E(tasks)` joins its features (with
  "relative": true also where its assigned task lies from it, `plan @ Env.task_offsets`).
  O(N M E): one [N, M] plan per team (N = M = 1,000 on coverage: ~72 s per PPO update on
  2 CPU cores). With "nearest": k and "radius": r each agent is assigned among its k
  nearest tasks within r only (`TeamInputs.task_neighbours`, a uniform grid on
  `Env.task_positions`; `local_sinkhorn`: rows sum to 1, columns at most their capacity),
  a [N, k] plan: O(N k E + M E), linear in N for thousands of agents.
- "pipeline": `TensorConsensusPipeline` (projection, optional assignment to tasks, robust
  consensus); its `[teams, 1, H]` consensus is broadcast to every agent.

Masked agents (`TeamInputs.agent_mask` False: padding in multi-task layouts, dead agents)
shape nobody's output; their own outputs are computed but PPO weighs them 0. Nothing is
N x N: every array is [teams, N, *], [teams, M, *] or [teams, N, M] (the dense assignment
only; [teams, N, k] with "nearest").

Gradients through Sinkhorn ("assignment", and "pipeline" with tasks) are always the
*unrolled* ones (`differentiation="unroll"`): the exact gradient of the truncated plan the
policy acted with, so PPO's ratio and its gradient describe one and the same function. The
implicit (fixed-point) rule is the gradient of the plan that infinitely many iterations would
give: wherever a plan is not converged after its fixed iterations (as utilities sharpen during
training at a low temperature) it is a different vector (cosine 0.58 on average with the true
one in `sinkhorn_gradients.py`'s measurement, negative in some draws), and its conjugate-
gradient solve gets worse conditioned as plans harden: a biased, sometimes reversed policy
gradient that PPO's clipping cannot detect. "auto" chooses per example, but a PPO minibatch
of thousands of teams mixes converged and unconverged plans, and under vmap it then runs both
rules: more work than the unrolled pass alone, which is exact. Its memory is one [N, M] plan
and the potentials per iteration (checkpointed), so it stays O(N M); the local solver with
"nearest" is unrolled the same way (checkpointed per iteration, O(N k + M)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from marlax.coordination.assignment import DifferentiableAssignment
from marlax.coordination.layers import ConsensusMessage
from marlax.coordination.pipeline import TensorConsensusPipeline
from marlax.errors import ConfigError
from marlax.models.base import Carry, PolicyOutput, RecurrentModel, dense
from marlax.models.precision import cast_floating, compute_dtype
from marlax.validate import (
    require,
    require_bool,
    require_non_negative,
    require_positive,
    require_positive_int,
)

SINKHORN_DIFFERENTIATION = "unroll"
"""How every Sinkhorn solve inside a coordinated policy is differentiated (module docstring)."""


@struct.dataclass
class TeamInputs:
    """What a coordinated model reads about each team besides the observations.

    Attributes:
        agent_mask: bool[*teams, N], True for agents that take part (not padding, alive).
        tasks: f32[*teams, M, F] the env's tasks (`Env.tasks`), or None when not needed.
        task_mask: bool[*teams, M] valid tasks, or None with `tasks`.
        neighbours: i32[*teams, N, k] each agent's k nearest live team-mates (-1 in empty
            slots) for a consensus over neighbourhoods, or None when not needed.
        task_offsets: f32[*teams, N, M, 2] task minus agent positions (`Env.task_offsets`)
            for an assignment with a distance prior or relative targets, or None when not
            needed. With `task_neighbours` it is f32[*teams, N, k, 2]: the offsets to each
            agent's candidate tasks (zeros in empty slots).
        task_neighbours: i32[*teams, N, k] each agent's k nearest valid tasks within a
            radius (-1 in empty slots), for an assignment over nearest tasks
            (`AssignmentCoordination.nearest`), or None when not needed.
    """

    agent_mask: jax.Array
    tasks: jax.Array | None = None
    task_mask: jax.Array | None = None
    neighbours: jax.Array | None = None
    task_offsets: jax.Array | None = None
    task_neighbours: jax.Array | None = None


class ConsensusCoordination(nn.Module):
    """Each agent gets the robust consensus of its team's message embeddings (f32[B, N, F]),
    or, with `neighbours = k`, of its own and its k nearest live team-mates' within `radius`
    (`TeamInputs.neighbours`, found on the env's positions with a uniform grid): O(N k F),
    for teams of thousands where one team-wide message says little about a neighbourhood.

    Attributes:
        features: F, width of the message.
        sigma: relative kernel width of the robust consensus (`RobustConsensus`).
        max_iters: mean-shift iterations.
        neighbours: k >= 1 nearest team-mates, or None for the whole team.
        radius: search radius of the neighbours (env units; required with `neighbours`).
    """

    features: int = 32
    sigma: float = 0.5
    max_iters: int = 5
    neighbours: int | None = None
    radius: float | None = None
    uses_tasks = False

    def __post_init__(self) -> None:
        require_positive_int("features", self.features)
        require_positive("sigma", self.sigma)
        require_positive_int("max_iters", self.max_iters)
        if self.neighbours is not None:
            require_positive_int("neighbours", self.neighbours)
            require(
                self.radius is not None,
                "radius",
                self.radius,
                "a number > 0 with neighbours (the nearest are searched within it: O(N))",
            )
        if self.radius is not None:
            require_positive("radius", self.radius)
            require(self.neighbours is not None, "neighbours", None, "an integer >= 1 with radius")
        super().__post_init__()

    @property
    def neighbourhood(self) -> tuple[int, float] | None:
        """(k, radius) of the neighbours the layer reads, or None for the whole team."""
        return None if self.neighbours is None else (self.neighbours, self.radius)

    @nn.compact
    def __call__(self, hidden: jax.Array, team: TeamInputs) -> jax.Array:
        """f32[B, N, H] with bool[B, N] mask (and i32[B, N, k] neighbours) -> f32[B, N, F]."""
        message = ConsensusMessage(self.features, self.sigma, self.max_iters, name="message")
        if self.neighbours is None:
            return message(hidden, team.agent_mask)
        count, agents, width = hidden.shape
        own = jnp.broadcast_to(
            jnp.arange(agents, dtype=jnp.int32)[None, :, None], (count, agents, 1)
        )
        group = jnp.concatenate([own, team.neighbours], axis=-1)  # i32[B, N, k + 1], self first
        safe = jnp.maximum(group, 0)
        members = jnp.take_along_axis(hidden[:, None], safe[..., None], axis=2)  # [B, N, k+1, H]
        present = (group >= 0) & jnp.take_along_axis(team.agent_mask[:, None], safe, axis=2)
        local = message(
            members.reshape(count * agents, -1, width), present.reshape(count * agents, -1)
        )
        return local[:, 0].reshape(count, agents, -1)  # every slot holds the group's message


class AssignmentCoordination(nn.Module):
    """Sinkhorn soft assignment of agents to tasks; each agent gets its assigned task embedding.

    extra_i = sum_j P_ij Dense_E(task_j), with P the [N, M] plan of `DifferentiableAssignment`
    (rows of active agents sum to 1, capacities equal), differentiated by unrolling.

    With `distance_weight` w > 0 the utility gains `-w |p_i - t_j|^2` (`Env.task_offsets`,
    `TeamInputs.task_offsets`): a geometric prior, so the plan starts as the entropic
    nearest-task transport instead of a geography-blind one and learning refines it.

    With `relative` each agent also gets where its assigned task lies from it, in its own
    frame: o_i = sum_j P_ij (t_j - p_i), given as `[o_i / r_i, log r_i]` with
    r_i = sqrt(|o_i|^2 + 1): a direction (the offset itself near the task) and a compressed
    distance, both smooth at o_i = 0 where |o_i| is not. The
    absolute embedding alone leaves the policy to subtract its own position from a
    plan-weighted task position through its nonlinear features; the offset is what a
    "go to your task" policy reads directly. Gradients reach the plan through o_i.

    With `nearest = k` (and `radius`) each agent is assigned among its k nearest valid tasks
    within `radius` only (`TeamInputs.task_neighbours`, found on `Env.task_positions` with a
    uniform grid): the utilities are gathered for the candidates (tasks embedded once,
    [B, M, E], gathered [B, N, k, E]) and `local_sinkhorn` gives a [B, N, k] plan whose
    columns stay at or below capacity. extra_i = sum_s P_is Dense_E(task_{c_is}), the offset
    sum_s P_is (t_{c_is} - p_i) (`TeamInputs.task_offsets` f32[B, N, k, 2]): O(N k E + M E)
    instead of O(N M E). An agent with no task within `radius` gets the empty plan (zero
    task embedding and offset). With k = M and a radius that holds every task it is the
    dense layer at convergence (same parameters).

    Attributes:
        embedding_dim: E, width of the agent/task embeddings and of the output.
        temperature: Sinkhorn temperature (utility units); lower gives a harder matching.
        num_iterations: Sinkhorn iterations.
        distance_weight: w >= 0, utility lost per squared unit of agent-task distance
            (0 = no prior).
        relative: also give each agent its assigned task's offset from it (3 features).
        nearest: k >= 1 candidate tasks per agent (its nearest), or None for every task.
        radius: search radius of the candidate tasks (env units; required with `nearest`).
    """

    embedding_dim: int = 32
    temperature: float = 0.1
    num_iterations: int = 20
    distance_weight: float = 0.0
    relative: bool = False
    nearest: int | None = None
    radius: float | None = None
    uses_tasks = True

    def __post_init__(self) -> None:
        require_positive_int("embedding_dim", self.embedding_dim)
        require_positive("temperature", self.temperature)
        require_positive_int("num_iterations", self.num_iterations)
        require_non_negative("distance_weight", self.distance_weight)
        require_bool("relative", self.relative)
        if self.nearest is not None:
            require_positive_int("nearest", self.nearest)
            require(
                self.radius is not None,
                "radius",
                self.radius,
                "a number > 0 with nearest (the nearest tasks are searched within it: O(N))",
            )
        if self.radius is not None:
            require_positive("radius", self.radius)
            require(self.nearest is not None, "nearest", None, "an integer >= 1 with radius")
        super().__post_init__()

    @property
    def uses_task_offsets(self) -> bool:
        return self.distance_weight > 0 or self.relative

    @property
    def task_neighbourhood(self) -> tuple[int, float] | None:
        """(k, radius) of the candidate tasks the layer reads, or None for every task."""
        return None if self.nearest is None else (self.nearest, self.radius)

    @nn.compact
    def __call__(self, hidden: jax.Array, team: TeamInputs) -> jax.Array:
        """f32[B, N, H], tasks f32[B, M, F] (offsets f32[B, N, M, 2]; with `nearest`,
        task_neighbours i32[B, N, k] and offsets f32[B, N, k, 2]) -> assigned task
        embedding f32[B, N, E] (f32[B, N, E + 3] with `relative`)."""
        assignment = DifferentiableAssignment(
            embedding_dim=self.embedding_dim,
            temperature=self.temperature,
            num_iterations=self.num_iterations,
            differentiation=SINKHORN_DIFFERENTIATION,
            name="assignment",
        )
        bias = None
        if self.distance_weight > 0:
            bias = -self.distance_weight * jnp.sum(jnp.square(team.task_offsets), axis=-1)
        # linear: the embedding of the plan-weighted task is the plan-weighted embedding
        task_embedding = nn.Dense(self.embedding_dim, name="task_embedding")
        if self.nearest is None:
            plan, _ = assignment(hidden, team.tasks, team.agent_mask, team.task_mask, None, bias)
            assigned = jnp.einsum("bnm,bme->bne", plan, task_embedding(team.tasks))
            offset_of = "bnm,bnmd->bnd"
        else:
            candidates = team.task_neighbours  # i32[B, N, k]
            plan, _ = assignment.local(
                hidden, team.tasks, candidates, team.agent_mask, team.task_mask, bias
            )
            embedded = task_embedding(team.tasks)  # [B, M, E], then gathered [B, N, k, E]
            gathered = jax.vmap(lambda table, index: table[index])(
                embedded, jnp.maximum(candidates, 0)
            )
            assigned = jnp.einsum("bnk,bnke->bne", plan, gathered)  # empty slots: P = 0
            offset_of = "bnk,bnkd->bnd"
        if not self.relative:
            return assigned
        offset = jnp.einsum(offset_of, plan, team.task_offsets)  # f32[B, N, 2]
        length = jnp.sqrt(jnp.sum(jnp.square(offset), axis=-1, keepdims=True) + 1.0)
        return jnp.concatenate([assigned, offset / length, jnp.log(length)], axis=-1)


class PipelineCoordination(nn.Module):
    """`TensorConsensusPipeline` on the team; its consensus f32[B, 1, H] goes to every agent.

    Attributes:
        complexity_dim, embedding_dim, consensus_sigma, temperature, num_iterations,
        consensus_iters: as in `TensorConsensusPipeline`.
        use_tasks: assign agents to the env's tasks inside the pipeline.
    """

    complexity_dim: int = 8
    embedding_dim: int = 32
    consensus_sigma: float = 0.5
    temperature: float = 1.0
    num_iterations: int = 10
    consensus_iters: int = 10
    use_tasks: bool = False

    def __post_init__(self) -> None:
        require_positive_int("complexity_dim", self.complexity_dim)
        require_positive_int("embedding_dim", self.embedding_dim)
        require_positive("consensus_sigma", self.consensus_sigma)
        require_positive("temperature", self.temperature)
        require_positive_int("num_iterations", self.num_iterations)
        require_positive_int("consensus_iters", self.consensus_iters)
        require_bool("use_tasks", self.use_tasks)
        super().__post_init__()

    @property
    def uses_tasks(self) -> bool:
        return self.use_tasks

    @nn.compact
    def __call__(self, hidden: jax.Array, team: TeamInputs) -> jax.Array:
        """f32[B, N, H] -> the team consensus broadcast to every agent, f32[B, N, H]."""
        pipeline = TensorConsensusPipeline(
            complexity_dim=self.complexity_dim,
            embedding_dim=self.embedding_dim,
            consensus_sigma=self.consensus_sigma,
            temperature=self.temperature,
            num_iterations=self.num_iterations,
            consensus_iters=self.consensus_iters,
            differentiation=SINKHORN_DIFFERENTIATION,
            name="pipeline",
        )
        tasks = team.tasks if self.use_tasks else None
        task_mask = team.task_mask if self.use_tasks else None
        consensus, _ = pipeline(hidden, tasks, team.agent_mask, task_mask)
        return jnp.broadcast_to(consensus, hidden.shape)


COORDINATION_KINDS: dict[str, type] = {
    "consensus": ConsensusCoordination,
    "assignment": AssignmentCoordination,
    "pipeline": PipelineCoordination,
}
_FLAX_FIELDS = ("parent", "name")


def coordination_settings(kind: str) -> list[str]:
    """The settings of one kind (besides "kind")."""
    cls = COORDINATION_KINDS[kind]
    return [name for name in cls.__dataclass_fields__ if name not in _FLAX_FIELDS]


def make_coordination(settings: Mapping[str, Any]) -> nn.Module:
    """The coordination layer of `model.coordination` = {"kind": ..., **settings}.

    Raises:
        ConfigError: naming `coordination.kind` or `coordination.<setting>`.
    """
    require(isinstance(settings, Mapping), "coordination", settings, "a JSON object with a kind")
    kind = settings.get("kind")
    require(
        isinstance(kind, str) and kind in COORDINATION_KINDS,
        "coordination.kind",
        kind,
        f"one of {sorted(COORDINATION_KINDS)}",
    )
    known = coordination_settings(kind)
    values = {}
    for name, value in settings.items():
        if name == "kind":
            continue
        require(name in known, f"coordination.{name}", value, f"a setting of {kind!r}: {known}")
        values[name] = value
    try:
        return COORDINATION_KINDS[kind](**values)
    except ConfigError as error:
        raise ConfigError(f"coordination.{error.field}", error.value, error.expected) from None


def needs_tasks(model: Any) -> bool:
    """Whether `model` reads `TeamInputs.tasks` (an assignment inside)."""
    coordination = getattr(model, "coordination", None)
    return coordination is not None and bool(coordination.uses_tasks)


def neighbourhood(model: Any) -> tuple[int, float] | None:
    """(k, radius) of the neighbours `model`'s coordination reads (`TeamInputs.neighbours`),
    or None when it reads none."""
    coordination = getattr(model, "coordination", None)
    return getattr(coordination, "neighbourhood", None)


def task_neighbourhood(model: Any) -> tuple[int, float] | None:
    """(k, radius) of the candidate tasks `model`'s coordination reads
    (`TeamInputs.task_neighbours`: an assignment over each agent's nearest tasks), or None."""
    coordination = getattr(model, "coordination", None)
    return getattr(coordination, "task_neighbourhood", None)


def needs_task_offsets(model: Any) -> bool:
    """Whether `model` reads `TeamInputs.task_offsets` (an assignment's distance prior or
    relative targets)."""
    coordination = getattr(model, "coordination", None)
    return bool(getattr(coordination, "uses_task_offsets", False))


def is_team_coupled(model: Any) -> bool:
    """Whether `model` mixes the agents of a team (so it must see whole teams)."""
    return getattr(model, "coordination", None) is not None


def _flat_teams(hidden: jax.Array, team: TeamInputs | None) -> tuple[jax.Array, TeamInputs]:
    """[*lead, N, H] and team inputs [*lead, ...] -> [B, N, H] and [B, ...] (B = prod lead)."""
    *lead, num_agents, width = hidden.shape
    count = math.prod(lead)
    if team is None:
        team = TeamInputs(jnp.ones((*lead, num_agents), bool))
    chex.assert_shape(team.agent_mask, (*lead, num_agents))

    def _flat(leaf: jax.Array) -> jax.Array:
        return leaf.reshape(count, *leaf.shape[len(lead) :])

    return hidden.reshape(count, num_agents, width), jax.tree.map(_flat, team)


class CoordinatedModel(RecurrentModel):
    """encoder -> core (per agent) -> coordination (across the team) -> head.

    The same recurrent interface as `RecurrentModel`, plus an optional `team: TeamInputs`
    argument; the carry is the core's, one per agent. See the module docstring.

    Attributes:
        coordination: a layer of `COORDINATION_KINDS` (required).
    """

    coordination: nn.Module | None = None

    def __post_init__(self) -> None:
        if self.coordination is None:
            raise ConfigError("model.coordination", None, "a coordination layer")
        if self.next_obs is not None:
            raise ConfigError("model.next_obs_head", True, "false with model.coordination")
        super().__post_init__()

    @nn.compact
    def _coordinate(self, hidden: jax.Array, team: TeamInputs | None) -> jax.Array:
        """f32[*teams, N, H] -> f32[*teams, N, H]: the core's output mixed with the layer's."""
        if self.coordination.uses_tasks and (team is None or team.tasks is None):
            raise ValueError(
                f"{type(self.coordination).__name__} reads the env's tasks: pass "
                "TeamInputs(agent_mask, tasks, task_mask)"
            )
        if needs_task_offsets(self) and (team is None or team.task_offsets is None):
            raise ValueError(
                "an assignment with distance_weight or relative reads the agent-to-task "
                "offsets: pass TeamInputs(..., task_offsets=...)"
            )
        if task_neighbourhood(self) is not None and (team is None or team.task_neighbours is None):
            raise ValueError(
                "an assignment with nearest reads each agent's nearest tasks: pass "
                "TeamInputs(..., task_neighbours=...)"
            )
        if neighbourhood(self) is not None and (team is None or team.neighbours is None):
            raise ValueError(
                f"{type(self.coordination).__name__} with neighbours reads each agent's "
                "neighbours: pass TeamInputs(agent_mask, neighbours=...)"
            )
        # coordination computes in f32 (Sinkhorn and mean-shift are not bf16-safe)
        flat, flat_team = _flat_teams(hidden.astype(jnp.float32), team)
        extra = self.coordination(flat, flat_team)
        joined = jnp.concatenate([flat, extra.astype(jnp.float32)], axis=-1)
        mixed = nn.tanh(dense(hidden.shape[-1], name="mix")(joined))
        return mixed.reshape(hidden.shape).astype(hidden.dtype)

    def __call__(
        self, carry: Carry, obs: jax.Array, reset: jax.Array, team: TeamInputs | None = None
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """One step.

        Args:
            carry: from `initialize_carry((*teams, N))` or the previous step.
            obs: [*teams, N, *obs_shape]; reset: bool[*teams, N].
            team: agent mask bool[*teams, N] (and tasks f32[*teams, M, F] for an
                assignment); None = every agent active, no tasks.

        Returns:
            (carry, (logits f32[*teams, N, A] or GaussianParams, value f32[*teams, N])).
        """
        chex.assert_shape(reset, obs.shape[: obs.ndim - self.encoder.obs_rank])
        dtype = compute_dtype("model.dtype", self.dtype)
        features = self.encoder(cast_floating(obs, dtype))
        carry, hidden = self.core(carry, features, reset)
        return cast_floating((carry, self.head(self._coordinate(hidden, team))), jnp.float32)

    def sequence(
        self,
        carry: Carry,
        obs_seq: jax.Array,
        reset_seq: jax.Array,
        team_seq: TeamInputs | None = None,
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """T steps at once, equal to T calls of `__call__` (time-major).

        Args:
            obs_seq: [T, *teams, N, *obs_shape]; reset_seq: bool[T, *teams, N];
            team_seq: TeamInputs with leaves [T, *teams, ...], or None.

        Returns:
            (carry, (logits f32[T, *teams, N, A], value f32[T, *teams, N])).
        """
        chex.assert_shape(reset_seq, obs_seq.shape[: obs_seq.ndim - self.encoder.obs_rank])
        dtype = compute_dtype("model.dtype", self.dtype)
        features_seq = self.encoder(cast_floating(obs_seq, dtype))
        carry, hidden_seq = self.core.sequence(carry, features_seq, reset_seq)
        # time is one more team axis for the coordination layer: agents mix within a step
        coordinated = self._coordinate(hidden_seq, team_seq)
        return cast_floating((carry, self.head(coordinated)), jnp.float32)
