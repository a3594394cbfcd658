"""A VariBAD run's policies (`POLICY_LOADERS["varibad"]`): actor + encoder, playing trials.

    run_policy = load_run_policy(Path("runs"), "calm-heron-12")   # marlax.algorithms.trained
    run_policy.env          # the TrialEnv it was trained on
    run_policy.policy       # VariBADPolicy: memory = the encoder's GRU state f32[N, H]

The memory is cleared (to the prior) only where `act` is told an episode of the env starts,
i.e. at a trial's start: inner-episode boundaries keep the belief, as in training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.varibad.networks import VariBADNetworks
from marlax.algorithms.varibad.rollout import update_belief
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.config import TrainConfig
from marlax.models.heads import distribution
from marlax.runs.folder import RunFolder

if TYPE_CHECKING:
    from marlax.algorithms.trained import PolicyRequest, RunPolicy


@struct.dataclass
class VariBADPolicy:
    """One seed's actor on [inner obs, belief], the belief from the run's encoder."""

    actor_params: Any
    vae_params: Any
    networks: VariBADNetworks = struct.field(pytree_node=False)
    num_agents: int = struct.field(pytree_node=False)
    sample: bool = struct.field(pytree_node=False, default=False)

    def initial_memory(self) -> jax.Array:
        """f32[N, H] the encoder's GRU state (zeros: the prior)."""
        return self.networks.encoder.initial_hidden((self.num_agents,))

    def belief(self, obs: jax.Array, memory: jax.Array, reset: jax.Array) -> Any:
        """The `BeliefStep` at `obs` (the prior when `reset`)."""
        return update_belief(self.networks, self.vae_params, memory, obs, reset)

    def _distribution(self, obs: jax.Array, memory: jax.Array, reset: jax.Array) -> tuple:
        """(the action distribution at `obs`, the encoder state after it)."""
        belief = self.belief(obs, memory, reset)
        policy_input = self.networks.policy_input(obs, belief.mean, belief.logvar)
        return distribution(self._actor_output(policy_input)), belief.hidden

    def _actor_output(self, policy_input: jax.Array) -> Any:
        """The actor's policy output (logits or Gaussian parameters) on f32[N, D + 2L]."""
        actor = self.networks.actor
        batch = policy_input.shape[:-1]
        _, (policy_output, _) = actor.apply(
            self.actor_params, actor.initialize_carry(batch), policy_input, jnp.ones(batch, bool)
        )
        return policy_output

    def action_scores(
        self, obs: jax.Array, state: Any, memory: jax.Array, reset: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """Log-probabilities f32[N, A] (discrete) or the mean action f32[N, A] (continuous)."""
        del state
        policy, memory = self._distribution(obs, memory, reset)
        scores = policy.log_probs if hasattr(policy, "log_probs") else policy.mode()
        return scores, memory

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: jax.Array, reset: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """Actions i32[N] or f32[N, A] (sampled, or the mode) and the encoder state after `obs`."""
        del state
        policy, memory = self._distribution(obs, memory, reset)
        actions = policy.sample(key) if self.sample else policy.mode()
        return actions, memory


def load_varibad_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of VariBAD runs: each requested seed's `VariBADPolicy` on the trial env.

    Raises:
        ConfigError: no checkpoint (or none at the step), an unknown task or seed, or env
            overrides the family rejects or that change the policy's shapes.
    """
    from marlax.algorithms.ppo.policy import select_task
    from marlax.algorithms.rl2.policy import variant_trial_env
    from marlax.algorithms.trained import RunPolicy, seed_indices_of

    trainer = VariBADTrainer(config)
    state, step, env_steps = restore_checkpoint(folder, trainer, request.checkpoint)
    task_name = config.envs[0].name
    select_task((task_name,), request.selector)
    env = trainer.trial_env
    if request.env_overrides:
        params = config.envs[0].params
        env = variant_trial_env(task_name, params, request.env_overrides, env)
    num_seeds = int(jax.tree.leaves(state.policy_params)[0].shape[0])

    def _seed(tree: Any, index: int) -> Any:
        return jax.tree.map(lambda leaf: jnp.asarray(leaf[index]), tree)

    return tuple(
        RunPolicy(
            folder=folder,
            algorithm="varibad",
            env=env,
            policy=VariBADPolicy(
                actor_params=_seed(state.policy_params["actor"], index),
                vae_params=_seed(state.vae_params, index),
                networks=trainer.networks,
                num_agents=trainer.trial_env.num_agents,
                sample=request.sample,
            ),
            task=task_name,
            env_name=task_name,
            update=step,
            env_steps=env_steps,
            seed_index=index,
            num_seeds=num_seeds,
        )
        for index in seed_indices_of(request, num_seeds)
    )
