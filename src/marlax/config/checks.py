"""Cross-field checks of a whole `TrainConfig`: they build the envs and the model to see them.

Building is cheap (envs are frozen dataclasses of settings; a model is an unbound flax
module), so `TrainConfig.__post_init__` runs these on every construction.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import jax
import numpy as np

from marlax.config.actor_critic import OFF_POLICY_ALGORITHMS, check_off_policy
from marlax.config.q_learning import check_q_learning
from marlax.config.validators import check_setting_names
from marlax.envs.base import Env
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.models.coordinated import make_coordination
from marlax.models.registry import ENCODERS, encoder_for_space, make_model_for_spaces
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

MAX_LISTED_DIVISOR = 64
TEAM_ALGORITHMS = ("ppo", "pbt", "rl2")
"""Learners that keep teams together in the learning pass (`model.coordination`)."""
_MODULE_FIELDS = ("parent", "name")


def check_train_config(config: TrainConfig) -> None:
    """Every check that needs the envs: task kinds, model settings, minibatches, devices.

    Raises:
        ConfigError: on `envs`, `model.*`, `ppo.num_minibatches` or `run.devices` (PPO), or
            `envs`, `model.*` and `q_learning.*` (the value-based learners).
    """
    envs = [task.make_env() for task in config.envs]
    if config.algorithm in OFF_POLICY_ALGORITHMS:
        # MADDPG / SAC build their own MLPs (off_policy.*_hidden_sizes): no model section
        check_off_policy(config, envs)
        return
    if config.algorithm != "ppo":
        check_q_learning(config, envs)
        require(
            config.model.graph is None,
            "model.graph",
            config.model.graph,
            "null: the value-based learners build plain models (model.name)",
        )
        check_model(config, envs)
        return
    if config.multi_task:
        check_tasks_compatible([task.name for task in config.envs], envs)
    check_model(config, envs)
    check_minibatches(config, max(env.num_agents for env in envs))
    check_devices(config)


def observation_kind(env: Env) -> str:
    """'vector D=18', 'grid V=11 C=2', or another description of one agent's observation."""
    space = env.observation_space
    if not isinstance(space, Box):
        return f"{space}"
    integer = np.issubdtype(np.dtype(space.dtype), np.integer)
    if not integer and len(space.shape) == 1:
        return f"vector D={space.shape[0]}"
    if integer and len(space.shape) == 3 and space.shape[0] == space.shape[1]:
        return f"grid V={space.shape[0]} C={space.shape[2]}"
    return f"{space.dtype} Box {space.shape}"


def _shared_kind(env: Env) -> str:
    """The part of the observation kind that tasks trained by one policy must share."""
    kind = observation_kind(env)
    if kind.startswith("vector"):
        return "vector"
    if kind.startswith("grid"):
        return kind.split(" C=")[0]
    return kind


def check_tasks_compatible(names: list[str], envs: list[Env]) -> None:
    """Tasks of one policy: all float vectors, or all integer grids of one view size V,
    and all with Discrete actions."""
    kinds = {_shared_kind(env) for env in envs}
    discrete = all(isinstance(env.action_space, Discrete) for env in envs)
    supported = kinds == {"vector"} or (len(kinds) == 1 and kinds.pop().startswith("grid V="))
    if not (supported and discrete):
        value = tuple(
            f"{name}: {observation_kind(env)}, {env.action_space}"
            for name, env in zip(names, envs, strict=True)
        )
        raise ConfigError(
            "envs",
            value,
            "tasks that share the observation kind (all float vectors Box (D,), or all integer "
            "grids Box (V, V, C) with one V) and all have Discrete actions, or a single task",
        )


def module_settings(cls: type) -> list[str]:
    """Settings a flax module class accepts (its fields, less flax's own)."""
    return [field.name for field in dataclasses.fields(cls) if field.name not in _MODULE_FIELDS]


def check_model(config: TrainConfig, envs: list[Env]) -> None:
    """The model settings build a model for every task's spaces (errors name `model.*`)."""
    model = config.model
    for index, env in enumerate(envs):
        try:
            encoder_cls = ENCODERS[encoder_for_space(env.observation_space)]
            check_setting_names("model.encoder", model.encoder, module_settings(encoder_cls))
            make_model_for_spaces(
                model.name,
                env.observation_space,
                env.action_space,
                encoder_settings=model.encoder,
                log_std_init=model.log_std_init,
                graph=model.graph,  # checked by marlax.models.graph.read_graph
                coordination=model.coordination,
                **model.core,
            )
        except ConfigError as error:
            if error.field in ("observation_space", "action_space"):
                task = config.envs[index].name
                raise ConfigError(
                    f"envs.{index}.name",
                    task,
                    f"an env whose {error.field} a model can take: {error.expected}, "
                    f"not {error.value}",
                ) from None
            field = error.field if error.field.startswith("model.") else f"model.{error.field}"
            raise ConfigError(field, error.value, error.expected) from None
    check_coordination(config, envs)


