"""The VariBAD section (`varibad`) and the checks that need its env.

    {"algorithm": "varibad", "env": {"name": "navigation_2d", "num_envs": 16},
     "model": {"name": "mlp", "core": {"hidden_sizes": [128, 128]}},
     "ppo": {"total_env_steps": 1000000, "num_epochs": 2, "num_minibatches": 8},
     "varibad": {"episodes_per_trial": 2, "latent_dim": 5, "kl_weight": 1.0}}

VariBAD (Zintgraf et al. 2020): a GRU encoder turns the trajectory so far into a Gaussian belief
over a task latent; a decoder predicts the trial's rewards (and, optionally, transitions) from
a sample of that belief; the policy, trained by PPO, acts on [observation, belief mean, belief
log-variance]. Every update plays one whole trial (`episodes_per_trial` episodes of one task)
in each of the `envs.0.num_envs` envs, so `ppo.rollout_length` is not read: a rollout is the
trial's length. `model` builds the actor and critic (feed-forward: "mlp"); `ppo` gives the
policy's learning settings and `total_env_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marlax.config.checks import check_model
from marlax.config.task_family import check_one_task_family, check_plain_mlp
from marlax.config.validators import (
    boolean,
    check_fields,
    choice,
    integer,
    number,
    optional,
    spec,
)
from marlax.envs.base import Env
from marlax.errors import ConfigError
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

REWARD_LOSSES = ("mse", "bce")


def _layer_sizes(field: str, value: Any) -> tuple[int, ...]:
    """A list of positive layer widths (may be empty), stored as a tuple."""
    ok = isinstance(value, list | tuple) and all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 1 for size in value
    )
    if not ok:
        raise ConfigError(field, value, "a list of positive integers (layer widths), e.g. [64, 32]")
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class VariBADConfig:
    """VariBAD's belief model (encoder, decoders, ELBO) and its trials."""

    episodes_per_trial: int = spec(2, integer(1))
    """k >= 1 episodes of one task per trial; the encoder's memory spans the whole trial (the
    BAMDP horizon is k x the family's max_steps)."""
    latent_dim: int = spec(5, integer(1))
    """Size of the task latent (5 in the reference's point-robot config)."""
    kl_weight: float = spec(1.0, number(0.0))
    """Weight of the KL terms KL(q_t || q_{t-1}) of the ELBO (>= 0)."""
    vae_lr: float = spec(1e-3, number(0.0, open_low=True))
    """Adam step size of the encoder and decoders (> 0)."""
    vae_updates: int = spec(3, integer(1))
    """VAE gradient steps per update, each on the whole current rollout (>= 1)."""
    encoder_hidden_size: int = spec(128, integer(1))
    """GRU width of the encoder."""
    state_embedding_size: int = spec(32, integer(1))
    """Width of the encoder's observation embedding (also the decoders' state embedding)."""
    action_embedding_size: int = spec(16, integer(1))
    """Width of the encoder's previous-action embedding."""
    reward_embedding_size: int = spec(16, integer(1))
    """Width of the encoder's reward embedding."""
    decoder_layers: tuple[int, ...] = spec((64, 32), _layer_sizes)
    """Hidden widths of the reward (and state) decoder MLPs."""
    reward_loss: str = spec("mse", choice(REWARD_LOSSES))
    """Reward reconstruction: "mse" (continuous rewards, as the reference's "deterministic")
    or "bce" (Bernoulli rewards in {0, 1}: the decoder outputs a logit)."""
    decode_action: bool = spec(False, boolean())
    """Give the reward decoder the action too (needed where the reward depends on the action,
    e.g. bandit_k; off for navigation as in the reference)."""
    decode_state: bool = spec(False, boolean())
    """Also decode transitions s_{t+1} from (z, s_t, a_t) by squared error (off by default, as
    in the reference's navigation config)."""
    decode_elbos: int | None = spec(None, optional(integer(1), "every belief of the trial"))
    """ELBO terms per trajectory: the beliefs (prior included) each of which decodes the whole
    trial. None = all H + 1, as the reference; n draws n of them uniformly per trajectory and
    update and scales their sum by (H + 1) / n (an unbiased estimate of the full sum)."""

    def __post_init__(self) -> None:
        check_fields(self)


def check_varibad(config: TrainConfig, envs: list[Env]) -> None:
    """What VariBAD needs: one task family with vector observations, a feed-forward model for
    the policy's input, and an ELBO subsample no larger than a trial.

    Raises:
        ConfigError: on `envs`, `envs.0.name`, `model.name`, `model.graph`, `model.*` or
            `varibad.decode_elbos`.
    """
    check_one_task_family(config, envs, "varibad")
    shape = getattr(envs[0].observation_space, "shape", ())
    name = config.envs[0].name
    require(len(shape) == 1, "envs.0.name", name, "a task family with vector observations")
    check_plain_mlp(
        config, "varibad", "the belief is the memory; the recurrent policy route is rl2"
    )
    check_model(config, envs)
    horizon = config.varibad.episodes_per_trial * envs[0].max_steps
    elbos = config.varibad.decode_elbos
    require(
        elbos is None or elbos <= horizon + 1,
        "varibad.decode_elbos",
        elbos,
        f"at most H + 1 = {horizon + 1} (the beliefs of a trial), or null (all)",
    )
    steps = config.envs[0].num_envs * horizon
    require(
        config.ppo.total_env_steps >= steps,
        "ppo.total_env_steps",
        config.ppo.total_env_steps,
        f"at least {steps} = num_envs x trial length {horizon} (one update)",
    )
    samples = steps * envs[0].num_agents
    require(
        samples % config.ppo.num_minibatches == 0,
        "ppo.num_minibatches",
        config.ppo.num_minibatches,
        f"a divisor of the {samples} steps x agents of one update",
    )


__all__ = ["REWARD_LOSSES", "VariBADConfig", "check_varibad"]
