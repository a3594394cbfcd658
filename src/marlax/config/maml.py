"""The MAML section (`maml`) and the checks that need its env.

    {"algorithm": "maml", "env": {"name": "navigation_2d", "num_envs": 400},
     "model": {"name": "mlp", "encoder": {"hidden_sizes": []},
               "core": {"hidden_sizes": [100, 100], "activation": "relu"}},
     "maml": {"meta_batch_size": 20, "inner_steps": 1, "inner_lr": 0.1, "num_updates": 300}}

Model-agnostic meta-learning (Finn et al. 2017) with policy-gradient inner steps: every
update draws `meta_batch_size` tasks of the env's task family; on each, the policy takes
`inner_steps` REINFORCE steps of size `inner_lr` on K = `envs.0.num_envs / meta_batch_size`
fresh whole episodes, and the outer loss is the REINFORCE surrogate of the adapted policy on
K fresh episodes, differentiated through the inner steps and minimised by Adam.

The run's length is counted in outer updates (`num_updates`), not env steps: one update plays
num_envs x max_steps x (inner_steps + 1) env steps, so env steps would change with
`inner_steps` while the number of meta-gradient steps is what the paper's curves count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from marlax.config.checks import check_model
from marlax.config.task_family import check_one_task_family, check_plain_mlp
from marlax.config.validators import boolean, check_fields, choice, integer, number, spec
from marlax.envs.base import Env
from marlax.validate import require, require_int

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

BASELINES = ("linear", "none")
MAX_INNER_STEPS = 3


@dataclass(frozen=True, kw_only=True)
class MAMLConfig:
    """MAML with policy-gradient inner steps and an Adam outer step."""

    meta_batch_size: int = spec(20, integer(1))
    """M, tasks drawn per outer update (>= 1; must divide envs.0.num_envs)."""
    inner_steps: int = spec(1, integer(0))
    """Policy-gradient adaptation steps per task, 0..3. 0 trains a plain multi-task policy
    gradient learner (the paper's "pretrained" baseline)."""
    inner_lr: float = spec(0.1, number(0.0, open_low=True))
    """Step size alpha of the inner SGD steps (> 0; 0.1 in the paper for 2-D navigation)."""
    first_order: bool = spec(False, boolean())
    """First-order MAML: the inner gradients are constants of the outer differentiation
    (stop_gradient), so the meta-gradient is the outer gradient at the adapted parameters."""
    learning_rate: float = spec(1e-3, number(0.0, open_low=True))
    """Adam step size of the outer update (> 0; `optimizer` section for Adam's settings)."""
    max_grad_norm: float = spec(1.0, number(0.0, open_low=True))
    """Global-norm clip of the meta-gradient (> 0)."""
    gamma: float = spec(0.99, number(0.0, 1.0))
    """Discount of the returns-to-go, in [0, 1]."""
    num_updates: int = spec(300, integer(1))
    """Outer (meta) updates of the run (>= 1)."""
    baseline: str = spec("linear", choice(BASELINES))
    """"linear": rllab's LinearFeatureBaseline fitted per task (ridge least squares on
    obs, obs^2, t/100, (t/100)^2, (t/100)^3, 1); "none": advantages are the returns-to-go."""
    normalize_advantages: bool = spec(True, boolean())
    """Standardise each task's advantages over its batch (rllab's `center_adv`, on in the
    reference code)."""
    normalize_actions: bool = spec(True, boolean())
    """Continuous actions: the policy acts in [-1, 1] units, scaled to the env's action box
    (rllab's `normalize` wrapper, used by the reference), so `inner_lr` means what it means
    in the paper. No effect on discrete actions."""

    def __post_init__(self) -> None:
        check_fields(self)
        require_int("inner_steps", self.inner_steps, 0, MAX_INNER_STEPS)


def trajectories_per_task(config: TrainConfig) -> int:
    """K = envs.0.num_envs / maml.meta_batch_size (checked to divide by `check_maml`)."""
    return config.envs[0].num_envs // config.maml.meta_batch_size


def check_maml(config: TrainConfig, envs: list[Env]) -> None:
    """What MAML needs: one env that is a task family, a feed-forward model for its spaces,
    and a meta-batch that divides the env batch.

    Raises:
        ConfigError: on `envs`, `envs.0.name`, `model.name`, `model.graph`, `model.*` or
            `maml.meta_batch_size`.
    """
    check_one_task_family(config, envs, "maml")
    check_plain_mlp(config, "maml", "it adapts a feed-forward policy; the recurrent route is rl2")
    check_model(config, envs)
    num_envs, meta_batch = config.envs[0].num_envs, config.maml.meta_batch_size
    require(
        num_envs % meta_batch == 0,
        "maml.meta_batch_size",
        meta_batch,
        f"a divisor of envs.0.num_envs = {num_envs} (K = num_envs / meta_batch_size "
        "trajectories per task)",
    )


__all__ = ["BASELINES", "MAX_INNER_STEPS", "MAMLConfig", "check_maml", "trajectories_per_task"]