def check_coordination(config: TrainConfig, envs: list[Env]) -> None:
    """`model.coordination` needs a learner that keeps teams together, no next-observation
    head, and, for an assignment to tasks, envs that expose tasks (`Env.tasks`)."""
    coordination = config.model.coordination
    if coordination is None:
        return
    require(
        config.algorithm in TEAM_ALGORITHMS,
        "model.coordination",
        coordination,
        f"null for algorithm {config.algorithm!r} (coordinated policies train under "
        f"{', '.join(TEAM_ALGORITHMS)})",
    )
    require(
        not config.model.next_obs_head,
        "model.next_obs_head",
        True,
        "false with model.coordination",
    )
    layer = make_coordination(coordination)
    if getattr(layer, "neighbourhood", None) is not None:
        for index, env in enumerate(envs):
            try:
                env.arena  # noqa: B018 (raises for envs without agent positions)
            except ConfigError:
                raise ConfigError(
                    f"envs.{index}.name",
                    config.envs[index].name,
                    "an env with agent positions (coverage, battle) for model.coordination "
                    "neighbours",
                ) from None
    if not layer.uses_tasks:
        return
    for index, env in enumerate(envs):
        try:
            _, state = jax.eval_shape(env.reset, jax.random.key(0))
            task_features, _ = jax.eval_shape(env.tasks, state)
        except ConfigError:
            raise ConfigError(
                f"envs.{index}.name",
                config.envs[index].name,
                f"an env that exposes tasks (Env.tasks) for model.coordination kind "
                f"{coordination.get('kind')!r}",
            ) from None
        if getattr(layer, "uses_task_offsets", False):
            try:
                jax.eval_shape(env.task_offsets, state)
            except ConfigError:
                raise ConfigError(
                    f"envs.{index}.name",
                    config.envs[index].name,
                    "an env with task positions (Env.task_offsets: coverage) for "
                    "model.coordination distance_weight > 0 or relative",
                ) from None
        if getattr(layer, "task_neighbourhood", None) is not None:
            _check_nearest_tasks(config, index, env, state, task_features.shape[0])


def _check_nearest_tasks(
    config: TrainConfig, index: int, env: Env, state: object, num_tasks: int
) -> None:
    """An assignment over each agent's nearest tasks: the env places its tasks
    (`Env.task_positions`) and agents, and has at least `nearest` tasks."""
    try:
        jax.eval_shape(env.task_positions, state)
        jax.eval_shape(env.agent_positions, state)
        env.arena  # noqa: B018 (raises for envs without positions)
    except ConfigError:
        raise ConfigError(
            f"envs.{index}.name",
            config.envs[index].name,
            "an env with task and agent positions (Env.task_positions: coverage) for "
            "model.coordination nearest",
        ) from None
    nearest = config.model.coordination["nearest"]
    require(
        nearest <= num_tasks,
        "model.coordination.nearest",
        nearest,
        f"at most the number of tasks of envs.{index} ({num_tasks})",
    )


def minibatch_batch(config: TrainConfig, max_agents: int) -> tuple[int, str]:
    """The batch the learner splits into minibatches, and what it counts.

    Recurrent models split whole sequences (total_num_envs x max_agents); "mlp" splits
    samples (rollout_length x total_num_envs x max_agents). With `model.coordination` the
    agents of a team stay together: the batch counts teams (total_num_envs sequences, or
    rollout_length x total_num_envs team-steps for "mlp").
    """
    if config.model.coordination is not None:
        return _team_batch(config)
    sequences = config.total_num_envs * max_agents
    if config.model.name != "mlp" or config.model.graph is not None:
        return sequences, (
            f"{sequences} sequences (total_num_envs {config.total_num_envs} x max_agents "
            f"{max_agents}; recurrent models split whole sequences)"
        )
    samples = config.ppo.rollout_length * sequences
    return samples, (
        f"{samples} samples (rollout_length {config.ppo.rollout_length} x total_num_envs "
        f"{config.total_num_envs} x max_agents {max_agents})"
    )


def _team_batch(config: TrainConfig) -> tuple[int, str]:
    """`minibatch_batch` for a team-coupled model: whole teams, never single agents."""
    teams = config.total_num_envs
    if config.model.name != "mlp":
        return teams, (
            f"{teams} team sequences (total_num_envs {teams}; a coordinated recurrent model "
            "splits whole teams)"
        )
    steps = config.ppo.rollout_length * teams
    return steps, (
        f"{steps} team-steps (rollout_length {config.ppo.rollout_length} x total_num_envs "
        f"{teams}; a coordinated model splits whole teams)"
    )


def check_minibatches(config: TrainConfig, max_agents: int) -> None:
    """`ppo.num_minibatches` splits the batch into equal parts."""
    batch, described = minibatch_batch(config, max_agents)
    num_minibatches = config.ppo.num_minibatches
    if batch % num_minibatches:
        divisors = [d for d in range(1, min(batch, MAX_LISTED_DIVISOR) + 1) if batch % d == 0]
        raise ConfigError(
            "ppo.num_minibatches",
            num_minibatches,
            f"a divisor of the batch of {described}: one of {', '.join(map(str, divisors))}",
        )


def check_devices(config: TrainConfig) -> None:
    """`run.devices`, when set, divides every task's num_envs (each device gets equal shards)."""
    devices = config.run.devices
    if devices is None:
        return
    for index, task in enumerate(config.envs):
        if task.num_envs % devices:
            raise ConfigError(
                "run.devices",
                devices,
                f"a divisor of every task's num_envs (envs.{index}.num_envs = {task.num_envs})",
            )
