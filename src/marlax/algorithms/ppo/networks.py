"""The actor (policy, and value when "shared") and the optional separate critic.

The value comes out of whichever model is the critic ("shared": the actor). With
`ppo.value_head = "hl_gauss"` that model's head gives `ppo.value_bins` logits
(`marlax.algorithms.common.hl_gauss`): `Networks.evaluate` turns them into their expected
value for everything that reads a value (acting, bootstrapping, GAE), and hands the logits
themselves to the loss with `value_logits=True`. A separate critic's actor keeps a scalar
value output that nothing reads.

With `model.graph` set, the actor (and an "independent" critic) is a `GraphModel`; each of its
"member" nodes is the actor of a trained run (`{"module": "member", "run": "runs/<name>",
"seed": 0}`), rebuilt from that run's config and given its parameters at `init`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.common.hl_gauss import HLGauss
from marlax.algorithms.ppo.centralised import (
    CentralisedCritic,
    CentralisedInput,
    centralised_critic,
    per_env_input,
)
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.teams import placeholder_team
from marlax.config.schema import ModelConfig, PPOConfig
from marlax.envs.spaces import Discrete
from marlax.errors import ConfigError
from marlax.models.base import RecurrentModel
from marlax.models.coordinated import (
    TeamInputs,
    is_team_coupled,
    needs_task_offsets,
    needs_tasks,
    neighbourhood,
    task_neighbourhood,
)
from marlax.models.graph import GraphModel, Members, read_graph
from marlax.models.registry import (
    encoder_for_space,
    has_memory,
    make_model_for_spaces,
)
from marlax.validate import require, require_nonnegative_int

Params = dict[str, Any]
"""`{"actor": actor params, "critic": critic params}` (the critic only for MAPPO)."""


@dataclass(frozen=True)
class Networks:
    """The models PPO trains and how their batches are laid out.

    Attributes:
        actor: the policy (and the value when the critic is "shared").
        critic: a separate value network, on the agent's own observation ("independent")
            or on the global state ("centralised": a `CentralisedCritic`); None when "shared".
        centralised: the critic reads the per-env centralised input
            (`TaskLayout.critic_state`).
        value_histogram: the HL-Gauss settings when the value model outputs histogram logits
            f32[..., bins]; None for a scalar value.
        member_params: (graph node name, trained parameters) of every "member" node, put
            into the graph's parameters by `init` (not compared: arrays, not settings).
    """

    actor: RecurrentModel | GraphModel
    critic: RecurrentModel | GraphModel | CentralisedCritic | None
    centralised: bool = False
    value_histogram: HLGauss | None = None
    member_params: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def next_obs_head(self) -> bool:
        """The actor has a self-supervised next-observation head (`marlax.models.next_obs`)."""
        return getattr(self.actor, "next_obs", None) is not None

    @property
    def team_coupled(self) -> bool:
        """The actor or the critic mixes the agents of a team (`model.coordination`): acting
        records `TeamInputs` and learning keeps teams whole (`marlax.algorithms.ppo.teams`)."""
        return is_team_coupled(self.actor) or is_team_coupled(self.critic)

    @property
    def neighbourhood(self) -> tuple[int, float] | None:
        """(k, radius) of the team-mates a coordination layer reads, or None."""
        return neighbourhood(self.actor) or neighbourhood(self.critic)

    @property
    def task_neighbourhood(self) -> tuple[int, float] | None:
        """(k, radius) of the candidate tasks an assignment layer reads, or None."""
        return task_neighbourhood(self.actor) or task_neighbourhood(self.critic)

    @property
    def needs_task_offsets(self) -> bool:
        """Whether a coordination layer reads the agent-to-task offsets."""
        return needs_task_offsets(self.actor) or needs_task_offsets(self.critic)

    @property
    def needs_tasks(self) -> bool:
        """A coupled model reads the envs' tasks (`Env.tasks`): an assignment inside."""
        return needs_tasks(self.actor) or needs_tasks(self.critic)

    @property
    def feed_forward(self) -> bool:
        """The actor has no memory ("mlp"): learning then shuffles single steps instead of
        whole sequences."""
        return not has_memory(self.actor)

    def evaluate(
        self,
        params: Params,
        actor_carry: Any,
        critic_carry: Any,
        model_obs: jax.Array,
        critic_state: jax.Array | CentralisedInput | None,
        reset: jax.Array,
        *,
        sequence: bool = False,
        value_logits: bool = False,
        team: TeamInputs | None = None,
    ) -> tuple[Any, Any, Any, jax.Array]:
        """The actor (and critic) on one step, or on a whole sequence: what acting and the
        loss both read.

        Args:
            actor_carry, critic_carry: memories [*batch, ...] before the step (sequence).
            model_obs: [*batch, *obs_shape] ([T, *batch, ...] for a sequence).
            critic_state: the centralised critic's input: f32[*batch[:-1], C] one global
                state per env ([T, *batch[:-1], C] for a sequence; `TaskLayout.critic_state`),
                or a `CentralisedInput` (the loss: the rollout's table and each sample's row
                and agent); read only when `centralised` (None, or f32[..., 0], otherwise).
            reset: bool[*batch] ([T, *batch]) an episode starts here: the memory is cleared.
            sequence: run the models' `sequence` method over a leading time axis.
            value_logits: return the HL-Gauss value logits instead of their expectation (the
                loss); no effect on a scalar value.
            team: what team-coupled models read besides the observations (agent mask, tasks;
                leaves [*batch[:-1], ...], or [T, ...] for a sequence); None for uncoupled ones.

        Returns:
            (actor carry, critic carry, policy output, value f32[*batch] or f32[T, *batch]),
            the value being logits f32[..., bins] when `value_logits` and `value_histogram`.
        """
        method = "sequence" if sequence else "__call__"
        actor_carry, (policy_output, value) = self.actor.apply(
            params["actor"],
            actor_carry,
            model_obs,
            reset,
            *_team_args(self.actor, team),
            method=method,
        )
        critic_input = self._critic_input(model_obs, critic_state, reset)
        critic_carry, value = self._value(
            params, critic_carry, critic_input, reset, value, method, value_logits, team
        )
        return actor_carry, critic_carry, policy_output, value

    def replay(
        self,
        params: Params,
        actor_carry: Any,
        critic_carry: Any,
        model_obs: jax.Array,
        critic_state: jax.Array | CentralisedInput | None,
        reset: jax.Array,
        actions: jax.Array,
        team: TeamInputs | None = None,
    ) -> tuple[Any, jax.Array, jax.Array | None]:
        """The loss's pass over a stored sequence: `evaluate(..., sequence=True,
        value_logits=True)`, plus the actor's prediction of each next observation from the same
        pass when the actor has a `next_obs_head`.

        Args:
            actor_carry, critic_carry: memories [*batch, ...] at the sequence start.
            model_obs: [T, *batch, *obs_shape]; reset: bool[T, *batch].
            critic_state: as in `evaluate` (the loss passes a `CentralisedInput` whose
                row/agent are i32[T, *batch]), or None without a centralised critic.
            actions: i32[T, *batch] (f32[T, *batch, A]) the actions taken (read only by the
                next-observation head).
            team: TeamInputs [T, ...] the rollout recorded for team-coupled models, or None.

        Returns:
            (policy output, value (logits under HL-Gauss), predicted next observation
            f32[T, *batch, D], or None without a next-observation head).
        """
        if not self.next_obs_head:
            *_, policy_output, value = self.evaluate(
                params,
                actor_carry,
                critic_carry,
                model_obs,
                critic_state,
                reset,
                sequence=True,
                value_logits=True,
                team=team,
            )
            return policy_output, value, None
        _, (policy_output, value, predicted) = self.actor.apply(
            params["actor"],
            actor_carry,
            model_obs,
            reset,
            actions,
            method="sequence_with_next_obs",
        )
        critic_input = self._critic_input(model_obs, critic_state, reset)
        _, value = self._value(
            params, critic_carry, critic_input, reset, value, "sequence", True, team
        )
        return policy_output, value, predicted

    def _critic_input(
        self,
        model_obs: jax.Array,
        critic_state: jax.Array | CentralisedInput | None,
        reset: jax.Array,
    ) -> jax.Array | CentralisedInput:
        """What the critic reads: the observations, or (centralised) a `CentralisedInput`
        (per-env states f32[*envs, C] become one row per env, agents 0 .. N-1)."""
        if not self.centralised:
            return model_obs
        if isinstance(critic_state, CentralisedInput):
            return critic_state
        if critic_state is None or critic_state.shape[:-1] != reset.shape[:-1]:
            found = None if critic_state is None else critic_state.shape
            envs = ", ".join(str(size) for size in reset.shape[:-1])
            raise ValueError(
                f"a centralised critic reads one state per env, f32[{envs}, C]; got {found}"
            )
        return per_env_input(critic_state, reset.shape[-1])

    def _value(
        self,
        params: Params,
        critic_carry: Any,
        critic_input: jax.Array | CentralisedInput,
        reset: jax.Array,
        actor_value: jax.Array,
        method: str,
        value_logits: bool,
        team: TeamInputs | None = None,
    ) -> tuple[Any, jax.Array]:
        """(critic carry, value): the separate critic's (if any, else the actor's value), as an
        expectation unless `value_logits` (see `evaluate`)."""
        value = actor_value
        if self.critic is not None:
            critic_carry, (_, value) = self.critic.apply(
                params["critic"],
                critic_carry,
                critic_input,
                reset,
                *_team_args(self.critic, team),
                method=method,
            )
        if self.value_histogram is not None and not value_logits:
            value = self.value_histogram.value(value)
        return critic_carry, value

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[Any, Any]:
        """(actor carry, critic carry) for fresh episodes; the critic's is () when "shared"."""
        actor_carry = self.actor.initialize_carry(batch_shape)
        critic_carry = self.critic.initialize_carry(batch_shape) if self.critic is not None else ()
        return actor_carry, critic_carry

    def init(self, key: jax.Array, layout: TaskLayout) -> Params:
        """Initial parameters for one agent batch of shape [1, N_max]."""
        actor_key, critic_key = jax.random.split(key)
        batch = (1, layout.max_agents)
        space = layout.observation_space
        obs = jnp.zeros((*batch, *space.shape), space.dtype)
        reset = jnp.ones(batch, bool)
        actor_carry, critic_carry = self.initialize_carry(batch)
        team = None
        if self.team_coupled:
            team = placeholder_team(
                layout,
                batch,
                self.needs_tasks,
                self.neighbourhood,
                self.needs_task_offsets,
                self.task_neighbourhood,
            )
        actor_team = _team_args(self.actor, team)
        params = {"actor": self.actor.init(actor_key, actor_carry, obs, reset, *actor_team)}
        critic_team = _team_args(self.critic, team)
        if self.centralised:
            # one state per env, f32[1, C], not a [1, N, C + N] row per agent
            critic_state = jnp.zeros((batch[0], layout.critic_size()), jnp.float32)
            critic_input = per_env_input(critic_state, layout.max_agents)
            params["critic"] = self.critic.init(critic_key, critic_carry, critic_input, reset)
        elif self.critic is not None:
            params["critic"] = self.critic.init(critic_key, critic_carry, obs, reset, *critic_team)
        return {name: self._with_members(model_params) for name, model_params in params.items()}

    def _with_members(self, model_params: Any) -> Any:
        """`model_params` of a graph with each member node's parameters set to the trained
        ones (the graph's own init of that node is only a placeholder of the right shape)."""
        if not self.member_params:
            return model_params
        nodes = dict(model_params["params"])
        for name, trained in self.member_params:
            if f"node_{name}" in nodes:
                nodes[f"node_{name}"] = trained["params"]
        return {**model_params, "params": nodes}


