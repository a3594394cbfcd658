"""VariBAD: the belief's KL, the ELBO, belief resets, the stop-gradient, jit and determinism."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from marlax.algorithms.varibad.belief import kl_diagonal_gaussians, sequential_kl
from marlax.algorithms.varibad.policy import VariBADPolicy
from marlax.algorithms.varibad.rollout import play_trials
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.algorithms.varibad.update import learn_vae, ppo_loss, samples_of
from marlax.config.schema import ModelConfig, PPOConfig, TaskConfig, TrainConfig
from marlax.config.varibad import VariBADConfig
from marlax.errors import ConfigError

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("algorithms.varibad.test_varibad")

INNER_STEPS = 3
EPISODES = 2


def _config(**varibad: object) -> TrainConfig:
    """navigation_2d with 3-step episodes, trials of 2, two envs: tiny everything."""
    settings = {"episodes_per_trial": EPISODES, "encoder_hidden_size": 8, "latent_dim": 2}
    return TrainConfig(
        envs=(TaskConfig(name="navigation_2d", num_envs=2, params={"max_steps": INNER_STEPS}),),
        algorithm="varibad",
        model=ModelConfig(core={"hidden_sizes": (8,)}),
        ppo=PPOConfig(total_env_steps=48, num_epochs=1, num_minibatches=2),
        varibad=VariBADConfig(**{**settings, **varibad}),
    )


@pytest.fixture(scope="module")
def trainer() -> VariBADTrainer:
    return VariBADTrainer(_config(decoder_layers=(8,)))


# ---- the belief's KL -----------------------------------------------------------------
def test_kl_matches_a_hand_value():
    """KL(N(0.5, 4) || N(0, 2)) = 0.5 (log 2 - log 4 - 1 + 2 + 0.125), and KL(N(1, 1) ||
    N(0, 1)) = 0.5; summed over the latent's two entries."""
    mean = jnp.array([0.5, 1.0])
    logvar = jnp.array([math.log(4.0), 0.0])
    prior_mean = jnp.zeros(2)
    prior_logvar = jnp.array([math.log(2.0), 0.0])
    expected = 0.5 * (math.log(2.0) - math.log(4.0) - 1.0 + 2.0 + 0.125) + 0.5
    got = kl_diagonal_gaussians(mean, logvar, prior_mean, prior_logvar)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_sequential_kl_starts_at_the_standard_prior_then_chains():
    """Term 0 is KL(q_0 || N(0, I)); term t is KL(q_t || q_{t-1}); equal beliefs give 0."""
    mean_t = jnp.array([[1.0], [1.0], [3.0]])
    logvar_t = jnp.zeros((3, 1))
    np.testing.assert_allclose(sequential_kl(mean_t, logvar_t), [0.5, 0.0, 2.0], rtol=1e-6)


# ---- the ELBO ---------------------------------------------------------------------------
def test_vae_steps_lower_the_reward_reconstruction(trainer):
    """Adam steps on one rollout's ELBO lower its reward reconstruction error (well below
    the first value: the decoder fits the trials' rewards)."""
    state = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(0)))
    trials = play_trials(
        jax.random.key(1), trainer.networks, trainer.env, state.policy_params, state.vae_params
    )
    settings = trainer.config.varibad
    _, vae_optimizer = trainer.optimizers

    @jax.jit
    def _steps(params, opt_state, key):
        return learn_vae(key, params, opt_state, trials, trainer.networks, settings, vae_optimizer)

    params, opt_state = state.vae_params, state.vae_opt_state
    first = None
    for index in range(40):
        params, opt_state, metrics = _steps(params, opt_state, jax.random.key(index))
        first = metrics["vae/reward_reconstruction"] if first is None else first
    last = metrics["vae/reward_reconstruction"]
    assert float(last) < 0.5 * float(first), (first, last)


# ---- beliefs across a trial -----------------------------------------------------------
def test_belief_resets_at_trials_not_at_inner_episodes(trainer):
    """Playing one trial: the encoder state is the prior only where `reset` is given; after
    the first inner episode ends (obs flag = 1) it keeps evolving from the trial's history,
    and equals a fresh encoder fed the same observations without any reset."""
    state = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(0)))
    env = trainer.trial_env
    policy = VariBADPolicy(
        state.policy_params["actor"], state.vae_params, trainer.networks, env.num_agents
    )
    obs, env_state = env.reset(jax.random.key(2))
    memory = policy.initial_memory()
    memories, boundary_seen = [], False
    for step in range(env.max_steps):
        actions, memory = policy.act(jax.random.key(step), obs, env_state, memory, step == 0)
        memories.append(memory)
        boundary_seen = boundary_seen or bool(obs[0, -1] == 1.0)
        obs, env_state, _, _, _ = env.step(jax.random.key(100 + step), env_state, actions)
    assert boundary_seen
    after_boundary = memories[INNER_STEPS]  # acted on the first obs of inner episode 2
    assert float(jnp.abs(after_boundary).max()) > 0.0
    # a reset at any point returns the prior (zero GRU state)
    _, cleared = policy.act(jax.random.key(0), obs, env_state, memory, jnp.asarray(True))
    np.testing.assert_array_equal(cleared, jnp.zeros_like(cleared))
    assert float(jnp.abs(memory).max()) > 0.0


