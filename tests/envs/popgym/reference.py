"""Replay popgym's episodes in the marlax ports: the reference's draws, actions and outputs.

popgym (numpy) and marlax (JAX) draw from different random streams, so each popgym
episode's random draws are read back (the shuffled `Deck.idx`, the cart-pole's initial
`state`, the noise of the noisy cart-pole) and handed to the port's `reset_from` /
`step_with_noise`; both are then stepped with the same actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.utils import seeding
from popgym import envs as popgym_envs

from marlax.envs import make
from marlax.envs.popgym import REFERENCE_CLASSES
from marlax.envs.popgym.types import CartPoleState

PORTS = REFERENCE_CLASSES
CARD_GAMES = ("popgym_repeat_previous", "popgym_repeat_first", "popgym_autoencode")
CARTPOLES = ("popgym_stateless_cartpole", "popgym_noisy_stateless_cartpole")


def reference_env(name: str, difficulty: str):
    """popgym's class for the port `name` at `difficulty`, e.g. RepeatPreviousMedium()."""
    return getattr(popgym_envs, PORTS[name] + difficulty.capitalize())()


@dataclass
class Episode:
    """One popgym episode: its draws, the actions taken and every output, per step."""

    draws: tuple = ()
    step_noise: list = field(default_factory=list)  # noisy cart-pole: f32[2] per step
    first_obs: np.ndarray | None = None
    actions: list = field(default_factory=list)
    obs: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    terminated: list = field(default_factory=list)
    truncated: list = field(default_factory=list)
    physics: list = field(default_factory=list)  # cart-poles: f64[4] before each step
    has_terminated: list = field(default_factory=list)  # cart-poles: bool before each step


def encode_obs(name: str, ref, obs) -> np.ndarray:
    """popgym's observation as the port shows it: f32[D] (one-hot for discrete parts)."""
    if name in CARTPOLES:
        return np.asarray(obs, np.float32)
    if name == "popgym_count_recall":
        values = ref.num_distinct_cards
        return np.concatenate([np.eye(values)[obs[0]], np.eye(values)[obs[1]]]).astype(np.float32)
    suit = np.eye(4, dtype=np.float32)[obs[1] if name == "popgym_autoencode" else obs]
    if name == "popgym_autoencode":
        return np.concatenate([[np.float32(obs[0])], suit]).astype(np.float32)
    return suit


def correct_action(name: str, ref) -> int | None:
    """The action popgym rewards now (from its internal state), or None if none is."""
    if name == "popgym_repeat_previous":
        if ref.deck.hand_size("player") < ref.k:
            return None
        return int(ref.deck.suits_idx[ref.deck["player"][-ref.k]])
    if name == "popgym_repeat_first":
        return int(ref.card)
    if name == "popgym_count_recall":
        return int(ref.counts[ref.query])
    if name == "popgym_autoencode":
        if int(ref.mode) == 1:  # watching: any action
            return None
        return int(ref.deck.suits_idx[ref.deck["system"][-1]])
    x, x_dot, theta, theta_dot = ref.state  # a balancing controller from the full state
    return int(theta + 0.3 * theta_dot + 0.02 * x + 0.1 * x_dot > 0)


def play_reference(name: str, difficulty: str, seed: int, p_correct: float) -> Episode:
    """Play one popgym episode: the correct action with probability p_correct, else random."""
    ref = reference_env(name, difficulty)
    policy_rng = np.random.default_rng(seed + 1000)
    first_obs, _ = ref.reset(seed=seed)
    episode = Episode(first_obs=encode_obs(name, ref, first_obs), draws=_draws(name, ref, seed))
    shadow = _noise_stream(name, ref, seed, episode)
    done = False
    while not done:
        action = correct_action(name, ref)
        if action is None or policy_rng.random() >= p_correct:
            action = int(policy_rng.integers(ref.action_space.n))
        if shadow is not None:
            episode.step_noise.append(shadow.normal(0, ref.noise_sigma).astype(np.float32))
        if name in CARTPOLES:
            episode.physics.append(np.array(ref.state, np.float64))
            episode.has_terminated.append(ref.steps_beyond_terminated is not None)
        obs, reward, terminated, truncated, _ = ref.step(action)
        episode.actions.append(action)
        episode.obs.append(encode_obs(name, ref, obs))
        episode.rewards.append(reward)
        episode.terminated.append(terminated)
        episode.truncated.append(truncated)
        done = terminated or truncated
    return episode


