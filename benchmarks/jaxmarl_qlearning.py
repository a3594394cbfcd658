"""JaxMARL's own recurrent IQL / VDN / QMIX baselines, run unmodified as marlax's peer.

Their code is not copied into marlax: `--jaxmarl-src PATH` names a JaxMARL source checkout
(a directory holding `baselines/QLearning/qmix_rnn.py`), and the script imports the original
`qmix_rnn.py`, `vdn_rnn.py` or `iql_rnn.py` from it with importlib, reads the original yaml
configs next to it, and times their `make_train` exactly as their `single_run` calls it:
`jit(vmap(make_train(config, env)))(split(PRNGKey(SEED), NUM_SEEDS))` with NUM_SEEDS = 1.
`materialise_source(mirror_git_dir, dest)` fills such a directory from a bare git mirror.

Source: FLAIROx/JaxMARL commit c793d095618c6d3edfb5632802348f57b70a4b94 (HEAD of the mirror;
the three scripts last changed in 50b8e4c / 014b4f0). Configs: `config/config.yaml` and
`config/alg/ql_rnn_mpe.yaml` / `ql_rnn_smax.yaml` ("valid for iql, vdn, qmix") at the same
commit; the per-algorithm `qmix_mpe.yaml` / `qmix_smax.yaml` files were deleted in b771920
together with the old-format scripts, so they do not match these scripts. The installed
`jaxmarl` 0.2.0 provides every import the scripts make (`make`, `map_name_to_scenario`,
`overcooked_layouts`, `CTRolloutManager`, `LogWrapper`, `MPELogWrapper`, `SMAXLogWrapper`);
its `wrappers/baselines.py` is byte-identical to the one at c793d09.

Deviations (their code is not edited; no textual patch is needed on jax 0.10.2):
- `wandb`, `hydra` and `omegaconf` are replaced by stub modules while their file is imported
  (none is installed here). `hydra.main` is an identity decorator; `OmegaConf` is an empty
  namespace (only their `single_run`/`main`, which are not called, use it); `wandb.log`
  records the metrics dict.
- By default WANDB_MODE stays "disabled" (their config.yaml), so the timed run is their
  default run; the final greedy-test metrics are read from the returned runner state
  (`runner_state[2]`). With `record_curve=True` (CLI `--curve`) WANDB_MODE is set to
  "marlax-recorder" so their own per-update `jax.debug.callback(... wandb.log(metrics))`
  runs and the whole test curve is recorded: that callback is the only way their `train`
  reports metrics over training (its scan returns None). It is not free: qmix on
  simple_spread at 1e5 steps took 12.6-20.5 s with it against 10.2-14.0 s without (four
  runs, 2 shared cores), more than the callback alone costs (0.2-0.3 ms per call in a
  trivial scan here), so read speed from a run without `--curve`. Final returns are
  identical with and without it (same seed).
- `TOTAL_TIMESTEPS` is passed as an int (the yaml's 1e7 parses as a float, and their
  NUM_UPDATES = TOTAL_TIMESTEPS // NUM_STEPS // NUM_ENVS feeds `lax.scan`'s length).
- The yaml is read with PyYAML, with "1e7"-style floats parsed as OmegaConf does.
- Tracing runs under `jax.numpy_rank_promotion("allow")`: their code relies on implicit
  rank promotion, which marlax's test config turns into an error.
- Keys are their raw `jax.random.PRNGKey` (their `train` indexes `rng[0]`).
- SMAX 3m: `MAP_NAME` is set to "3m" (their smax yaml says "3s_vs_5z"); nothing else changes.

How they count and schedule (the lead mirrors these). An update = `batch_reset` of all
NUM_ENVS envs with a fresh key, GRU hidden states zeroed, then one `lax.scan` of NUM_STEPS
env steps with epsilon-greedy actions; env steps per update = NUM_ENVS x NUM_STEPS, and
env_steps = NUM_UPDATES x NUM_ENVS x NUM_STEPS with NUM_UPDATES = TOTAL_TIMESTEPS // NUM_STEPS
// NUM_ENVS (the budget is rounded down to whole updates). The greedy test rollouts are not
counted. The chunk is stored whole: a flashbax trajectory buffer with one row per env,
`max_length_time_axis = BUFFER_SIZE // NUM_ENVS` chunks per row, sampled uniformly with
replacement over (row, chunk), `BUFFER_BATCH_SIZE` chunks per gradient step. Each stored step
is (obs_t, a_t, r_t, d_{t-1}, legal_t) where d_{t-1} is the done returned by the previous
step (their GRU reset flag). Learning happens in an update iff the buffer holds at least
BUFFER_BATCH_SIZE chunks per row (i.e. from update BUFFER_BATCH_SIZE on) and their timestep
counter (already including this update) exceeds LEARNING_STARTS; it is then NUM_EPOCHS
gradient steps. Loss: online and target agent nets unrolled over the chunk from zero hidden
(reset where d = 1); double Q: a* = argmax over legal actions of online Q at t+1, valued by
the target net; y_t = r_t + GAMMA (1 - d_{t-1}) Qtot_target(t+1) for t < NUM_STEPS - 1 (the
last step of each chunk gets no TD term; note the bootstrap mask is the done stored with
obs_t, i.e. the previous step's done, as their code does); loss = mean squared TD error over
time x batch (x agents for IQL), stop-gradient on y. VDN: Qtot = sum_i Q_i; QMIX: monotonic
mixer (hypernets on the global state, |w|, elu); IQL: per-agent r_i and d_i. The training
reward is `rewards["__all__"]` from CTRolloutManager: sum over agents (MPE) or agent 0's team
reward (SMAX), times REW_SCALE when the yaml has it. Target: every TARGET_UPDATE_INTERVAL
updates (not gradient steps; also at update 0), params <- TAU x online + (1 - TAU) x target.
Epsilon: per update, linear from EPS_START to EPS_FINISH over EPS_DECAY x NUM_UPDATES
updates, then flat; a random action is uniform over legal actions, drawn per agent per env.
Optimizer: `optax.chain(clip_by_global_norm(MAX_GRAD_NORM), radam(lr))` with optax defaults
(b1 0.9, b2 0.999, eps 1e-8); lr linear from LR to 1e-10 over NUM_EPOCHS x NUM_UPDATES
optimizer steps when LR_LINEAR_DECAY (steps start at the first gradient step, so the lr
never reaches 1e-10). Agent net (shared by all agents): Dense(HIDDEN_SIZE) + relu ->
GRUCell(HIDDEN_SIZE) -> Dense(num_actions), orthogonal(1.0) kernels, zero biases; its input
is the obs flattened, zero-padded to the longest obs, plus the agent one-hot, and zeroed for
a done agent. QMIX mixer: state = concatenated raw agent obs (MPE) or `world_state` (SMAX);
w1 = |HyperNet(MIXER_HYPERNET_HIDDEN_DIM -> N x MIXER_EMBEDDING_DIM)|, b1 = Dense(EMBED),
w2 = |HyperNet(HYPER -> EMBED)|, b2 = HyperNet(EMBED -> 1), all orthogonal(MIXER_INIT_SCALE).

Values (c793d09), MPE simple_spread (`MPE_simple_spread_v3`, 3 agents, 5 actions, episodes of
26 step calls, so NUM_STEPS = 26 is exactly one episode per env per update):
    NUM_ENVS 8, NUM_STEPS 26 (208 env steps / update), TOTAL_TIMESTEPS 1e7 (48076 updates),
    BUFFER_SIZE 5000 (625 chunks x 8 rows), BUFFER_BATCH_SIZE 32, NUM_EPOCHS 1,
    LEARNING_STARTS 10000 (first gradient step at update 49), HIDDEN_SIZE 64,
    MIXER_EMBEDDING_DIM 32, MIXER_HYPERNET_HIDDEN_DIM 128, MIXER_INIT_SCALE 0.001,
    EPS_START 1.0, EPS_FINISH 0.05, EPS_DECAY 0.1, MAX_GRAD_NORM 25, LR 0.005,
    LR_LINEAR_DECAY True, GAMMA 0.9, TARGET_UPDATE_INTERVAL 200, TAU 1.0, no REW_SCALE,
    TEST_INTERVAL 0.05, TEST_NUM_ENVS 512, TEST_NUM_STEPS 30, LOG_AGENTS_SEPARATELY True.
SMAX 3m (`HeuristicEnemySMAX`, 3 agents, episodes of at most 100 steps auto-reset inside the
chunk; ENV_KWARGS see_enemy_actions True, walls_cause_death True, attack_mode "closest"):
    NUM_ENVS 16, NUM_STEPS 128 (2048 env steps / update), TOTAL_TIMESTEPS 1e7 (4882 updates),
    BUFFER_SIZE 5000 (312 chunks x 16 rows), BUFFER_BATCH_SIZE 32, NUM_EPOCHS 8,
    LEARNING_STARTS 10000 (first gradient step at update 32), HIDDEN_SIZE 512,
    MIXER_EMBEDDING_DIM 64, MIXER_HYPERNET_HIDDEN_DIM 256, MIXER_INIT_SCALE 0.001,
    EPS_START 1.0, EPS_FINISH 0.05, EPS_DECAY 0.1, MAX_GRAD_NORM 10, LR 5e-5,
    LR_LINEAR_DECAY False, GAMMA 0.99, TARGET_UPDATE_INTERVAL 10, TAU 1.0, REW_SCALE 10,
    TEST_INTERVAL 0.05, TEST_NUM_ENVS 512, TEST_NUM_STEPS 128.

Return metric: their test metric `test_returned_episode_returns` (IQL logs it per agent;
averaged here): every int(TEST_INTERVAL x NUM_UPDATES) updates, and once before training,
the greedy policy plays TEST_NUM_ENVS envs for TEST_NUM_STEPS steps; the value is the mean
over agents and envs of the return of each episode that ended in that window. Scale: MPE's
MPELogWrapper multiplies each reward by num_agents before summing, so for simple_spread it
is 3 x the per-agent return = the episode sum of the team reward sum_i r_i. SMAX: the
per-agent (shared team) return without REW_SCALE, in [0, 2] (health dealt, normalised to 1,
plus 1 for a win); the win rate is `test_returned_won_episode`. Without `record_curve` only
the last test is known (run at `final_test_env_step`, up to one test interval before the
end). `seconds` is the wall time of one compiled call (compile reported apart as
`compile_seconds`), including their greedy tests (`test_env_steps`, not counted in
env_steps: 1 + NUM_UPDATES // int(0.05 NUM_UPDATES) tests, 21 when NUM_UPDATES is a multiple
of 20, so 21 x 512 x 30 = 322560 greedy steps for MPE at any such budget; they dominate
small budgets).

    python benchmarks/jaxmarl_qlearning.py --alg qmix vdn --env simple_spread --steps 100000 \
        --seeds 1 --jaxmarl-src /tmp/jaxmarl_src --from-mirror /work/.mirror/FLAIROx+JaxMARL/repo
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
import yaml

from marlax.validate import (
    require,
    require_bool,
    require_choice,
    require_nonnegative_int,
    require_positive_int,
)

ALGORITHM_FILES = {"qmix": "qmix_rnn.py", "vdn": "vdn_rnn.py", "iql": "iql_rnn.py"}
"""Algorithm name -> their script under `baselines/QLearning/`."""

ENV_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "simple_spread": ("ql_rnn_mpe.yaml", {}),
    "smax_3m": ("ql_rnn_smax.yaml", {"MAP_NAME": "3m"}),
}
"""Env name -> (their alg yaml under `config/alg/`, the keys this benchmark changes)."""

QLEARNING_DIR = "baselines/QLearning"
SOURCE_FILES = (
    *(f"{QLEARNING_DIR}/{name}" for name in ALGORITHM_FILES.values()),
    f"{QLEARNING_DIR}/config/config.yaml",
    *(f"{QLEARNING_DIR}/config/alg/{name}" for name, _ in ENV_CONFIGS.values()),
)
"""Every file of theirs the benchmark reads, relative to the source root."""

DEFAULT_MIRROR = Path("/work/.mirror/FLAIROx+JaxMARL/repo")
SOURCE_ENV_VAR = "MARLAX_JAXMARL_SRC"
COMMIT_FILE = "JAXMARL_COMMIT"
RECORDER_MODE = "marlax-recorder"
"""Any WANDB_MODE but "disabled" makes their train call `wandb.log` once per update."""

_FLOAT_LITERAL = re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$")
_recorded_metrics: list[dict[str, Any]] = []


def materialise_source(mirror_git_dir: str | Path, dest: str | Path, commit: str = "HEAD") -> Path:
    """Write their Q-learning scripts and configs from a bare git mirror into `dest`.

    Args:
        mirror_git_dir: a bare JaxMARL git repository (no work tree).
        dest: directory to fill; it becomes a valid `--jaxmarl-src`.
        commit: the revision to extract; its full hash goes to `dest/JAXMARL_COMMIT`.

    Returns:
        `dest` as a Path.
    """
    dest = Path(dest)
    git = ["git", "--git-dir", str(mirror_git_dir)]
    full_hash = subprocess.run(
        [*git, "rev-parse", commit], check=True, capture_output=True, text=True
    ).stdout.strip()
    for relative in SOURCE_FILES:
        text = subprocess.run(
            [*git, "show", f"{full_hash}:{relative}"], check=True, capture_output=True, text=True
        ).stdout
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        (dest / relative).write_text(text)
    (dest / COMMIT_FILE).write_text(full_hash + "\n")
    return dest


def resolve_source(jaxmarl_src: str | Path | None) -> Path:
    """The source root: `jaxmarl_src`, else $MARLAX_JAXMARL_SRC; it must hold their scripts."""
    chosen = jaxmarl_src if jaxmarl_src is not None else os.environ.get(SOURCE_ENV_VAR)
    require(chosen is not None, "jaxmarl_src", chosen, f"a path (or set ${SOURCE_ENV_VAR})")
    root = Path(chosen)
    missing = [name for name in SOURCE_FILES if not (root / name).is_file()]
    require(not missing, "jaxmarl_src", str(root), f"a JaxMARL checkout holding {missing}")
    return root


@contextlib.contextmanager
def _stub_modules() -> Iterator[None]:
    """Put `wandb`, `hydra`, `omegaconf` stubs in sys.modules while their file is imported."""
    wandb = types.ModuleType("wandb")
    wandb.log = _recorded_metrics.append  # their callback's only wandb call inside `train`
    hydra = types.ModuleType("hydra")
    hydra.main = lambda **_: lambda function: function  # decorates their unused `main`
    omegaconf = types.ModuleType("omegaconf")
    omegaconf.OmegaConf = types.SimpleNamespace()  # used only by their unused `single_run`
    stubs = {"wandb": wandb, "hydra": hydra, "omegaconf": omegaconf}
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


def load_baseline(jaxmarl_src: str | Path, alg: str) -> types.ModuleType:
    """Import their `<alg>_rnn.py` from the checkout, unmodified, with the stubs injected."""
    require_choice("alg", alg, ALGORITHM_FILES)
    path = Path(jaxmarl_src) / QLEARNING_DIR / ALGORITHM_FILES[alg]
    name = f"_jaxmarl_baseline_{alg}_rnn"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # flax and chex dataclasses look their module up while building
    with _stub_modules():
        spec.loader.exec_module(module)
    return module


def _read_yaml(path: Path) -> dict[str, Any]:
    """A flat yaml dict; "1e7"-style strings become floats, as OmegaConf reads them."""
    values = yaml.safe_load(path.read_text())
    return {
        key: float(value) if isinstance(value, str) and _FLOAT_LITERAL.match(value) else value
        for key, value in values.items()
    }


def load_config(
    jaxmarl_src: str | Path,
    env: str,
    total_env_steps: int,
    overrides: dict[str, Any] | None = None,
    record_curve: bool = False,
) -> dict[str, Any]:
    """Their merged config (config.yaml, then the env's alg yaml) with the budget set.

    Args:
        jaxmarl_src: the source root.
        env: a key of `ENV_CONFIGS`.
        total_env_steps: their TOTAL_TIMESTEPS (rounded down to whole updates by them).
        overrides: keys of their config to change (a typo raises `ConfigError`).
        record_curve: route their per-update wandb callback to the recorder.

    Returns:
        The flat config dict their `make_train` reads.
    """
    require_choice("env", env, ENV_CONFIGS)
    require_positive_int("total_env_steps", total_env_steps)
    require_bool("record_curve", record_curve)
    alg_yaml, env_changes = ENV_CONFIGS[env]
    config_dir = Path(jaxmarl_src) / QLEARNING_DIR / "config"
    config = {**_read_yaml(config_dir / "config.yaml"), **_read_yaml(config_dir / "alg" / alg_yaml)}
    for key in overrides or {}:
        require_choice("overrides", key, config)
    config.update(env_changes)
    config.update(overrides or {})
    config["TOTAL_TIMESTEPS"] = int(total_env_steps)
    if record_curve:
        config["WANDB_MODE"] = RECORDER_MODE
    require(config["NUM_SEEDS"] == 1, "NUM_SEEDS", config["NUM_SEEDS"], "1 (loop seeds instead)")
    return config


@dataclass(frozen=True)
class PreparedRun:
    """A compiled `jit(vmap(train))` of theirs, ready to run for any seed."""

    alg: str
    env: str
    config: dict[str, Any]
    """Their config after `make_train` (which writes NUM_UPDATES into it)."""
    compiled: Any
    compile_seconds: float

    @property
    def records_curve(self) -> bool:
        """Whether their per-update callback feeds the recorder."""
        return self.config["WANDB_MODE"] == RECORDER_MODE


def prepare_run(
    alg: str,
    env: str,
    total_env_steps: int,
    overrides: dict[str, Any] | None = None,
    jaxmarl_src: str | Path | None = None,
    record_curve: bool = False,
) -> PreparedRun:
    """Import their script, build their env and `train`, and compile it once."""
    root = resolve_source(jaxmarl_src)
    module = load_baseline(root, alg)
    config = load_config(root, env, total_env_steps, overrides, record_curve)
    config["ALG_NAME"] = f"{alg}_rnn"
    jaxmarl_env, _ = module.env_from_config(copy.deepcopy(config))  # theirs mutates its input
    train = module.make_train(config, jaxmarl_env)
    num_updates = config["NUM_UPDATES"]
    require(num_updates >= 1, "total_env_steps", total_env_steps, "at least one update")
    if config["TEST_DURING_TRAINING"]:  # their test cadence is `n % int(NUM_UPDATES * frac)`
        test_every = int(num_updates * config["TEST_INTERVAL"])
        require(test_every >= 1, "total_env_steps", total_env_steps, "1 / TEST_INTERVAL updates")
    start = time.perf_counter()
    with jax.numpy_rank_promotion("allow"):
        compiled = jax.jit(jax.vmap(train)).lower(_seed_keys(0)).compile()
    return PreparedRun(alg, env, config, compiled, time.perf_counter() - start)


def _seed_keys(seed: int) -> jax.Array:
    """Their `single_run` keys: split(PRNGKey(SEED), NUM_SEEDS = 1), u32[1, 2]."""
    return jax.random.split(jax.random.PRNGKey(seed), 1)


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """Each metric (f32[] or f32[1] over the vmapped seed) as a Python float."""
    return {key: float(np.mean(value)) for key, value in metrics.items()}


def run_prepared(prepared: PreparedRun, seed: int) -> dict[str, Any]:
    """Run one seed of a compiled baseline and summarise it (see `run_jaxmarl`)."""
    require_nonnegative_int("seed", seed)
    _recorded_metrics.clear()
    start = time.perf_counter()
    out = jax.block_until_ready(prepared.compiled(_seed_keys(seed)))
    jax.effects_barrier()  # every per-update callback has reached the recorder
    seconds = time.perf_counter() - start
    train_state, _, test_state, _ = out["runner_state"]
    env_steps = int(np.asarray(train_state.timesteps)[0])
    summary = {
        "alg": prepared.alg,
        "env": prepared.env,
        "seed": seed,
        "env_steps": env_steps,
        "num_updates": int(prepared.config["NUM_UPDATES"]),
        "grad_steps": int(np.asarray(train_state.grad_steps)[0]),
        "compile_seconds": prepared.compile_seconds,
        "seconds": seconds,
        "env_steps_per_s": env_steps / seconds,
        "wandb_callback": prepared.records_curve,
    }
    summary.update(_final_test(test_state, prepared.config))
    records = sorted(map(_scalars, _recorded_metrics), key=lambda record: record["update_steps"])
    summary.update(_test_curves(records, prepared.config))
    summary["config"] = dict(prepared.config)
    return summary


def _agent_mean(record: dict[str, float], name: str) -> float:
    """`name` from a record, or the mean of its per-agent `name_<agent>` copies (IQL)."""
    if name in record:
        return record[name]
    per_agent = [value for key, value in record.items() if key.startswith(name + "_")]
    return float(np.mean(per_agent)) if per_agent else float("nan")


def _is_smax(config: dict[str, Any]) -> bool:
    return "smax" in config["ENV_NAME"].lower()


def _final_test(test_state: dict[str, Any] | None, config: dict[str, Any]) -> dict[str, Any]:
    """The last greedy test (their `test_state`), its return and SMAX win rate."""
    if test_state is None:  # TEST_DURING_TRAINING is off
        return {"test_env_steps": 0, "final_return": None, "final_win_rate": None}
    test_every = int(config["NUM_UPDATES"] * config["TEST_INTERVAL"])
    num_tests = 1 + int(config["NUM_UPDATES"]) // test_every  # one runs before training
    final = _scalars(test_state)
    return {
        "return_metric": "test_returned_episode_returns",
        "test_env_steps": num_tests * config["TEST_NUM_ENVS"] * config["TEST_NUM_STEPS"],
        "final_test_env_step": int(config["NUM_UPDATES"])
        // test_every
        * test_every
        * config["NUM_ENVS"]
        * config["NUM_STEPS"],
        "final_return": _agent_mean(final, "returned_episode_returns"),
        "final_win_rate": _agent_mean(final, "returned_won_episode") if _is_smax(config) else None,
    }


def _test_curves(records: list[dict[str, float]], config: dict[str, Any]) -> dict[str, Any]:
    """Their greedy-test return (and SMAX win rate) at each test, as (env_step, value) pairs.

    Empty unless their per-update callback was recorded (`record_curve`).
    """
    if not records or not config["TEST_DURING_TRAINING"]:
        return {"returns": [], "win_rates": []}
    test_every = int(config["NUM_UPDATES"] * config["TEST_INTERVAL"])
    tested = [record for record in records if int(record["update_steps"]) % test_every == 0]
    if test_every > 1:  # updates before the first test still carry the pre-training test
        tested.insert(0, {**records[0], "env_step": 0.0})
    return {
        "returns": [
            (int(r["env_step"]), _agent_mean(r, "test_returned_episode_returns")) for r in tested
        ],
        "win_rates": [
            (int(r["env_step"]), _agent_mean(r, "test_returned_won_episode")) for r in tested
        ]
        if _is_smax(config)
        else [],
        "final_loss": records[-1]["loss"],
    }


def run_jaxmarl(
    alg: str,
    env: str,
    total_env_steps: int,
    seed: int,
    overrides: dict[str, Any] | None = None,
    jaxmarl_src: str | Path | None = None,
    record_curve: bool = False,
) -> dict[str, Any]:
    """Train their `alg` on `env` for one seed and report speed and returns.

    Args:
        alg: "qmix", "vdn" or "iql" (their recurrent scripts).
        env: "simple_spread" or "smax_3m".
        total_env_steps: their TOTAL_TIMESTEPS; rounded down to whole updates.
        seed: their SEED.
        overrides: keys of their yaml to change; none is changed by default.
        jaxmarl_src: source root; defaults to $MARLAX_JAXMARL_SRC.
        record_curve: record every greedy test through their wandb callback (slower run).

    Returns:
        dict with env_steps (their counter), num_updates, grad_steps, compile_seconds,
        seconds (one compiled call), env_steps_per_s, wandb_callback, return_metric,
        test_env_steps (greedy test steps, not counted in env_steps), final_return and
        final_win_rate (None for MPE) of the last test, run at final_test_env_step, returns
        and win_rates (lists of (env_step, value), empty unless record_curve; win_rates empty
        for MPE), final_loss (with record_curve), and config (every value their code read).
    """
    prepared = prepare_run(alg, env, total_env_steps, overrides, jaxmarl_src, record_curve)
    return run_prepared(prepared, seed)


def _parse_override(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` with VALUE read as yaml (numbers, true/false, strings)."""
    key, separator, value = text.partition("=")
    require(bool(separator), "--set", text, "KEY=VALUE")
    return key, yaml.safe_load(value)


def _markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per (alg, env, seed)."""
    header = (
        "| alg | env | seed | env steps | updates | grad steps | compile s | run s "
        "| env-steps/s | final test return | final win rate |"
    )
    rows = [header, "|" + "---|" * 11]
    for r in results:
        win = "-" if r["final_win_rate"] is None else f"{r['final_win_rate']:.3f}"
        final = "-" if r["final_return"] is None else f"{r['final_return']:.2f}"
        rows.append(
            f"| {r['alg']} | {r['env']} | {r['seed']} | {r['env_steps']} | {r['num_updates']} "
            f"| {r['grad_steps']} | {r['compile_seconds']:.1f} | {r['seconds']:.1f} "
            f"| {r['env_steps_per_s']:.0f} | {final} | {win} |"
        )
    return "\n".join(rows)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alg", nargs="+", default=["qmix"], choices=list(ALGORITHM_FILES))
    parser.add_argument("--env", nargs="+", default=["simple_spread"], choices=list(ENV_CONFIGS))
    parser.add_argument("--steps", type=int, default=200_000, help="their TOTAL_TIMESTEPS")
    parser.add_argument("--seeds", type=int, default=1, help="seeds first-seed .. +seeds-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jaxmarl-src", default=None, help=f"default ${SOURCE_ENV_VAR}")
    parser.add_argument("--from-mirror", default=None, help="bare git mirror to fill src from")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE config override")
    parser.add_argument("--curve", action="store_true", help="record every test (slower)")
    parser.add_argument("--json", default=None, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """CLI: echo the command, run every (alg, env, seed), print a markdown table."""
    args = _parse_args(argv)
    if args.from_mirror is not None:
        require(args.jaxmarl_src is not None, "--jaxmarl-src", None, "a path to fill")
        materialise_source(args.from_mirror, args.jaxmarl_src)
    overrides = dict(_parse_override(text) for text in args.set)
    print("$ python " + shlex.join(sys.argv if argv is None else [sys.argv[0], *argv]))
    print(
        f"machine: {platform.node()}, {os.cpu_count()} CPUs, jax {jax.__version__} "
        f"on {jax.default_backend()} (shared machine: timings are indicative)"
    )
    results = []
    for alg in args.alg:
        for env in args.env:
            prepared = prepare_run(alg, env, args.steps, overrides, args.jaxmarl_src, args.curve)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                results.append(run_prepared(prepared, seed))
            print(f"\n{alg} / {env} config: {json.dumps(prepared.config, default=str)}")
            if args.curve:
                print(f"returns (env_step, test return): {results[-1]['returns']}")
    print("\n" + _markdown_table(results))
    if args.json is not None:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return results


if __name__ == "__main__":
    main()