# ---- the stop-gradient --------------------------------------------------------------------
@pytest.mark.slow  # ~22 s (CI time)
def test_policy_loss_does_not_reach_the_encoder(trainer):
    """d(PPO loss on a fresh rollout) / d(encoder and decoder params) is exactly 0, while the
    policy's own gradient is not."""
    state = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(0)))
    networks, ppo = trainer.networks, trainer.config.ppo

    def _loss(policy_params, vae_params):
        trials = play_trials(jax.random.key(3), networks, trainer.env, policy_params, vae_params)
        return ppo_loss(policy_params, networks, ppo, samples_of(trials, ppo))[0]

    policy_grads, vae_grads = jax.grad(_loss, argnums=(0, 1))(state.policy_params, state.vae_params)
    for leaf in jax.tree.leaves(vae_grads):
        np.testing.assert_array_equal(leaf, jnp.zeros_like(leaf))
    assert max(float(jnp.abs(leaf).max()) for leaf in jax.tree.leaves(policy_grads)) > 0.0


# ---- transforms ---------------------------------------------------------------------------
@pytest.mark.slow  # CI time: a compile-heavy invariant, run in the full tier
def test_jit_equals_no_jit_and_same_key_same_result(trainer):
    """One update jitted equals it eagerly (to float tolerance); two jitted runs from the
    same key are bitwise equal; `return` is the sum of the per-episode returns."""
    state = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(0)))
    eager, eager_metrics = trainer.update_one(state)
    jitted_update = jax.jit(trainer.update_one)
    jitted, jitted_metrics = jitted_update(state)
    again, _ = jitted_update(state)
    for left, right in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted), strict=True):
        if jnp.issubdtype(left.dtype, jax.dtypes.prng_key):
            continue
        np.testing.assert_allclose(left, right, rtol=1e-4, atol=1e-5)
    for name in eager_metrics:
        np.testing.assert_allclose(eager_metrics[name], jitted_metrics[name], rtol=1e-4, atol=1e-5)
    for left, right in zip(jax.tree.leaves(jitted), jax.tree.leaves(again), strict=True):
        if not jnp.issubdtype(left.dtype, jax.dtypes.prng_key):
            np.testing.assert_array_equal(left, right)
    episodes = sum(jitted_metrics[f"return/episode_{index + 1}"] for index in range(EPISODES))
    np.testing.assert_allclose(jitted_metrics["return"], episodes, rtol=1e-5)


# ---- config errors --------------------------------------------------------------------------
def test_config_errors_name_the_field():
    """A plain env, a recurrent model, too many ELBO terms, RL²'s trial field: ConfigError."""
    base = _config()
    with pytest.raises(ConfigError, match="envs.0.name"):
        TrainConfig(
            envs=(TaskConfig(name="simple_spread", num_envs=2),),
            algorithm="varibad",
            ppo=base.ppo,
            varibad=base.varibad,
        )
    with pytest.raises(ConfigError, match="model.name"):
        TrainConfig(
            envs=base.envs, algorithm="varibad", model=ModelConfig(name="gru"), ppo=base.ppo
        )
    with pytest.raises(ConfigError, match="varibad.decode_elbos"):
        _config(decode_elbos=EPISODES * INNER_STEPS + 2)
    with pytest.raises(ConfigError, match="decoder_layers"):
        VariBADConfig(decoder_layers=(8, 0))
    with pytest.raises(ConfigError, match="reward_loss"):
        VariBADConfig(reward_loss="l1")


def test_train_cli_refuses_a_plain_env_with_a_config_error(tmp_path):
    """`marlax train` on varibad + simple_spread raises one ConfigError naming envs.0.name (the
    console script's `main` turns it into one line and exit 2) before any run folder exists."""
    from marlax.cli import train as train_cli

    app = typer.Typer()
    train_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `train` a subcommand
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"algorithm": "varibad", "env": {"name": "simple_spread"}}))
    runs_dir = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["train", "--config", str(config), "--runs-dir", str(runs_dir)]
    )
    assert isinstance(result.exception, ConfigError), result.output
    assert result.exception.field == "envs.0.name"
    assert "\n" not in str(result.exception)
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
