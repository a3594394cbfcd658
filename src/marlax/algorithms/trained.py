"""Any learner's trained run as a `MemoryPolicy`, in its env or a variant of it.

    run_policy = load_run_policy(Path("runs"), "bold-otter-07", env_overrides={"max_steps": 50})
    run_policy.env, run_policy.policy        # play it with any MemoryPolicy runner
    every_seed = load_run_policies(Path("runs"), "bold-otter-07", seed_indices=None)

The run's config names its learner (`config.algorithm`, "ppo" for runs from before the field
existed); `POLICY_LOADERS` maps that name to the function that restores a checkpoint and
builds the policies. A loader gets the run folder, its config and a `PolicyRequest`, and
returns one `RunPolicy` per requested seed; `variant_env` and `seed_indices_of` are the
learner-independent parts a new loader reuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.common.policy import MemoryPolicy
from marlax.algorithms.maml.policy import load_maml_policies
from marlax.algorithms.off_policy.policy import load_off_policy_policies
from marlax.algorithms.pbt.policy import load_pbt_policies
from marlax.algorithms.ppo.policy import select_task, trained_policy
from marlax.algorithms.ppo.restore import TrainedRun
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.q_learning.policy import q_policy, restore_q_run
from marlax.algorithms.rl2.policy import load_rl2_policies
from marlax.algorithms.sebulba.policy import load_sebulba_policies
from marlax.algorithms.varibad.policy import load_varibad_policies
from marlax.config import TrainConfig, load_from_dict
from marlax.config.actor_critic import OFF_POLICY_ALGORITHMS
from marlax.config.q_learning import Q_ALGORITHMS
from marlax.config.validators import mapping
from marlax.envs.base import Env
from marlax.envs.registry import make
from marlax.envs.wrappers.mean_field import MeanFieldEnv
from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder
from marlax.validate import require, require_bool, require_int


@dataclass(frozen=True)
class RunPolicy:
    """One seed of a trained run, ready to play.

    Attributes:
        folder: the run folder.
        algorithm: the learner's name (a key of `POLICY_LOADERS`).
        env: the env it plays (the training env of its task, or the requested variant).
        policy: the trained policy, acting in `env`.
        task: the task's label (`--selector` picks it).
        env_name: the env's registered name (keyboard maps and titles go by it).
        update: the checkpoint step (updates done).
        env_steps: env steps per seed at that checkpoint.
        seed_index: which of the run's seeds this is.
        num_seeds: how many seeds the run trained.
    """

    folder: RunFolder
    algorithm: str
    env: Env
    policy: MemoryPolicy
    task: str
    env_name: str
    update: int
    env_steps: int
    seed_index: int = 0
    num_seeds: int = 1


@dataclass(frozen=True)
class PolicyRequest:
    """What a loader is asked for (see `load_run_policies`)."""

    selector: str | None = None
    seed_indices: tuple[int, ...] | None = (0,)  # None = every seed
    sample: bool = False
    checkpoint: int | None = None  # None = the latest
    env_overrides: Mapping[str, Any] = field(default_factory=dict)


PolicyLoader = Callable[[RunFolder, TrainConfig, PolicyRequest], tuple[RunPolicy, ...]]
"""`loader(folder, config, request) -> one RunPolicy per requested seed`."""


def load_run_policies(
    runs_dir: Path,
    name: str,
    *,
    selector: str | None = None,
    seed_indices: Sequence[int] | None = (0,),
    sample: bool = False,
    checkpoint: int | None = None,
    env_overrides: Mapping[str, Any] | None = None,
) -> tuple[RunPolicy, ...]:
    """The policies of seeds `seed_indices` (None = all) of run `name`, from one checkpoint.

    Args:
        selector: the task, by label or index (None = the first).
        sample: sample actions instead of playing the mode.
        checkpoint: the step to restore (None = the latest).
        env_overrides: env settings changed from training (`make(name, **{**params, **these})`);
            the variant must keep the trained observation and action shapes.

    Raises:
        ConfigError: no such run, checkpoint, task or seed; an unknown learner or env setting;
            a variant whose shapes differ from training.
    """
    folder = RunFolder.open(Path(runs_dir), name)
    config = load_from_dict(folder.read_config())
    algorithm = getattr(config, "algorithm", "ppo")
    loader = POLICY_LOADERS.get(algorithm)
    if loader is None:
        known = ", ".join(sorted(POLICY_LOADERS))
        raise ConfigError("algorithm", algorithm, f"a learner with a policy loader: {known}")
    request = PolicyRequest(
        selector=selector,
        seed_indices=None if seed_indices is None else tuple(seed_indices),
        sample=require_bool("sample", sample),
        checkpoint=None if checkpoint is None else require_int("checkpoint", checkpoint, 0),
        env_overrides=mapping()("env_set", dict(env_overrides or {})),
    )
    return loader(folder, config, request)


def load_run_policy(
    runs_dir: Path,
    name: str,
    *,
    selector: str | None = None,
    seed_index: int = 0,
    sample: bool = False,
    checkpoint: int | None = None,
    env_overrides: Mapping[str, Any] | None = None,
) -> RunPolicy:
    """Seed `seed_index` of run `name` (see `load_run_policies`)."""
    return load_run_policies(
        runs_dir,
        name,
        selector=selector,
        seed_indices=(seed_index,),
        sample=sample,
        checkpoint=checkpoint,
        env_overrides=env_overrides,
    )[0]


def parse_member(spec: str, *, field: str = "ensemble") -> tuple[str, int]:
    """A member of an ensemble or merge: 'run-a' -> ('run-a', 0); 'run-a:2' -> ('run-a', 2).

    Raises:
        ConfigError: `field`, for anything but RUN or RUN:SEED.
    """
    name, colon, seed = spec.partition(":")
    require(bool(name) and (not colon or seed.isdigit()), field, spec, "RUN or RUN:SEED")
    return name, int(seed) if colon else 0


def seed_indices_of(request: PolicyRequest, num_seeds: int) -> tuple[int, ...]:
    """The requested seeds, each checked to lie in [0, num_seeds) (ConfigError)."""
    if request.seed_indices is None:
        return tuple(range(num_seeds))
    return tuple(
        require_int("seed_index", index, 0, num_seeds - 1) for index in request.seed_indices
    )


def variant_env(
    env_name: str, params: Mapping[str, Any], overrides: Mapping[str, Any], trained_env: Env
) -> Env:
    """The env `make(env_name, **{**params, **overrides})`, with the trained env's shapes.

    Returns `trained_env` itself when there are no overrides.

    Raises:
        ConfigError: an unknown or invalid setting (field `env_set.<key>`), or a variant
            whose agents, observations or actions differ in shape from training (field
            `env_set.<key>` of the setting that changes them).
    """
    if not overrides:
        return trained_env

    def _variant(settings: Mapping[str, Any]) -> Env:
        env = _make_variant(env_name, settings)
        if isinstance(trained_env, MeanFieldEnv):  # keep the policy's mean-field inputs
            env = dataclasses.replace(trained_env, env=env)
        return env

    variant = _variant({**params, **overrides})
    difference = _shape_difference(trained_env, variant)
    if difference:
        culprits = [
            key
            for key, value in overrides.items()
            if _shape_difference(trained_env, _variant({**params, key: value}))
        ] or list(overrides)
        values = [overrides[key] for key in culprits]
        raise ConfigError(
            "env_set." + ",".join(culprits),
            values[0] if len(values) == 1 else values,
            f"settings that keep the shapes the policy was trained on ({difference})",
        )
    return variant


def _make_variant(env_name: str, params: Mapping[str, Any]) -> Env:
    try:
        return make(env_name, **params)
    except ConfigError as error:
        # the registry names unknown settings "<env>.<key>"; the envs name theirs "<key>"
        key = error.field.removeprefix(f"{env_name}.")
        raise ConfigError(f"env_set.{key}", error.value, error.expected) from None
    except (TypeError, ValueError) as error:
        raise ConfigError(
            "env_set", dict(params), f"settings {env_name} accepts ({error})"
        ) from None


def _shape_difference(trained: Env, variant: Env) -> str:
    """'' when both envs have the same agents and spaces, else what differs."""
    differences = []
    if trained.num_agents != variant.num_agents:
        differences.append(f"agents {trained.num_agents} -> {variant.num_agents}")
    for what in ("observation", "action"):
        before = _describe_space(getattr(trained, f"{what}_space"))
        after = _describe_space(getattr(variant, f"{what}_space"))
        if before != after:
            differences.append(f"{what}s {before} -> {after}")
    return "; ".join(differences)


def _describe_space(space: Any) -> str:
    """What of a space fixes the network's shapes: 'Discrete(5)', 'Box float32[18]'."""
    if hasattr(space, "n"):
        return f"{type(space).__name__}({space.n})"
    shape = ", ".join(str(size) for size in space.shape)
    return f"{type(space).__name__} {space.dtype}[{shape}]"


