"""The config checks shared by the learners that meta-learn on one task family (MAML, VariBAD):
one env that is a task family, and a plain feed-forward model.

    check_one_task_family(config, envs, "maml")    # ConfigError on `envs` or `envs.0.name`
    check_plain_mlp(config, "maml", "it adapts a feed-forward policy; ...")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marlax.envs.base import Env
from marlax.envs.meta.family import is_task_family
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig


def check_one_task_family(config: TrainConfig, envs: list[Env], algorithm: str) -> None:
    """`algorithm` trains on exactly one env, and it is a task family (`sample_task` and
    `reset_to_task`).

    Raises:
        ConfigError: on `envs` (not one env) or `envs.0.name` (not a task family).
    """
    names = [task.name for task in config.envs]
    require(len(envs) == 1, "envs", names, f"one task family for {algorithm}")
    require(
        is_task_family(envs[0]),
        "envs.0.name",
        names[0],
        f"a task family for {algorithm} (an env with sample_task/reset_to_task, "
        "e.g. navigation_2d)",
    )


def check_plain_mlp(config: TrainConfig, algorithm: str, why: str) -> None:
    """`algorithm` builds a plain feed-forward model: model.name "mlp" (`why` says why) and no
    graph.

    Raises:
        ConfigError: on `model.name` or `model.graph`.
    """
    require(
        config.model.name == "mlp",
        "model.name",
        config.model.name,
        f'"mlp" for {algorithm} ({why})',
    )
    require(
        config.model.graph is None,
        "model.graph",
        config.model.graph,
        f"null: {algorithm} builds a plain model (model.name)",
    )
