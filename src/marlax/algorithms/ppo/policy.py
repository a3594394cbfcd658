"""A trained PPO actor as a `MemoryPolicy` (`marlax.algorithms.common.policy`): one env of one
task, one seed of a run.

    trained = load_trained(Path("runs"), "bold-otter-07")        # marlax.algorithms.ppo.restore
    task = select_task(trained.trainer.task_labels, "grid_return")
    policy = trained_policy(trained, task, seed_index=0)
    actions, memory = policy.act(key, obs, env_state, policy.initial_memory(), reset)

The policy sees what it saw in training: `TaskLayout.model_obs` (padding, task id) and
`TaskLayout.legal_mask`, on a batch of one env; it plays the mode of its action distribution
(argmax of the masked logits, or the Gaussian mean), or a sample with `sample=True`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.ppo.networks import Networks
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.errors import ConfigError
from marlax.models.coordinated import (
    TeamInputs,
    is_team_coupled,
    needs_task_offsets,
    needs_tasks,
    neighbourhood,
    task_neighbourhood,
)
from marlax.models.heads import distribution
from marlax.validate import require_bool, require_int

if TYPE_CHECKING:
    from marlax.algorithms.ppo.restore import TrainedRun


@struct.dataclass
class TrainedPolicy:
    """The actor network of a trained run, acting in one env of task `task_index`.

    Implements `marlax.algorithms.common.policy.MemoryPolicy`. A pytree: the actor's
    parameters are its leaves, everything else is static.
    """

    actor_params: Any  # the actor's parameters of one seed (no seed axis)
    networks: Networks = struct.field(pytree_node=False)
    layout: TaskLayout = struct.field(pytree_node=False)
    task_index: int = struct.field(pytree_node=False)
    sample: bool = struct.field(pytree_node=False, default=False)

    def initial_memory(self) -> Any:
        """The actor's carry for one env: leaves [1, N_max, ...]."""
        return self.networks.actor.initialize_carry((1, self.layout.max_agents))

    def policy_output(
        self, obs: jax.Array, memory: Any, reset: jax.Array, state: Any = None
    ) -> tuple[Any, Any]:
        """The actor's output for one env, before masking.

        Args:
            obs: [N_i, *obs_shape] the task env's observations.
            memory: carry leaves [1, N_max, ...]; reset: bool[] this step starts an episode.
            state: the env State (unbatched): a coordinated actor reads its team from it
                (agent mask, the env's tasks); None = all agents active, no tasks.

        Returns:
            (logits f32[1, N_max, A] or GaussianParams of f32[1, N_max, A], memory).
        """
        model_obs = self.layout.model_obs(self.task_index, obs[None])
        reset_batch = jnp.broadcast_to(reset, (1, self.layout.max_agents))
        team = ()
        if is_team_coupled(self.networks.actor) and state is not None:
            team = (self._team(jax.tree.map(lambda leaf: leaf[None], state)),)
        memory, (output, _) = self.networks.actor.apply(
            self.actor_params, memory, model_obs, reset_batch, *team
        )
        return output, memory

    def _team(self, batched_state: Any) -> TeamInputs:
        """The team inputs of this env ([1, ...] leaves) as in training (`teams.team_inputs`)."""
        index = self.task_index
        active = self.layout.alive(index, batched_state)  # False for padded agents too
        tasks = task_mask = neighbours = offsets = task_neighbours = None
        if needs_tasks(self.networks.actor):
            tasks, task_mask = self.layout.team_tasks(index, batched_state)
        around = neighbourhood(self.networks.actor)
        if around is not None:
            neighbours = self.layout.team_neighbours(index, batched_state, *around)
        nearest_tasks = task_neighbourhood(self.networks.actor)
        if nearest_tasks is not None:
            task_neighbours, to_tasks = self.layout.team_task_neighbours(
                index, batched_state, *nearest_tasks
            )
        if needs_task_offsets(self.networks.actor):
            # the offsets to the candidate tasks, or to every task for a dense assignment
            offsets = (
                to_tasks
                if nearest_tasks is not None
                else self.layout.team_task_offsets(index, batched_state)
            )
        return TeamInputs(active, tasks, task_mask, neighbours, offsets, task_neighbours)

    def _distribution(
        self, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[Any, Any]:
        """(the legal-masked action distribution over [1, N_max], memory) for one env."""
        output, memory = self.policy_output(obs, memory, reset, state)
        batched_state = jax.tree.map(lambda leaf: leaf[None], state)
        legal = self.layout.legal_mask(self.task_index, batched_state)
        return distribution(output, legal), memory

    def action_scores(
        self, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """(log-probabilities f32[N_i, A_i], or the Gaussian mean f32[N_i, A], memory): see
        `marlax.algorithms.common.policy.ScoredPolicy`."""
        policy, memory = self._distribution(obs, state, memory, reset)
        env = self.layout.tasks[self.task_index].env
        if hasattr(env.action_space, "n"):
            # a multi-task layout pads actions to A_max; the task's own are the first A_i
            scores = policy.log_probs[..., : env.action_space.n]
        else:
            scores = policy.mode()
        return self.layout.env_actions(self.task_index, scores)[0], memory

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """Actions i32[N_i] (or f32[N_i, A]) of the task env's agents, and the new memory.

        Args:
            key: used only when `sample`.
            obs: [N_i, *obs_shape]; state: the env State (unbatched).
            memory: from `initial_memory` or the previous step; reset: bool[].
        """
        policy, memory = self._distribution(obs, state, memory, reset)
        actions = policy.sample(key) if self.sample else policy.mode()
        return self.layout.env_actions(self.task_index, actions)[0], memory


def select_task(labels: tuple[str, ...], selector: str | None) -> int:
    """The task index named by `--selector`: a task label, an index, or None for the first.

    Args:
        labels: the run's task labels (`Trainer.task_labels`).

    Raises:
        ConfigError: neither a label nor an index in range; the message lists the tasks.
    """
    if selector is None:
        return 0
    if selector in labels:
        return labels.index(selector)
    if selector.isdigit() and int(selector) < len(labels):
        return int(selector)
    listed = ", ".join(f"{index}={label}" for index, label in enumerate(labels))
    raise ConfigError("selector", selector, f"a task of the run by name or index: {listed}")


def trained_policy(
    trained: TrainedRun, task_index: int, seed_index: int = 0, *, sample: bool = False
) -> TrainedPolicy:
    """The policy of seed `seed_index` of a restored run, acting in task `task_index`.

    Args:
        trained: a restored run (`load_trained`): its `trainer` and `state`, whose leaves
            lead with the seed axis S.
        sample: sample actions instead of playing the most likely one.

    Raises:
        ConfigError: `seed_index` is not in [0, S).
    """
    num_seeds = int(jax.tree.leaves(trained.state.params)[0].shape[0])
    seed_index = require_int("seed_index", seed_index, 0, num_seeds - 1)
    require_bool("sample", sample)
    # on the device once, not copied from the host at every step
    actor_params = jax.device_put(
        jax.tree.map(lambda leaf: leaf[seed_index], trained.state.params["actor"])
    )
    trainer = trained.trainer
    return TrainedPolicy(actor_params, trainer.networks, trainer.layout, task_index, sample)
