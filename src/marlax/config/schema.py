"""The typed training config: one frozen dataclass per concern.

    TrainConfig(envs=(TaskConfig(name="simple_spread"),), model=ModelConfig(),
                ppo=PPOConfig(), run=RunConfig())

Every field is checked at construction (type, range; `ConfigError` with the field's
name); a section's fields are named relative to it (`learning_rate`), and `load.py`
prefixes the section (`ppo.learning_rate`, `envs.0.num_envs`). `TrainConfig` also runs
the cross-field checks of `checks.py` (model settings, minibatch split, multi-task
observation kinds, devices), so a constructed `TrainConfig` is always trainable.
Derived quantities are properties and are never written back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from marlax.config import checks
from marlax.config.actor_critic import OFF_POLICY_ALGORITHMS, OffPolicyConfig
from marlax.config.evolution_strategies import ESConfig, check_es
from marlax.config.maml import MAMLConfig, check_maml
from marlax.config.population import PBTConfig, check_population
from marlax.config.q_learning import Q_ALGORITHMS, QLearningConfig
from marlax.config.sebulba import SebulbaConfig, check_sebulba
from marlax.config.trials import check_trials
from marlax.config.validators import (
    REQUIRED,
    boolean,
    check_fields,
    check_setting_names,
    choice,
    env_name,
    instance_of,
    integer,
    interval,
    mapping,
    number,
    optional,
    spec,
    string,
)
from marlax.config.varibad import VariBADConfig, check_varibad
from marlax.envs.base import Env
from marlax.envs.registry import is_env_name, list_envs, make
from marlax.envs.wrappers.mean_field import from_settings as mean_field_env
from marlax.envs.wrappers.trial import TrialEnv
from marlax.errors import ConfigError
from marlax.models.coordinated import make_coordination
from marlax.models.registry import CORES, list_models
from marlax.validate import require

CRITICS = ("independent", "centralised", "shared")
VALUE_HEADS = ("mse", "hl_gauss")
OPTIMIZERS = ("adam", "radam", "muon")
DTYPES = ("float32", "bfloat16")
ALGORITHMS = (
    "ppo",
    *Q_ALGORITHMS,
    *OFF_POLICY_ALGORITHMS,
    "es",
    "pbt",
    "maml",
    "rl2",
    "varibad",
    "sebulba",
)


TASK_FAMILY_ALGORITHMS = ("maml", "rl2", "varibad")
"""Learners that read a task family (sample_task / reset_to_task), not a wrapped env."""


@dataclass(frozen=True, kw_only=True)
class TaskConfig:
    """One environment to train on and how many copies of it run in parallel."""

    name: str = spec(REQUIRED, env_name(list_envs, is_env_name))
    """A registered environment (`marlax.envs.registry.list_envs()`), or "jaxmarl:<Env>" for
    a JaxMARL env through `from_jaxmarl` (e.g. "jaxmarl:HeuristicEnemySMAX" with
    `params: {"scenario": "3m"}`), or "gymnax:<Env>" for a single-agent gymnax env through
    `from_gymnax` (e.g. "gymnax:MemoryChain-bsuite" with `params: {"memory_length": 5}`)."""
    num_envs: int = spec(64, integer(1))
    """Parallel copies of this environment B_i (>= 1)."""
    params: dict[str, Any] = spec({}, mapping())
    """Environment settings, passed as `make(name, **params)`; JSON lists become tuples."""
    num_resets: int | None = spec(None, optional(integer(1), "reset every env every step"))
    """Reset pool of `VectorEnv` (1..num_envs): at most this many resets are computed on a
    step where no more envs finish (all of them when more do); exact either way. None =
    reset every env every step."""
    episodes_per_trial: int | None = spec(None, optional(integer(1), "plain episodes"))
    """RL² trials (algorithm "rl2"): every episode the learner sees is k >= 1 episodes of one
    task of a task family, memory kept between them (`marlax.envs.wrappers.trial.TrialEnv`);
    None = plain episodes."""

    mean_field: dict[str, Any] | None = spec(None, optional(mapping(), "no mean action"))
    """Join each agent's neighbours' mean previous action to its observation
    (`marlax.envs.wrappers.mean_field`); normally set once for every task through
    `model.mean_field`, which overrides it. None = plain observations."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.num_resets is not None:
            require(
                self.num_resets <= self.num_envs,
                "num_resets",
                self.num_resets,
                f"at most num_envs = {self.num_envs}, or null (exact resets)",
            )
        self.make_env()

    def make_env(self) -> Env:
        """The environment `make(name, **params)`, inside `TrialEnv(env, episodes_per_trial)`
        when that is set: the one place a run's env is built from its config (training,
        checks, checkpoints, `marlax enjoy` and `marlax eval` all see the same env)."""
        env = self._make_registered_env()
        if self.mean_field is not None:
            env = mean_field_env(env, self.mean_field)
        if self.episodes_per_trial is None:
            return env
        try:
            return TrialEnv(env, self.episodes_per_trial)
        except ConfigError as error:
            expected = f"{error.expected} for RL² trials (episodes_per_trial set)"
            raise ConfigError("name", self.name, expected) from None

    def _make_registered_env(self) -> Env:
        """`make(name, **params)`; a rejected setting names `params.<key>`."""
        try:
            return make(self.name, **self.params)
        except ConfigError as error:
            if error.field == "name":  # an adapter (jaxmarl:, gymnax:) rejected the env name
                raise ConfigError("name", self.name, error.expected) from None
            # the registry names unknown settings "<env>.<key>"; the envs name theirs "<key>"
            field = error.field.removeprefix(f"{self.name}.")
            raise ConfigError(f"params.{field}", error.value, error.expected) from None
        except (TypeError, ValueError) as error:
            raise ConfigError(
                "params", self.params, f"settings {self.name} accepts ({error})"
            ) from error


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The policy/value network (`marlax.models.registry.make_model_for_spaces`)."""

    name: str = spec("mlp", choice(list_models))
    """Memory core: one of `marlax.models.registry.list_models()`; all but "mlp" are recurrent."""
    encoder: dict[str, Any] = spec({}, mapping())
    """Encoder settings (`encoder_settings`); the encoder kind follows the observation space."""
    core: dict[str, Any] = spec({}, mapping())
    """Core settings, e.g. {"hidden_size": 128} for "gru"."""
    log_std_init: float = spec(0.0, number())
    """Initial log standard deviation of the Gaussian policy (continuous actions only)."""
    dtype: str = spec("float32", choice(DTYPES))
    """Compute dtype of the networks: "float32", or "bfloat16" (matmuls and activations in
    bf16; parameters, optimiser state, carries stored between steps and the losses stay f32)."""
    graph: str | dict[str, Any] | None = spec(
        None,
        optional(
            lambda field, value: (
                string()(field, value) if isinstance(value, str) else mapping()(field, value)
            ),
            "encoder -> core -> head",
        ),
    )
    """A model graph instead of encoder -> core -> head (`marlax.models.graph`): a preset name
    ("perception_conception_action") or {"nodes": {name: {"module": kind, ...}}, "edges":
    [[from, to], ...]}; `name`, `encoder` and `core` then stay unset. None = the plain model."""
    next_obs_head: bool = spec(False, boolean())
    """Give the actor a self-supervised head that predicts the next observation from the
    memory's output and the action (`marlax.models.next_obs`), trained with
    `ppo.next_obs_coef` x its squared error; `marlax adapt` then adapts the head and the
    trunk's normalisation layers at test time. Vector observations only; the trunk needs a
    normalisation layer (`encoder.layer_norm: true`, or a transformer, ssm or s5 core)."""
    coordination: dict[str, Any] | None = spec(
        None, optional(mapping(), "agents that never see each other")
    )
    """Agents of a team that coordinate inside the policy (`marlax.models.coordinated`): after
    the core, {"kind": "consensus", "features", "sigma", "max_iters"} gives each agent the
    robust consensus of its team's embeddings (with "neighbours": k and "radius": r, of its
    own and its k nearest live team-mates' only: envs with agent positions); {"kind":
    "assignment", "embedding_dim", "temperature", "num_iterations", "distance_weight"} softly
    assigns agents to the env's tasks (`env.tasks(state)`) by Sinkhorn and gives each its
    assigned task's embedding (distance_weight w > 0 adds -w |agent - task|^2 to the utility,
    a geometric prior; "relative": true also gives each agent where its assigned task lies
    from it, both from `env.task_offsets`);
    {"kind": "pipeline", "complexity_dim", "embedding_dim", "consensus_sigma", "temperature",
    "num_iterations", "consensus_iters", "use_tasks"} runs the whole
    `TensorConsensusPipeline`. PPO then learns on whole teams (`ppo.num_minibatches` divides
    the number of teams). None = every agent on its own (the default)."""

    mean_field: dict[str, Any] | None = spec(None, optional(mapping(), "no mean action"))
    """Mean-field inputs (Yang et al. 2018): each agent's observation, and so its policy's and
    critic's input, gains the mean one-hot previous action of its live team-mates:
    {} = the whole team (the reference's battle setting), {"radius": r} = those within r,
    {"radius": r, "k": k} = the k nearest within r; "cell_capacity" sizes the neighbour
    grid (`marlax.envs.wrappers.mean_field.MeanFieldEnv`). Applied to every task's env, so
    `enjoy`, `eval` and `serve` see the same inputs. None = no mean action, except for
    algorithm "mfq", which always reads one: there None (unset or null) means {}."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_setting_names("core", self.core, checks.module_settings(CORES[self.name]))
        if self.coordination is not None:
            make_coordination(self.coordination)  # checks the kind and its settings


@dataclass(frozen=True, kw_only=True)
class PPOConfig:
    """Proximal policy optimisation (clipped surrogate, GAE)."""

    total_env_steps: int = spec(1_000_000, integer(1))
    """Environment steps to train for, summed over all envs (>= 1; agents not counted)."""
    rollout_length: int = spec(128, integer(1))
    """T, steps per env per update (>= 1)."""
    num_epochs: int = spec(4, integer(1))
    """Passes over each rollout batch (>= 1)."""
    num_minibatches: int = spec(4, integer(1))
    """Equal parts each epoch splits the batch into (>= 1; must divide the batch)."""
    gamma: float = spec(0.99, number(0.0, 1.0))
    """Discount per step, in [0, 1]."""
    gae_lambda: float = spec(0.95, number(0.0, 1.0))
    """GAE lambda, in [0, 1]."""
    clip_eps: float = spec(0.2, number(0.0, 1.0, open_low=True, open_high=True))
    """Ratio clip of the surrogate loss, in (0, 1)."""
    value_clip_eps: float | None = spec(
        0.2, optional(number(0.0, open_low=True), "no value clipping")
    )
    """Clip of the value update around the old value (> 0); None = no value clipping."""
    entropy_coef: float = spec(0.01, number(0.0))
    """Weight of the entropy bonus (>= 0)."""
    value_coef: float = spec(0.5, number(0.0))
    """Weight of the value loss (>= 0)."""
    max_grad_norm: float = spec(0.5, number(0.0, open_low=True))
    """Global gradient-norm clip (> 0)."""
    learning_rate: float = spec(2.5e-4, number(0.0, open_low=True))
    """Adam step size (> 0)."""
    anneal_lr: bool = spec(True, boolean())
    """Decay the learning rate linearly to 0 over `num_updates`."""
    normalize_advantages: bool = spec(True, boolean())
    """Standardise advantages per minibatch."""
    bootstrap_truncation: bool = spec(True, boolean())
    """At a time limit, bootstrap from the value of the last observation (an extra critic pass
    per step). False treats time limits as terminal, as JaxMARL's and PureJaxRL's PPO do."""
    value_head: str = spec("mse", choice(VALUE_HEADS))
    """How the critic predicts and learns the value: "mse" (one output, squared error) or
    "hl_gauss" (Farebrother et al. 2024: `value_bins` logits over `value_range`, the value is
    their expectation, trained by cross-entropy against the target smoothed by a Gaussian of
    width `value_sigma` bins). "hl_gauss" needs `value_clip_eps` = null: a cross-entropy has
    no clipped form."""
    value_bins: int = spec(51, integer(2))
    """Histogram bins of the "hl_gauss" value head (>= 2)."""
    value_range: tuple[float, float] = spec((-10.0, 10.0), interval())
    """[low, high] the "hl_gauss" histogram covers; targets outside are clipped to it."""
    value_sigma: float = spec(0.75, number(0.0, open_low=True))
    """Gaussian smoothing of "hl_gauss" targets, as a fraction of the bin width (> 0; 0.75 in
    the paper)."""
    next_obs_coef: float = spec(1.0, number(0.0))
    """Weight of the next-observation head's squared error in the loss (>= 0; read only when
    `model.next_obs_head` is on)."""
    critic: str = spec("independent", choice(CRITICS))
    """Value function: "independent" (IPPO: a separate network on the agent's own obs),
    "centralised" (MAPPO: a separate network on `env.global_state`, embedded once per env step
    plus a learned per-agent embedding, so O(N) per step) or "shared" (a value head
    on the policy network's torso: half the compute, but the value loss then shapes the
    policy's features)."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(
            self.value_head != "hl_gauss" or self.value_clip_eps is None,
            "value_clip_eps",
            self.value_clip_eps,
            'null when value_head = "hl_gauss" (a cross-entropy value loss has no clipped form)',
        )


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """The gradient step after global-norm clipping (`ppo.max_grad_norm`); the learning rate
    and its schedule are `ppo.learning_rate` and `ppo.anneal_lr` for every optimiser."""

    name: str = spec("adam", choice(OPTIMIZERS))
    """"adam", "radam" (rectified Adam, as JaxMARL's Q-learners use; same b1, b2, eps), or
    "muon" (`optax.contrib.muon`: momentum orthogonalised by Newton-Schulz for
    the 2-D weight matrices, Adam with the settings below for every other parameter)."""
    b1: float = spec(0.9, number(0.0, 1.0, open_high=True))
    """Adam's first-moment decay, in [0, 1) (Muon's Adam part too)."""
    b2: float = spec(0.999, number(0.0, 1.0, open_high=True))
    """Adam's second-moment decay, in [0, 1) (Muon's Adam part too)."""
    eps: float = spec(1e-5, number(0.0, open_low=True))
    """Adam's epsilon (> 0; 1e-5 as in PureJaxRL)."""
    muon_beta: float = spec(0.95, number(0.0, 1.0, open_high=True))
    """Muon's momentum decay, in [0, 1)."""
    ns_steps: int = spec(5, integer(1))
    """Newton-Schulz iterations that orthogonalise Muon's momentum (>= 1)."""
    nesterov: bool = spec(True, boolean())
    """Nesterov momentum for Muon."""
    consistent_rms: float | None = spec(
        0.2, optional(number(0.0, open_low=True), "optax's unscaled orthogonal update")
    )
    """Scale Muon's matrix updates to this RMS (> 0; 0.2 matches AdamW's typical update RMS,
    so one learning rate serves both parts); null = optax's default scaling
    sqrt(max(1, fan_out / fan_in))."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Seeds, logging, checkpoints and where the run folder goes."""

    seed: int = spec(0, integer(0))
    """Root PRNG seed (>= 0)."""
    num_seeds: int = spec(1, integer(1))
    """Independent seeds trained at once as a vmap axis (>= 1)."""
    log_every: int = spec(1, integer(1))
    """Updates per host round-trip and metrics line (>= 1)."""
    checkpoint_every: int = spec(10, integer(1))
    """Updates between checkpoints (>= 1, a multiple of log_every)."""
    runs_dir: str = spec("runs", string())
    """Folder that holds run folders."""
    name: str | None = spec(None, optional(string(forbidden="/\\"), "a fresh name"))
    """Run folder name under runs_dir; None = a fresh adjective-animal-NN."""
    devices: int | None = spec(None, optional(integer(1), "all local devices"))
    """Local devices to shard the env batch over (must divide every num_envs); None = the most
    local devices that divide every num_envs (logged when fewer than all)."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(self.name not in (".", ".."), "name", self.name, "a folder name other than . or ..")
        require(
            self.checkpoint_every % self.log_every == 0,
            "checkpoint_every",
            self.checkpoint_every,
            f"a multiple of run.log_every = {self.log_every}",
        )


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything `marlax train` needs; build it with `marlax.config.load_config`."""

    envs: tuple[TaskConfig, ...]
    """Tasks trained together (>= 1); more than one = multi-task, one shared policy."""
    algorithm: str = spec("ppo", choice(ALGORITHMS))
    """The learner: "ppo" (section `ppo`); "iql", "vdn", "qmix", "mfq" (section `q_learning`);
    or "maddpg", "sac" (section `off_policy`; continuous actions, and discrete ones for
    maddpg through Gumbel-softmax); or "es" (section `es`:
    evolution strategies on the policy network's parameters); or "pbt" (sections `ppo` and
    `pbt`: population-based training of `run.num_seeds` PPO members); or "rl2" (section `ppo`
    with a recurrent model, and `episodes_per_trial` on every task: RL²'s trials); or "maml"
    (section `maml`: MAML on a task family, an MLP policy); or "varibad" (sections `varibad`
    and `ppo`: a belief encoder and a PPO policy on trials of a task family)."""
    model: ModelConfig = spec(ModelConfig, instance_of(ModelConfig))
    """The policy/value network."""
    ppo: PPOConfig = spec(PPOConfig, instance_of(PPOConfig))
    """PPO's settings (read when algorithm = "ppo")."""
    q_learning: QLearningConfig = spec(QLearningConfig, instance_of(QLearningConfig))
    """The value-based learners' settings (read when algorithm is "iql", "vdn", "qmix" or
    "mfq")."""
    off_policy: OffPolicyConfig = spec(OffPolicyConfig, instance_of(OffPolicyConfig))
    """MADDPG's and SAC's settings (read when algorithm is "maddpg" or "sac")."""
    es: ESConfig = spec(ESConfig, instance_of(ESConfig))
    """Evolution strategies' settings (read when algorithm = "es")."""
    pbt: PBTConfig = spec(PBTConfig, instance_of(PBTConfig))
    """Population-based training's settings (read when algorithm = "pbt", with `ppo`)."""
    maml: MAMLConfig = spec(MAMLConfig, instance_of(MAMLConfig))
    """MAML's settings (read when algorithm = "maml")."""
    varibad: VariBADConfig = spec(VariBADConfig, instance_of(VariBADConfig))
    """VariBAD's settings (read when algorithm = "varibad", with `ppo` for the policy)."""
    sebulba: SebulbaConfig = spec(SebulbaConfig, instance_of(SebulbaConfig))
    """The actor-learner split's settings (read when algorithm = "sebulba", with `ppo`)."""
    optimizer: OptimizerConfig = spec(OptimizerConfig, instance_of(OptimizerConfig))
    """The gradient step (Adam or Muon)."""
    run: RunConfig = spec(RunConfig, instance_of(RunConfig))
    """Seeds, logging and the run folder."""

    def __post_init__(self) -> None:
        envs = tuple(self.envs) if isinstance(self.envs, list | tuple) else self.envs
        ok = isinstance(envs, tuple) and len(envs) >= 1
        ok = ok and all(isinstance(task, TaskConfig) for task in envs)
        require(ok, "envs", envs, "a non-empty tuple of TaskConfig")
        if self.algorithm == "mfq" and self.model.mean_field is None:
            # MF-Q = Q-learning on the mean-field env; without a neighbourhood, the whole team
            object.__setattr__(self, "model", replace(self.model, mean_field={}))
        if self.model.mean_field is not None:
            require(
                self.algorithm not in TASK_FAMILY_ALGORITHMS,
                "model.mean_field",
                self.model.mean_field,
                f"null for algorithm {self.algorithm!r} (it learns on a task family's own "
                "observations; mean-field inputs wrap many-agent envs such as battle, coverage)",
            )
            envs = tuple(replace(task, mean_field=self.model.mean_field) for task in envs)
        object.__setattr__(self, "envs", envs)
        check_fields(self)
        minimum = self.steps_per_update
        require(
            self.algorithm not in ("ppo", "pbt", "rl2") or self.num_updates >= 1,
            "ppo.total_env_steps",
            self.ppo.total_env_steps,
            f"at least {minimum} = rollout_length {self.ppo.rollout_length} x total_num_envs "
            f"{self.total_num_envs} (one update)",
        )
        check_trials(self)
        if self.algorithm == "rl2":
            # RL² is PPO on trial envs: _check_trials ran PPO's checks on them
            return
        if self.algorithm == "varibad":
            # VariBAD wraps the family in its own trials; PPO's checks on the plain env do not apply
            check_varibad(self, [task.make_env() for task in self.envs])
            return
        if self.algorithm == "maml":
            # MAML reads only envs, model, optimizer and maml
            check_maml(self, [task.make_env() for task in self.envs])
            return
        if self.algorithm == "es":
            # ES reads only envs, model and es: the PPO and Q-learning checks do not apply
            check_es(self, [task.make_env() for task in self.envs])
            return
        if self.algorithm == "sebulba":
            check_sebulba(self)  # PPO on host envs: actors, queue, one task
            return
        if self.algorithm == "pbt":
            # PBT's members are PPO learners: PPO's checks and the population's
            check_population(self)
            return
        checks.check_train_config(self)

    @property
    def total_num_envs(self) -> int:
        """B, parallel envs summed over tasks."""
        return sum(task.num_envs for task in self.envs)

    @property
    def steps_per_update(self) -> int:
        """Env steps one update collects: rollout_length x total_num_envs."""
        return self.ppo.rollout_length * self.total_num_envs

    @property
    def num_updates(self) -> int:
        """Updates in the run: total_env_steps // steps_per_update (>= 1 once validated)."""
        return self.ppo.total_env_steps // self.steps_per_update

    @property
    def multi_task(self) -> bool:
        """More than one task."""
        return len(self.envs) > 1

    @property
    def max_agents(self) -> int:
        """N, the most agents of any task (smaller teams are padded to it)."""
        return max(task.make_env().num_agents for task in self.envs)


__all__ = [
    "ALGORITHMS",
    "CRITICS",
    "DTYPES",
    "OPTIMIZERS",
    "VALUE_HEADS",
    "ModelConfig",
    "OffPolicyConfig",
    "OptimizerConfig",
    "PPOConfig",
    "QLearningConfig",
    "RunConfig",
    "TaskConfig",
    "TrainConfig",
]
