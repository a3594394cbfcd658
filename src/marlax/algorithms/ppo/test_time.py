"""Test-time adaptation of a PPO policy with a next-observation head (test-time training).

    adaptation = TestTimeAdaptation(policy, env, episodes=8, learning_rate=1e-3)
    returns, losses = batched_test_time_returns(key, adaptation, tasks, steps=5)
    returns          # f32[M, steps + 1]: mean team return after 0..steps adaptation steps
    curve = adapt_to_task(key, adaptation, task, steps=5)     # one task, with the parameters

Each of the M tasks adapts on its own, from the trained parameters: at point s the policy
plays E episodes of the task (actions sampled, as in training); their return is point s of
the curve; then `gradient_steps` Adam steps on the next-observation head's squared error over
those same episodes (no reward is used) update only `marlax.models.next_obs.adaptable_mask`'s
parameters (the head and the trunk's normalisation layers), and the next point plays again.
The policy changes only through the normalisation layers it shares with the head.

A task is a `TaskFamily` draw (episodes start at `env.reset_to_task`); for an env that is not
a family, the M "tasks" are M independent adaptations to the env itself (with any shift given
as env settings), each with its own episodes.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from marlax.algorithms.ppo.learn import next_obs_error
from marlax.algorithms.ppo.policy import TrainedPolicy
from marlax.models.heads import distribution
from marlax.models.next_obs import adaptable_mask


@struct.dataclass
class TestTimeAdaptation:
    """How a trained policy adapts at test time.

    Attributes:
        policy: the trained policy (its `actor_params` are where every task starts); its
            actor must have a next-observation head.
        env: the env it adapts in (a `TaskFamily` or any env; shifted settings included).
        episodes: E episodes played per point of the curve.
        learning_rate: Adam's step size on the adaptable parameters.
        gradient_steps: Adam steps on each point's episodes (at least 1).

    A pytree whose leaves are the policy's parameters (jit traces them; the rest is static).
    """

    __test__ = False  # not a pytest class, despite the name

    policy: TrainedPolicy
    env: Any = struct.field(pytree_node=False)
    episodes: int = struct.field(pytree_node=False, default=8)
    learning_rate: float = struct.field(pytree_node=False, default=1e-3)
    gradient_steps: int = struct.field(pytree_node=False, default=4)

    @property
    def is_family(self) -> bool:
        return hasattr(self.env, "reset_to_task")

    def optimizer(self, params: Any) -> optax.GradientTransformation:
        """Adam on the adaptable leaves; every other leaf's update is exactly 0."""
        labels = jax.tree.map(
            lambda adaptable: "adapt" if adaptable else "freeze", adaptable_mask(params)
        )
        return optax.multi_transform(
            {"adapt": optax.adam(self.learning_rate), "freeze": optax.set_to_zero()}, labels
        )


@struct.dataclass
class Played:
    """E episodes of one task, time-major (T = env.max_steps, N = the model's N_max)."""

    model_obs: jax.Array  # [T, E, N, D] what the actor saw
    actions: jax.Array  # i32[T, E, N] or f32[T, E, N, A] as sampled (before env conversion)
    live: jax.Array  # bool[T, E] the step was taken before the episode's first done
    returns: jax.Array  # f32[E] team return (mean over the env's agents) up to that done


def play_episodes(
    key: jax.Array, actor_params: Any, adaptation: TestTimeAdaptation, task: Any
) -> Played:
    """E episodes of `task` under `actor_params`, recorded for the self-supervised loss."""
    policy = adaptation.policy.replace(actor_params=actor_params)
    env = adaptation.env
    reset_key, loop_key = jax.random.split(key)
    reset_keys = jax.random.split(reset_key, adaptation.episodes)
    if adaptation.is_family:
        obs, state = jax.vmap(env.reset_to_task, in_axes=(0, None))(reset_keys, task)
    else:
        obs, state = jax.vmap(env.reset)(reset_keys)
    memory = jax.vmap(lambda _: policy.initial_memory())(reset_keys)
    step_envs = jax.vmap(partial(_sample_step, policy, env), in_axes=(0, 0, 0, 0, None))

    def _body(carry: tuple, step_key: jax.Array) -> tuple:
        """Carries (obs, state, memory, live bool[E], first bool[]); stacks the records."""
        obs, state, memory, live, first = carry
        keys = jax.random.split(step_key, adaptation.episodes)
        model_obs, action, next_obs, next_state, reward, done, memory = step_envs(
            keys, obs, state, memory, first
        )
        # after its first done an episode is frozen: nothing after it counts
        state, obs = _where_live(live, next_state, state), _where_live(live, next_obs, obs)
        team_reward = jnp.where(live, reward.mean(axis=-1), 0.0)
        carry = (obs, state, memory, live & ~done, jnp.zeros((), bool))
        return carry, (model_obs, action, live, team_reward)

    start = (obs, state, memory, jnp.ones((adaptation.episodes,), bool), jnp.ones((), bool))
    steps = jax.random.split(loop_key, env.max_steps)
    _, (model_obs, actions, live, rewards) = jax.lax.scan(_body, start, steps)
    return Played(model_obs, actions, live, rewards.sum(axis=0))


