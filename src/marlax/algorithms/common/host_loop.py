"""The host side of training any learner: status, progress, metric lines, checkpoints, signals.

A learner keeps everything per step inside its own jitted `update`; between calls the host
must log, save and draw. That part does not depend on the learner, so it lives here once:

    learner = Learner(
        name="iql",
        update=lambda state, n: my_jitted_updates(state, n),   # -> (state, {metric: f32[S, n]})
        save=lambda state, done: checkpointer.save(done, jax.device_get(state)),
    )
    schedule = Schedule(total_updates=500, updates_per_call=10, checkpoint_every=50,
                        env_steps_per_update=4096, num_seeds=2)
    result = run_host_loop(folder, learner, schedule, state, updates_done=0)

`run_host_loop` drives the calls from `updates_done` to `schedule.total_updates` (the last call
runs the remainder when `updates_per_call` does not divide the total, so the configured total
is reached), and in between:

- writes one metrics line per update (`marlax.runs.metrics`): each metric's mean over seeds,
  null where no seed has a finite value (e.g. no episode ended), at x = updates * env steps;
- shows a progress bar in env steps with the speed (from calls whose program was already
  compiled) and the latest score;
- saves every `checkpoint_every` updates and at the end, redrawing `curves.png` each time;
- keeps status.json current: `running` (with this process's pid), then `finished` (with the
  best score, null when none was measured), `failed` (a non-finite loss or an unhealthy
  state, or an exception), or `stopped` (SIGINT/SIGTERM: the current call ends, a checkpoint
  is written, and the run resumes from it exactly);
- on resume, drops the metric lines past the checkpoint it starts from.

Call boundaries are fixed multiples of `updates_per_call`, whatever update a run resumes
from, so a resumed run makes the very same calls as an uninterrupted one and (with a
deterministic `update`) ends bitwise equal to it.

In a multi-process run (`jax.distributed`) every process runs this loop in step: only process 0
writes metric lines, status.json and curves.png and shows the progress bar; every process
hands `save` a state gathered onto its host (`marlax.runs.processes.host_local`), so the
checkpoint equals a single-process one; and after each call the processes agree on stopping
(a signal to any one stops all of them at the same update).
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from marlax.algorithms.common.metric_rows import first_diverged_row, metric_rows
from marlax.algorithms.common.stop_signals import StopRequest, stop_requests
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import MetricsWriter, read_metrics
from marlax.runs.plots import plot_curves
from marlax.runs.processes import any_process, host_local, is_primary_process
from marlax.validate import require, require_nonnegative_int, require_positive_int

State = TypeVar("State")

UpdateFn = Callable[[Any, int], tuple[Any, Mapping[str, Any]]]
"""`update(state, num_updates) -> (state, metrics)`: run `num_updates` updates (>= 1).

Each metric is f32[S, num_updates] (S seeds) or f32[num_updates] (one seed); NaN marks "no
value at this update" (e.g. no episode ended). The input state may be donated."""

SaveFn = Callable[[Any, int], Any]
"""`save(state, updates_done)`: write a checkpoint of `state` atomically (return ignored)."""

HealthFn = Callable[[Any], bool]
"""`healthy(state) -> bool`: False when the state is broken (e.g. a NaN parameter)."""


class TrainingDivergedError(RuntimeError):
    """A watched metric or the state became NaN/infinite; the last good checkpoint is kept."""


def _always_healthy(state: Any) -> bool:
    del state
    return True


@dataclass(frozen=True)
class Learner(Generic[State]):
    """What the host loop needs from a learner: its name, update, save and metric names."""

    name: str
    """Written to status.json and shown by `marlax runs` ("ppo", "iql", "maml", ...)."""
    update: UpdateFn
    """Runs updates (see `UpdateFn`)."""
    save: SaveFn
    """Writes a checkpoint (see `SaveFn`)."""
    healthy: HealthFn = _always_healthy
    """Checked after every call; False fails the run as diverged."""
    score: str = "return"
    """The metric shown in the progress bar; its best value goes to status.json."""
    finite_prefixes: tuple[str, ...] = ("loss/",)
    """Metrics whose names start with one of these must stay finite (else: diverged)."""
    divergence_hint: str = "lower the learning rate and resume, or start again"
    """Advice appended to the divergence message."""