def _draws(name: str, ref, seed: int) -> tuple:
    """The reset's random draws, read from popgym's env after its reset."""
    if name == "popgym_count_recall":
        return (ref.value_deck.idx.copy(), ref.query_deck.idx.copy())
    if name in CARD_GAMES:
        return (ref.deck.idx.copy(),)
    return (np.array(ref.state, np.float64),)


def _noise_stream(name: str, ref, seed: int, episode: Episode):
    """For the noisy cart-pole: a replica of its generator, advanced past the reset.

    popgym draws the physics (uniform, 4) then the reset noise (normal, 2) and one normal
    pair per step from `env.np_random`, seeded by gymnasium's `seeding.np_random(seed)`.
    The replica repeats those draws; the physics it redraws must equal `env.state`.
    """
    if name != "popgym_noisy_stateless_cartpole":
        return None
    shadow, _ = seeding.np_random(seed)
    physics = shadow.uniform(low=-0.05, high=0.05, size=(4,))
    np.testing.assert_array_equal(physics, episode.draws[0])
    episode.draws = (physics, shadow.normal(0, ref.noise_sigma).astype(np.float32))
    return shadow


def replay_in_marlax(name: str, difficulty: str, episode: Episode) -> dict[str, np.ndarray]:
    """The port's outputs on the reference's draws and actions, one jitted scan.

    Returns:
        first_obs f32[D] and, per step t < len(actions): obs f32[T, D], reward f32[T],
        terminated bool[T], truncated bool[T].
    """
    env = make(name, difficulty=difficulty)
    draws = tuple(jnp.asarray(draw) for draw in episode.draws)
    first_obs, state = env.reset_from(*draws)
    num_steps = len(episode.actions)
    # padded to max_steps so that every episode of an env reuses one compilation
    actions = np.zeros((env.max_steps,), np.int32)
    actions[:num_steps] = episode.actions
    noise = np.zeros((env.max_steps, 2), np.float32)
    if episode.step_noise:
        noise[:num_steps] = episode.step_noise
    outputs = _scan_steps(env, state, jnp.asarray(actions), jnp.asarray(noise))
    trimmed = {key: np.asarray(value)[:num_steps] for key, value in outputs.items()}
    return {"first_obs": np.asarray(first_obs)[0], **trimmed}


@jax.jit(static_argnums=0)
def _scan_steps(env, state, actions, noise):
    def _body(state, inputs):
        """Carries the env state; stacks one step's obs, reward, terminated, truncated."""
        action, step_noise = inputs
        if hasattr(env, "step_with_noise"):
            out = env.step_with_noise(state, action[None], step_noise)
        else:
            # the card games and the noiseless cart-pole draw nothing while stepping
            out = env.step(jax.random.key(0), state, action[None])
        obs, state, reward, _, info = out
        return state, {
            "obs": obs[0],
            "reward": reward[0],
            "terminated": info["terminated"],
            "truncated": info["truncated"],
        }

    return jax.lax.scan(_body, state, (actions, noise))[1]


def replay_each_step(name: str, difficulty: str, episode: Episode) -> dict[str, np.ndarray]:
    """Cart-poles, teacher-forced: each step t starts from popgym's own state before step t.

    Unlike `replay_in_marlax`, rounding errors cannot pile up over the episode (the pole is
    unstable, so a free-running float32 replay drifts from float64 popgym), so this checks
    the transition at every state of long episodes tightly.

    Returns:
        per step: physics f32[T, 4] after the step, obs f32[T, 2], reward f32[T],
        terminated bool[T], truncated bool[T].
    """
    env = make(name, difficulty=difficulty)
    num_steps = len(episode.actions)
    states = CartPoleState(
        physics=jnp.asarray(np.stack(episode.physics), jnp.float32),
        has_terminated=jnp.asarray(episode.has_terminated),
        step=jnp.arange(num_steps, dtype=jnp.int32),
    )
    noise = np.zeros((num_steps, 2), np.float32)
    if episode.step_noise:
        noise[:] = episode.step_noise
    outputs = _step_each(env, states, jnp.asarray(episode.actions, jnp.int32), jnp.asarray(noise))
    return {key: np.asarray(value) for key, value in outputs.items()}


@jax.jit(static_argnums=0)
def _step_each(env, states, actions, noise):
    def _one(state, action, step_noise):
        if hasattr(env, "step_with_noise"):
            obs, state, reward, _, info = env.step_with_noise(state, action[None], step_noise)
        else:
            obs, state, reward, _, info = env.step(jax.random.key(0), state, action[None])
        return {
            "physics": state.physics,
            "obs": obs[0],
            "reward": reward[0],
            "terminated": info["terminated"],
            "truncated": info["truncated"],
        }

    return jax.vmap(_one)(states, actions, noise)