# ---- PPO ----------------------------------------------------------------------------
def restore_ppo_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedRun:
    """A PPO run's checkpoint `step` (None = the latest), like `ppo.restore.load_trained`.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    trainer = Trainer(config, devices=jax.local_devices()[:1])
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    return TrainedRun(folder, config, trainer, state, step, env_steps)


def load_ppo_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of PPO runs: the actor of each requested seed as a `TrainedPolicy`."""
    return ppo_run_policies(restore_ppo_run(folder, config, request.checkpoint), request, "ppo")


def ppo_run_policies(
    trained: TrainedRun, request: PolicyRequest, algorithm: str
) -> tuple[RunPolicy, ...]:
    """The requested seeds of a restored PPO-family run (PPO, PBT) as `RunPolicy`s, each a
    `TrainedPolicy` of the requested task on the requested env variant."""
    folder, config = trained.folder, trained.config
    labels = trained.trainer.task_labels
    task_index = select_task(labels, request.selector)
    layout = trained.trainer.layout
    task = layout.tasks[task_index]
    env = variant_env(task.name, config.envs[task_index].params, request.env_overrides, task.env)
    # the policy masks actions and reads obs through the layout: give it the variant env
    tasks = list(layout.tasks)
    tasks[task_index] = dataclasses.replace(task, env=env)
    variant_layout = TaskLayout(tuple(tasks))
    num_seeds = int(jax.tree.leaves(trained.state.params)[0].shape[0])
    return tuple(
        RunPolicy(
            folder=folder,
            algorithm=algorithm,
            env=env,
            policy=trained_policy(trained, task_index, seed_index, sample=request.sample).replace(
                layout=variant_layout
            ),
            task=labels[task_index],
            env_name=task.name,
            update=trained.update,
            env_steps=trained.env_steps,
            seed_index=seed_index,
            num_seeds=num_seeds,
        )
        for seed_index in seed_indices_of(request, num_seeds)
    )


