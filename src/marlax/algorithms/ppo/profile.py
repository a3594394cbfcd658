"""Where one PPO update's time and memory go: its pieces jitted apart, the host loop, a trace.

    profile = profile_update(Trainer(config), jax.random.key(0), repeats=5, trace_dir=path)
    profile.to_dict()                    # every number below, JSON-able

    folder = create_run(config)          # or profile_run(folder, config): also writes
    profile_run(folder, config)          # <run>/profile.json and the trace in <run>/profile/

Each program is compiled ahead of time (`.lower().compile()`, `compile_s`), run once to warm
up, then timed as the median of `repeats` calls blocked on their outputs (`median_s`), with
XLA's `memory_analysis()` of the compiled program (temp, argument and output bytes; their sum
bounds the program's peak device memory). The pieces run seed 0 of a fresh state:
- `rollout`: `rollout.rollout`, ppo.rollout_length steps of every env;
- `gae`: `learn.advantages_and_targets` and `learn.make_batch` (the batch layout);
- `learning_epoch`: `learn.learn` with a copy of the PPOConfig whose num_epochs is 1 (learn.py
  has no public one-epoch function), so an update's learning is about num_epochs times this;
- `update`: the Trainer's own program for one update of every seed (`Trainer.update(state, 1)`,
  compiled ahead of time, which jit's cache then reuses), timed through the host loop's path
  from the call until its outputs are ready (so its median includes the dispatch).

Host time comes from that path, the one `marlax train` takes for each call:
`Trainer.update(state, 1)` followed by `metric_rows` of its metrics (see `HostProfile`).
In training the pieces run inside one program, so their sum only approximates `update`:
XLA fuses across their seams, and `update` covers `run.num_seeds` seeds.
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from marlax.algorithms.common.metric_rows import metric_rows
from marlax.algorithms.ppo.learn import learn, rollout_batch
from marlax.algorithms.ppo.rollout import rollout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import TrainState
from marlax.config.schema import TrainConfig
from marlax.runs.atomic import write_json_atomic
from marlax.runs.folder import RunFolder
from marlax.validate import require_int_at_least

PROFILE_DIR = "profile"
"""The trace's folder inside the run folder (open it with TensorBoard's profile plugin, or
load its `*.trace.json.gz` into https://ui.perfetto.dev)."""
PROFILE_JSON = "profile.json"
"""The numbers' file inside the run folder."""
LEARNER_NAME = "ppo-profile"
"""What status.json (and `marlax runs`) names a profile run's learner."""
STAGES = (
    "compiling and timing the rollout, GAE and one learning epoch",
    "compiling and timing the whole update",
    "tracing updates",
)
"""What `profile_update` reports to `on_stage`, in order (the trace only with a trace_dir)."""
PIECES = ("rollout", "gae", "learning_epoch", "update")


@dataclasses.dataclass(frozen=True)
class ProgramProfile:
    """One jitted piece for one seed: compile time, run time, XLA's memory analysis."""

    name: str
    compile_s: float
    """Seconds to lower and compile."""
    median_s: float
    """Median seconds per call after a warm-up call (outputs blocked on)."""
    temp_bytes: int
    """XLA scratch buffers of the program."""
    argument_bytes: int
    """Its inputs (unused ones are pruned by jit)."""
    output_bytes: int
    """Its outputs."""

    @property
    def peak_bytes(self) -> int:
        """temp + argument + output: an upper bound on the program's live device memory."""
        return self.temp_bytes + self.argument_bytes + self.output_bytes


@dataclasses.dataclass(frozen=True)
class HostProfile:
    """The per-call path of `marlax train`: `Trainer.update(state, 1)` for every seed, then
    `metric_rows` of its metrics (which fetches them to the host)."""

    step_s: float
    """Median wall seconds of one whole call: dispatch, device work, metric rows."""
    dispatch_s: float
    """Median seconds until `Trainer.update` returns (jit dispatch is asynchronous, so this
    is the host's launch work; on a backend that runs synchronously it includes the run)."""
    metrics_s: float
    """Median seconds of `metric_rows` once the outputs are ready (device_get + rows)."""

    @property
    def host_s(self) -> float:
        """Host time per update: dispatch_s + metrics_s, the host's own work around the
        device program (checkpoints, file writes and the progress bar are not counted)."""
        return self.dispatch_s + self.metrics_s