def _sample_step(
    policy: TrainedPolicy,
    env: Any,
    step_key: jax.Array,
    obs: jax.Array,
    state: Any,
    memory: Any,
    first: jax.Array,
) -> tuple:
    """One env's step with a sampled action.

    Returns:
        (model obs [N_max, D], action i32[N_max] (f32[N_max, A]) as sampled, next obs, next
        state, reward f32[N_i], done bool[], memory).
    """
    policy_key, env_key = jax.random.split(step_key)
    output, memory = policy.policy_output(obs, memory, first)
    legal = policy.layout.legal_mask(policy.task_index, jax.tree.map(lambda x: x[None], state))
    action = distribution(output, legal).sample(policy_key)  # [1, N_max]
    env_action = policy.layout.env_actions(policy.task_index, action)[0]
    next_obs, next_state, reward, done, _ = env.step(env_key, state, env_action)
    model_obs = policy.layout.model_obs(policy.task_index, obs[None])[0]
    return model_obs, action[0], next_obs, next_state, reward, done, memory


def _where_live(live: jax.Array, new: Any, old: Any) -> Any:
    """`new` for the envs still live (bool[E]), `old` for the finished ones."""

    def _pick(n: jax.Array, o: jax.Array) -> jax.Array:
        return jnp.where(live.reshape(live.shape + (1,) * (n.ndim - 1)), n, o)

    return jax.tree.map(_pick, new, old)


def self_supervised_loss(
    actor_params: Any, adaptation: TestTimeAdaptation, played: Played
) -> jax.Array:
    """The next-observation head's squared error over the played episodes (f32[]).

    Step t's target is step t + 1's observation, where step t + 1 is still in the episode
    (the last step of an episode and steps after it carry no target); padded agents of a
    multi-task layout carry none either.
    """
    policy = adaptation.policy
    actor, layout = policy.networks.actor, policy.layout
    steps, episodes, agents = played.model_obs.shape[:3]
    reset = jnp.zeros((steps, episodes, agents), bool).at[0].set(True)
    carry = actor.initialize_carry((episodes, agents))
    _, (_, _, predicted) = actor.apply(
        actor_params,
        carry,
        played.model_obs,
        reset,
        played.actions,
        method="sequence_with_next_obs",
    )
    has_next = jnp.concatenate([played.live[1:], jnp.zeros_like(played.live[:1])])  # [T, E]
    real_agent = jnp.arange(agents) < layout.tasks[policy.task_index].env.num_agents
    weight = has_next[..., None] & real_agent[None, None]  # [T, E, N]
    target = jnp.concatenate([played.model_obs[1:], jnp.zeros_like(played.model_obs[:1])])
    return next_obs_error(predicted[:-1], target[:-1], weight[:-1].astype(jnp.float32))


@struct.dataclass
class TestTimeCurve:
    """One task's adaptation: every point measured on the E episodes played at that point,
    before its update."""

    __test__ = False  # not a pytest class, despite the name

    returns: jax.Array  # f32[steps + 1] mean team return
    losses: jax.Array  # f32[steps + 1] next-observation error on those episodes
    params: Any  # the actor's parameters after the last update


def adapt_to_task(
    key: jax.Array, adaptation: TestTimeAdaptation, task: Any, steps: int
) -> TestTimeCurve:
    """`steps` adaptation steps on one task, from the trained parameters."""
    params = adaptation.policy.actor_params
    optimizer = adaptation.optimizer(params)
    opt_state = optimizer.init(params)
    loss_and_grad = jax.value_and_grad(self_supervised_loss)

    def _point(carry: tuple, point_key: jax.Array) -> tuple:
        params, opt_state = carry
        played = play_episodes(point_key, params, adaptation, task)

        def _gradient_step(inner: tuple, _: None) -> tuple:
            params, opt_state = inner
            loss, grads = loss_and_grad(params, adaptation, played)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, opt_state), step_losses = jax.lax.scan(
            _gradient_step, (params, opt_state), None, length=adaptation.gradient_steps
        )
        # the first step's loss is the one at this point's parameters (gradient_steps >= 1)
        return (params, opt_state), (played.returns.mean(), step_losses[0])

    # the last point only plays: its update would never be measured
    point_keys = jax.random.split(key, steps + 1)
    (params, opt_state), (returns, losses) = jax.lax.scan(
        _point, (params, opt_state), point_keys[:steps]
    )
    last = play_episodes(point_keys[steps], params, adaptation, task)
    last_loss = self_supervised_loss(params, adaptation, last)
    returns = jnp.concatenate([returns, last.returns.mean()[None]])
    losses = jnp.concatenate([losses, last_loss[None]])
    return TestTimeCurve(returns, losses, params)


def batched_test_time_returns(
    key: jax.Array, adaptation: TestTimeAdaptation, tasks: Any, steps: int
) -> tuple[jax.Array, jax.Array]:
    """M tasks' curves in one jitted program: (returns f32[M, steps + 1], self-supervised
    losses f32[M, steps + 1]).

    Args:
        tasks: a batch of M tasks (leaves lead with M): family draws, or i32[M] indices for
            an env that is not a family (they only number the independent adaptations).
    """
    return _batched(key, adaptation, tasks, steps)


@partial(jax.jit, static_argnames="steps")
def _batched(
    key: jax.Array, adaptation: TestTimeAdaptation, tasks: Any, steps: int
) -> tuple[jax.Array, jax.Array]:
    keys = jax.random.split(key, jax.tree.leaves(tasks)[0].shape[0])

    def _one(task_key: jax.Array, task: Any) -> tuple[jax.Array, jax.Array]:
        curve = adapt_to_task(task_key, adaptation, task, steps)
        return curve.returns, curve.losses

    return jax.vmap(_one)(keys, tasks)