# ---- IQL / VDN / QMIX ------------------------------------------------------------------
def load_q_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of the value-based runs: each requested seed's greedy `QPolicy`
    (epsilon-greedy at the run's `eps_finish` when `request.sample`)."""
    trained = restore_q_run(folder, config, request.checkpoint)
    select_task((config.envs[0].name,), request.selector)
    setup = trained.trainer.setup
    env = variant_env(config.envs[0].name, config.envs[0].params, request.env_overrides, setup.env)
    epsilon = config.q_learning.eps_finish if request.sample else 0.0
    num_seeds = int(jax.tree.leaves(trained.state.params)[0].shape[0])
    return tuple(
        RunPolicy(
            folder=folder,
            algorithm=config.algorithm,
            env=env,
            policy=q_policy(trained, seed_index, epsilon=epsilon).replace(env=env),
            task=config.envs[0].name,
            env_name=config.envs[0].name,
            update=trained.update,
            env_steps=trained.env_steps,
            seed_index=seed_index,
            num_seeds=num_seeds,
        )
        for seed_index in seed_indices_of(request, num_seeds)
    )


def load_es_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of ES runs (`marlax.algorithms.es.policy`), imported only when asked:
    evosax is an optional extra."""
    from marlax.algorithms.learners import require_evosax

    require_evosax()
    from marlax.algorithms.es.policy import load_es_policies as load

    return load(folder, config, request)


POLICY_LOADERS: dict[str, PolicyLoader] = {
    "ppo": load_ppo_policies,
    **dict.fromkeys(Q_ALGORITHMS, load_q_policies),
    **dict.fromkeys(OFF_POLICY_ALGORITHMS, load_off_policy_policies),
    "es": load_es_policies,
    "pbt": load_pbt_policies,  # seed index k = the k-th best member (pbt.policy)
    "maml": load_maml_policies,  # the meta-learned policy before adaptation
    "rl2": load_rl2_policies,  # PPO's policies on the trial env (rl2.policy)
    "varibad": load_varibad_policies,  # actor + belief encoder on the trial env
    "sebulba": load_sebulba_policies,  # PPO's policies of a round-trip run (sebulba.policy)
}
"""Learner name (`config.algorithm`) -> the loader of its trained policies."""