@dataclasses.dataclass(frozen=True)
class UpdateProfile:
    """Everything `profile_update` measured."""

    programs: tuple[ProgramProfile, ...]
    """The pieces, in `PIECES` order."""
    host: HostProfile
    num_epochs: int
    """ppo.num_epochs: learning epochs per update."""
    num_seeds: int
    """Seeds the host loop's calls train at once (the pieces run one seed)."""
    env_steps_per_update: int
    """Environment steps one update collects per seed."""
    repeats: int
    """Timed calls behind every median."""
    max_rss_bytes: int
    """The process's peak resident memory so far (getrusage; includes compilation)."""

    def program(self, name: str) -> ProgramProfile:
        return next(program for program in self.programs if program.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able numbers: per piece, host, and the run's shape."""
        programs = {
            program.name: {**dataclasses.asdict(program), "peak_bytes": program.peak_bytes}
            for program in self.programs
        }
        for program in programs.values():
            del program["name"]
        host = {**dataclasses.asdict(self.host), "host_s": self.host.host_s}
        scalars = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in ("programs", "host")
        }
        return {"programs": programs, "host": host, **scalars}


def _seconds(action: Callable[[], Any]) -> float:
    """Wall seconds of `action()`, its outputs blocked on."""
    start = time.perf_counter()
    jax.block_until_ready(action())
    return time.perf_counter() - start


def _memory(compiled: Any) -> tuple[int, int, int]:
    """(temp, argument, output) bytes of a compiled program; zeros where XLA reports none."""
    memory = compiled.memory_analysis()
    fields = ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes")
    return tuple(int(getattr(memory, field, 0) or 0) for field in fields)


def measure_program(
    name: str, function: Callable[..., Any], args: tuple[Any, ...], repeats: int
) -> tuple[ProgramProfile, Any]:
    """Compile `function` for `args`, warm it up, time `repeats` calls.

    Returns:
        (its ProgramProfile, the outputs of the warm-up call).
    """
    start = time.perf_counter()
    compiled = jax.jit(function).lower(*args).compile()
    compile_s = time.perf_counter() - start
    outputs = jax.block_until_ready(compiled(*args))
    median_s = statistics.median(_seconds(lambda: compiled(*args)) for _ in range(repeats))
    return ProgramProfile(name, compile_s, median_s, *_memory(compiled)), outputs


def profile_pieces(trainer: Trainer, state: TrainState, repeats: int) -> tuple[ProgramProfile, ...]:
    """rollout, gae and learning_epoch of one seed (`state` has no seed axis)."""
    layout, networks, ppo = trainer.layout, trainer.networks, trainer.ppo
    _, rollout_key, learn_key = jax.random.split(state.key, 3)  # as update.collect splits

    def _rollout(key, params, runner):
        return rollout(
            key, layout, networks, params, runner, ppo.rollout_length, ppo.bootstrap_truncation
        )

    def _gae(transitions, last_value, start):
        return rollout_batch(networks, layout.agent_valid, transitions, last_value, start, ppo)

    one_epoch = dataclasses.replace(ppo, num_epochs=1)

    def _epoch(key, params, opt_state, batch):
        return learn(key, networks, trainer.optimizer, params, opt_state, batch, one_epoch)

    rollout_args = (rollout_key, state.params, state.runner)
    rolled, (_, transitions, _, last_value) = measure_program(
        "rollout", _rollout, rollout_args, repeats
    )
    gae, batch = measure_program("gae", _gae, (transitions, last_value, state.runner), repeats)
    epoch_args = (learn_key, state.params, state.opt_state, batch)
    epoch, _ = measure_program("learning_epoch", _epoch, epoch_args, repeats)
    return rolled, gae, epoch


def _host_step(trainer: Trainer, state: TrainState) -> tuple[TrainState, tuple[float, ...]]:
    """One host-loop call; (state, seconds of (the call, its device program, dispatch, rows)).

    The device program's seconds run from the call until its outputs are ready."""
    start = time.perf_counter()
    state, metrics = trainer.update(state, 1)
    dispatched = time.perf_counter()
    jax.block_until_ready((state, metrics))
    ready = time.perf_counter()
    metric_rows(metrics, 0, 1, trainer.env_steps_per_update)
    done = time.perf_counter()
    return state, (done - start, ready - start, dispatched - start, done - ready)