def _team_args(model: Any, team: TeamInputs | None) -> tuple[TeamInputs, ...]:
    """(team,) for a team-coupled model, () for the others (whose interface has no team)."""
    if not is_team_coupled(model):
        return ()
    if team is None and needs_tasks(model):
        raise ValueError(
            "this policy assigns agents to the env's tasks: the caller must pass "
            "TeamInputs with tasks (`marlax.algorithms.ppo.teams.team_inputs`)"
        )
    return (team,)


def value_histogram(ppo: PPOConfig) -> HLGauss | None:
    """The HL-Gauss settings of `ppo.value_head = "hl_gauss"`; None for "mse"."""
    if ppo.value_head != "hl_gauss":
        return None
    low, high = ppo.value_range
    return HLGauss(low, high, ppo.value_bins, ppo.value_sigma)


def make_networks(model_config: ModelConfig, layout: TaskLayout, ppo: PPOConfig) -> Networks:
    """Build the actor (and critic) from a `ModelConfig` and the joint task layout.

    Args:
        ppo: reads `critic` ("shared", "independent" or "centralised") and the value head
            (`value_head`, `value_bins`, `value_range`, `value_sigma`).

    A separate critic uses the same memory core and settings as the actor; an "independent"
    one also the same encoder (with `model.graph`: the same graph, members included), a
    "centralised" one a vector encoder over [global state, task one-hot, agent one-hot]
    whose first layer is computed once per env plus a per-agent embedding
    (`centralised_critic`; with `model.graph`: a plain "mlp" model). With
    `model.coordination` the actor and an "independent" critic coordinate their agents
    (`marlax.models.coordinated`); a "centralised" critic already reads the whole state and
    stays per agent. Its policy output is unused. The model that gives the value (the critic,
    or the actor when "shared") gets `value_bins` value logits under "hl_gauss"; every model
    computes in `model_config.dtype`.
    """
    histogram = value_histogram(ppo)
    value_bins = 1 if histogram is None else histogram.bins
    encoder = dict(model_config.encoder)
    core = dict(model_config.core)
    members, member_params = load_members(model_config, layout)

    def _own_obs_model(num_actions_space: Any, bins: int) -> RecurrentModel | GraphModel:
        return make_model_for_spaces(
            model_config.name,
            layout.observation_space,
            num_actions_space,
            encoder_settings=encoder,
            log_std_init=model_config.log_std_init,
            value_bins=bins,
            dtype=model_config.dtype,
            graph=model_config.graph,
            members=members,
            next_obs_head=next_obs_head,
            coordination=model_config.coordination,
            **core,
        )

    # only the actor gets the self-supervised head: test time adapts the policy's trunk
    next_obs_head = model_config.next_obs_head
    actor = _own_obs_model(layout.action_space, value_bins if ppo.critic == "shared" else 1)
    next_obs_head = False
    critic_model = None
    if ppo.critic == "independent":
        critic_model = _own_obs_model(Discrete(1), value_bins)
    elif ppo.critic == "centralised":
        critic_model = centralised_critic(model_config, layout, value_bins)
    return Networks(
        actor=actor,
        critic=critic_model,
        centralised=ppo.critic == "centralised",
        value_histogram=histogram,
        member_params=member_params,
    )