@dataclass(frozen=True)
class Schedule:
    """How many updates, how many per call, how often to save, and what one update is worth."""

    total_updates: int
    """Updates the whole run makes (>= 1)."""
    updates_per_call: int
    """Updates per `update` call and per progress refresh (>= 1)."""
    checkpoint_every: int
    """Updates between checkpoints: a multiple of `updates_per_call`."""
    env_steps_per_update: int
    """Environment steps one update takes, per seed: the x axis of the metrics (>= 1)."""
    num_seeds: int = 1
    """Seeds trained at once (only the speed shown counts them)."""

    def __post_init__(self) -> None:
        require_positive_int("total_updates", self.total_updates)
        require_positive_int("updates_per_call", self.updates_per_call)
        require_positive_int("checkpoint_every", self.checkpoint_every)
        require_positive_int("env_steps_per_update", self.env_steps_per_update)
        require_positive_int("num_seeds", self.num_seeds)
        require(
            self.checkpoint_every % self.updates_per_call == 0,
            "checkpoint_every",
            self.checkpoint_every,
            f"a multiple of updates_per_call = {self.updates_per_call}",
        )

    def call_sizes(self, updates_done: int) -> list[int]:
        """The sizes of the calls from `updates_done` to the end.

        Each call ends at the next multiple of `updates_per_call` (or at the total), so the
        boundaries are the same whichever update a run starts from: from 0 with 23 updates
        and 5 per call, [5, 5, 5, 5, 3]; from 12, [3, 5, 3].
        """
        done = require_nonnegative_int("updates_done", updates_done)
        sizes = []
        while done < self.total_updates:
            boundary = (done // self.updates_per_call + 1) * self.updates_per_call
            sizes.append(min(boundary, self.total_updates) - done)
            done += sizes[-1]
        return sizes


@dataclass(frozen=True)
class LoopResult(Generic[State]):
    """Where a run ended."""

    state: Any
    """The learner state after the last call."""
    updates: int
    """Updates done (all of them when the run finished)."""
    env_steps: int
    """Environment steps per seed: updates x env_steps_per_update."""
    final_score: float | None
    """The last finite score of the run's metric lines; None when none was ever measured."""
    best_score: float | None
    """The largest finite score of the run's metric lines; None when none was measured."""
    stopped_by: str | None = None
    """"SIGINT"/"SIGTERM" when a signal stopped the run early; None when it finished."""


def run_host_loop(
    folder: RunFolder,
    learner: Learner,
    schedule: Schedule,
    state: Any,
    *,
    updates_done: int = 0,
    console: Console | None = None,
) -> LoopResult:
    """Run `learner` from `updates_done` (0, or the checkpoint it resumes from) to the end.

    Args:
        folder: the run folder (status.json, metrics.jsonl, curves.png are written there).
        learner: the learner's update, save and metric names.
        schedule: the run's length, call size, checkpoint cadence and env steps per update.
        state: the learner state after `updates_done` updates (on its devices).
        updates_done: updates already made (the resumed checkpoint's), 0 for a fresh run.
        console: where the progress bar goes (default: a new rich Console).

    Returns:
        The final state and what the run reached; `stopped_by` names the signal if one
        stopped it early (a checkpoint of the returned state is on disk).

    Raises:
        TrainingDivergedError: a watched metric or the state became non-finite; the run is
            marked failed and its last good checkpoint kept.
    """
    loop = _HostLoop(folder, learner, schedule, updates_done, console or Console())
    try:
        with stop_requests() as stop:
            state = loop.run(state, stop)
    except TrainingDivergedError:
        raise
    except BaseException as error:
        loop.mark_interrupted(error)
        raise
    finally:
        loop.close_metrics()
    return loop.finish(state, loop.stopped_by)


class _HostLoop:
    """One run of the loop: writers, progress and the bookkeeping between calls."""

    def __init__(
        self,
        folder: RunFolder,
        learner: Learner,
        schedule: Schedule,
        updates_done: int,
        console: Console,
    ) -> None:
        self.folder, self.learner, self.schedule, self.console = folder, learner, schedule, console
        self.done = require_nonnegative_int("updates_done", updates_done)
        self.last_saved: int | None = self.done if self.done > 0 else None
        self.primary = is_primary_process()  # the one process that writes the run's files
        self.metrics: MetricsWriter | None = None
        if self.primary:
            self.metrics = MetricsWriter(folder)
            self.metrics.truncate_after(self.done * schedule.env_steps_per_update)
        self.latest_score = math.nan
        self.best_score = math.nan  # over this process's calls (other processes' best)
        self.stopped_by: str | None = None

    @property
    def env_steps(self) -> int:
        return self.done * self.schedule.env_steps_per_update

    def run(self, state: Any, stop: StopRequest) -> Any:
        """Every remaining call, with rows, progress and checkpoints between them."""
        self._write_status("running")
        with _progress(self.console, visible=self.primary) as progress:
            task = progress.add_task(
                self.folder.name,
                total=self.schedule.total_updates * self.schedule.env_steps_per_update,
                completed=self.env_steps,
                speed="-",
                score=f"{self.learner.score} -",
            )
            compiled: set[int] = set()
            for size in self.schedule.call_sizes(self.done):
                started = time.perf_counter()
                state = self._call(state, size)
                fields = {"score": f"{self.learner.score} {self.latest_score:.3g}"}
                # a call of a new size compiles its program: its time is not the speed
                if size in compiled:
                    steps = size * self.schedule.env_steps_per_update * self.schedule.num_seeds
                    fields["speed"] = f"{steps / (time.perf_counter() - started):,.0f}"
                compiled.add(size)
                progress.update(task, completed=self.env_steps, **fields)
                self.stopped_by = _agreed_stop(stop)
                if self.stopped_by is not None:
                    break
                if self.done % self.schedule.checkpoint_every == 0:
                    self._save(state)
        self._save(state)
        return state

    def _call(self, state: Any, size: int) -> Any:
        """One `update` call: rows checked, written, and the score remembered."""
        state, metrics = self.learner.update(state, size)
        rows = metric_rows(metrics, self.done, size, self.schedule.env_steps_per_update)
        bad = first_diverged_row(rows, self.learner.finite_prefixes)
        if bad is not None or not self.learner.healthy(state):
            self._fail_diverged(bad)
        self.done += size
        for row in rows:
            env_steps = row.pop("env_steps")
            if self.metrics is not None:
                self.metrics.write(env_steps, row)
            score = row.get(self.learner.score, math.nan)
            if math.isfinite(score):
                self.latest_score = score
                self.best_score = (
                    score if math.isnan(self.best_score) else max(score, self.best_score)
                )
        return state

    def close_metrics(self) -> None:
        if self.metrics is not None:
            self.metrics.close()

    def _save(self, state: Any) -> None:
        """A checkpoint at the current update (unless one exists), curves, status."""
        if self.last_saved is None or self.done > self.last_saved:
            self.learner.save(host_local(state), self.done)
            self.last_saved = self.done
        self._plot()
        self._write_status("running")

    def finish(self, state: Any, stopped_by: str | None) -> LoopResult:
        """The final status (finished or stopped) and the result."""
        if self.done >= self.schedule.total_updates:
            stopped_by = None  # the signal came after the last call: nothing is left to do
        final, best = self._scores()
        if stopped_by is not None:
            message = (
                f"stopped by {stopped_by} at update {self.done}; "
                f"its checkpoint resumes the run exactly"
            )
            self._write_status("stopped", message=message)
        else:
            fields = {f"best_{self.learner.score}": best, f"final_{self.learner.score}": final}
            if best is None:
                fields["message"] = self.no_score_message()
            self._write_status("finished", **fields)
        return LoopResult(state, self.done, self.env_steps, final, best, stopped_by)

    def no_score_message(self) -> str:
        return (
            f"no {self.learner.score} was measured in {self.env_steps:,} env steps per seed "
            f"(no episode ended): train longer or shorten the episodes"
        )

    def _scores(self) -> tuple[float | None, float | None]:
        """Last and best finite score over every metric line of the run (resumes included).

        A process other than 0 writes no lines: it answers with the scores of its own calls.
        """
        if not self.primary:
            if math.isnan(self.best_score):
                return None, None
            return self.latest_score, self.best_score
        values = [row.get(self.learner.score) for row in read_metrics(self.folder.metrics_path)]
        finite = [float(value) for value in values if isinstance(value, int | float)]
        finite = [value for value in finite if math.isfinite(value)]
        return (finite[-1], max(finite)) if finite else (None, None)

    def _fail_diverged(self, row: dict | None) -> None:
        where = f"update {row['update']}" if row else f"the updates after {self.done}"
        message = (
            f"training diverged: a loss or parameter became NaN/inf at {where}; "
            f"the last good checkpoint is update {self.last_saved} "
            f"({self.learner.divergence_hint})"
        )
        self.close_metrics()
        self._write_status("failed", message=message)
        self._plot()
        raise TrainingDivergedError(message)

    def mark_interrupted(self, error: BaseException) -> None:
        """Status for a run ended by an exception: failed, or stopped for a second Ctrl-C."""
        kept = f"the last checkpoint is update {self.last_saved}"
        if isinstance(error, KeyboardInterrupt):
            self._write_status("stopped", message=f"interrupted at update {self.done}; {kept}")
        else:
            reason = f"{type(error).__name__}: {error}"
            self._write_status("failed", message=f"{reason} (at update {self.done}; {kept})")

    def _write_status(self, state: str, **fields: Any) -> None:
        if not self.primary:
            return
        self.folder.write_status(
            state,
            learner=self.learner.name,
            update=self.done,
            env_steps=self.env_steps,
            **fields,
        )

    def _plot(self) -> None:
        if self.primary:
            plot_curves(read_metrics(self.folder.metrics_path), self.folder.curves_path)


def _agreed_stop(stop: StopRequest) -> str | None:
    """The stop signal's name if any process received one, else None.

    Multi-process, this is a collective after every call, so that all processes leave the
    loop after the same call (one process leaving alone would block the others).
    """
    mine = signal.Signals[stop.signal_name].value if stop.signal_name is not None else 0
    agreed = any_process(mine)
    return signal.Signals(agreed).name if agreed else None


def _progress(console: Console, visible: bool = True) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} env-steps"),
        TextColumn("{task.fields[speed]} steps/s"),
        TextColumn("{task.fields[score]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not visible,
    )