def profile_trainer_update(
    trainer: Trainer, state: TrainState, repeats: int
) -> tuple[ProgramProfile, HostProfile, TrainState]:
    """The Trainer's one-update program and the host loop around it, on every seed.

    `state` is donated; use the returned one.
    """
    program = trainer.update_program(1)  # the very program `Trainer.update(state, 1)` calls
    start = time.perf_counter()
    compiled = program.lower(state).compile()
    compile_s = time.perf_counter() - start
    state, _ = _host_step(trainer, state)  # warm-up; jit reuses the compilation above
    samples = []
    for _ in range(repeats):
        state, seconds = _host_step(trainer, state)
        samples.append(seconds)
    step_s, device_s, dispatch_s, metrics_s = (
        statistics.median(column) for column in zip(*samples, strict=True)
    )
    update = ProgramProfile("update", compile_s, device_s, *_memory(compiled))
    return update, HostProfile(step_s, dispatch_s, metrics_s), state


def trace_updates(trainer: Trainer, state: TrainState, trace_dir: Path, updates: int) -> TrainState:
    """`updates` host-loop calls under `jax.profiler.trace` (TensorBoard / Perfetto files)."""
    trace_dir.mkdir(parents=True, exist_ok=True)
    with jax.profiler.trace(str(trace_dir)):
        for _ in range(updates):
            state, _ = _host_step(trainer, state)
    return state


def profile_update(
    trainer: Trainer,
    key: jax.Array,
    *,
    repeats: int = 5,
    trace_dir: Path | None = None,
    traced_updates: int = 2,
    on_stage: Callable[[str], None] | None = None,
) -> UpdateProfile:
    """Profile one update of `trainer`'s config from a fresh state drawn from `key`.

    Args:
        repeats: timed calls behind every median (>= 1).
        trace_dir: where to write a `jax.profiler.trace` of `traced_updates` host-loop calls
            (after all timing, so tracing slows nothing measured); None: no trace.
        on_stage: called with the name of each of `STAGES` as it starts (a progress display).

    Returns:
        The UpdateProfile; the Trainer's state is discarded.
    """
    require_int_at_least("repeats", repeats, 1)
    require_int_at_least("traced_updates", traced_updates, 1)
    stage = on_stage or (lambda _: None)
    state = trainer.init(key)
    seed_state = jax.tree.map(lambda leaf: leaf[0], state)
    stage(STAGES[0])
    pieces = profile_pieces(trainer, seed_state, repeats)
    stage(STAGES[1])
    update, host, state = profile_trainer_update(trainer, state, repeats)
    if trace_dir is not None:
        stage(STAGES[2])
        trace_updates(trainer, state, trace_dir, traced_updates)
    return UpdateProfile(
        programs=(*pieces, update),
        host=host,
        num_epochs=trainer.ppo.num_epochs,
        num_seeds=trainer.config.run.num_seeds,
        env_steps_per_update=trainer.env_steps_per_update,
        repeats=repeats,
        max_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: KiB
    )


def profile_run(
    folder: RunFolder,
    config: TrainConfig,
    *,
    repeats: int = 5,
    on_stage: Callable[[str], None] | None = None,
) -> UpdateProfile:
    """Profile `config` into the run `folder`: profile.json and the trace in profile/.

    The status says learner "ppo-profile": "finished" when done, "failed" with the message
    if profiling raised (which is re-raised).
    """
    folder.write_status("running", learner=LEARNER_NAME)
    try:
        trace_dir = folder.path / PROFILE_DIR
        profile = profile_update(
            Trainer(config),
            jax.random.key(config.run.seed),
            repeats=repeats,
            trace_dir=trace_dir,
            on_stage=on_stage,
        )
    except Exception as error:
        folder.write_status("failed", learner=LEARNER_NAME, message=str(error))
        raise
    write_json_atomic(folder.path / PROFILE_JSON, profile.to_dict())
    folder.write_status("finished", learner=LEARNER_NAME)
    return profile