def load_members(
    model_config: ModelConfig, layout: TaskLayout
) -> tuple[Members, tuple[tuple[str, Any], ...]]:
    """The trained actors of `model.graph`'s "member" nodes and their parameters (one seed).

    Raises:
        ConfigError: naming `model.graph.nodes.<name>.run` or `.seed`: no such run or
            checkpoint, a run whose actor is itself a graph, another observation space, or a
            seed the run does not have.
    """
    if model_config.graph is None:
        return Members(), ()
    graph = read_graph(model_config.graph, encoder_for_space(layout.observation_space))
    models, params = [], []
    for node in graph.nodes:
        if node.kind != "member":
            continue
        settings, field_prefix = dict(node.settings), f"model.graph.nodes.{node.name}"
        run = settings.get("run")
        expected = "the folder of a trained PPO run, e.g. runs/bold-otter-07"
        require(isinstance(run, str) and run != "", f"{field_prefix}.run", run, expected)
        seed = require_nonnegative_int(f"{field_prefix}.seed", settings.get("seed", 0))
        trained = _load_run(Path(run), f"{field_prefix}.run")
        actor = trained.trainer.networks.actor
        space = layout.observation_space
        require(
            isinstance(actor, RecurrentModel), f"{field_prefix}.run", run, "a run of a plain model"
        )
        require(
            trained.trainer.layout.observation_space == space,
            f"{field_prefix}.run",
            run,
            f"a run trained on this observation space {space}",
        )
        seed_params = _seed_slice(trained.state.params["actor"], seed, f"{field_prefix}.seed")
        models.append((node.name, actor))
        params.append((node.name, seed_params))
    return Members(tuple(models)), tuple(params)


def _load_run(path: Path, field_name: str) -> Any:
    """`load_trained` of the run folder `path` (its parent is the runs directory)."""
    # imported here: restore builds a Trainer, whose module imports this one
    from marlax.algorithms.ppo.restore import load_trained

    try:
        return load_trained(path.parent, path.name)
    except ConfigError as error:
        raise ConfigError(field_name, str(path), error.expected) from None


def _seed_slice(seed_params: Any, seed: int, field_name: str) -> Any:
    """Seed `seed` of parameters whose leaves lead with the seed axis S."""
    num_seeds = int(jax.tree.leaves(seed_params)[0].shape[0])
    require(seed < num_seeds, field_name, seed, f"a seed of the run, in [0, {num_seeds})")
    return jax.tree.map(lambda leaf: jnp.asarray(leaf[seed]), seed_params)
