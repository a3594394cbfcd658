"""VariBAD's training run: the shared host loop around a `VariBADTrainer`.

folder = create_run(config)                        # config.algorithm == "varibad"
result = train_run(folder, config)                 # fresh, or resumed from the latest save
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.algorithms.varibad.update import VariBADState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

LEARNER_NAME = "varibad"

_DIVERGENCE_HINT = "lower ppo.learning_rate or varibad.vae_lr and resume, or start again"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[VariBADState]:
    """Train (or continue) the VariBAD run in `folder` to `ppo.total_env_steps` (whole updates).

    Metrics per update: `return` (mean trial return), `return/episode_i` (episode i of the
    trial), PPO's `loss/*`, and the ELBO's `vae/reward_reconstruction`, `vae/kl`.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    trainer = VariBADTrainer(config)
    return train_checkpointed(
        folder,
        config,
        trainer,
        name=LEARNER_NAME,
        healthy=_healthy,
        finite_prefixes=("loss/", "vae/"),
        divergence_hint=_DIVERGENCE_HINT,
        console=console,
    )


def _healthy(state: VariBADState) -> bool:
    """Every parameter of the policy and of the VAE is finite."""
    return all_finite((state.policy_params, state.vae_params))
