"""The learner-independent host loop, driven by a counting learner whose numbers are known."""

from __future__ import annotations

import json
import math
import os
import signal

import numpy as np
import pytest

from marlax.algorithms.common.host_loop import (
    Learner,
    Schedule,
    TrainingDivergedError,
    run_host_loop,
)
from marlax.algorithms.common.metric_rows import first_diverged_row, metric_rows
from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics

STEPS_PER_UPDATE = 64


class CountingLearner:
    """State: the number of updates done. Metrics per update u (two seeds): `return` 1u and 3u
    (mean 2u), `loss/total` 1/u; `hook(call_index)` runs inside each call."""

    def __init__(self, *, no_returns: bool = False, nan_loss_at: int | None = None, hook=None):
        self.calls: list[int] = []
        self.saved: dict[int, int] = {}
        self.no_returns, self.nan_loss_at, self.hook = no_returns, nan_loss_at, hook

    def update(self, state: int, num_updates: int) -> tuple[int, dict]:
        self.calls.append(num_updates)
        if self.hook is not None:
            self.hook(len(self.calls))
        updates = state + 1 + np.arange(num_updates, dtype=np.float32)
        returns = np.stack([updates, 3 * updates])
        loss = 1.0 / updates
        if self.nan_loss_at is not None:
            loss = np.where(updates == self.nan_loss_at, np.nan, loss)
        if self.no_returns:
            returns = np.full_like(returns, np.nan)  # no episode ended
        return state + num_updates, {"return": returns, "loss/total": np.stack([loss, loss])}

    def save(self, state: int, updates_done: int) -> None:
        assert state == updates_done
        self.saved[updates_done] = state

    def as_learner(self, **overrides) -> Learner:
        return Learner(name="counting", update=self.update, save=self.save, **overrides)


def _schedule(total: int, per_call: int, checkpoint_every: int | None = None) -> Schedule:
    return Schedule(
        total_updates=total,
        updates_per_call=per_call,
        checkpoint_every=checkpoint_every or per_call * 2,
        env_steps_per_update=STEPS_PER_UPDATE,
        num_seeds=2,
    )


def _strict_status(folder: RunFolder) -> dict:
    """status.json parsed as strict JSON (NaN/Infinity tokens fail the test)."""
    text = folder.status_path.read_text()
    return json.loads(text, parse_constant=lambda token: pytest.fail(f"{token} in status.json"))


@pytest.mark.parametrize(
    ("total", "per_call", "start", "expected"),
    [
        (23, 5, 0, [5, 5, 5, 5, 3]),
        (20, 5, 0, [5, 5, 5, 5]),
        (23, 5, 10, [5, 5, 3]),
        (23, 5, 12, [3, 5, 3]),  # an unaligned start rejoins the uninterrupted boundaries
        (3, 5, 0, [3]),  # fewer updates than one call: still trains them all
        (23, 5, 23, []),
        (7, 1, 4, [1, 1, 1]),
    ],
)
def test_call_sizes_reach_the_total_on_fixed_boundaries(total, per_call, start, expected):
    sizes = _schedule(total, per_call).call_sizes(start)
    assert sizes == expected and start + sum(sizes) == total


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"total_updates": 0}, "total_updates"),
        ({"updates_per_call": True}, "updates_per_call"),
        ({"checkpoint_every": 15}, "checkpoint_every"),  # not a multiple of 10
        ({"env_steps_per_update": 1.5}, "env_steps_per_update"),
    ],
)
def test_schedule_checks_its_fields(fields, field):
    values = {
        "total_updates": 100,
        "updates_per_call": 10,
        "checkpoint_every": 20,
        "env_steps_per_update": 8,
    }
    with pytest.raises(ConfigError) as error:
        Schedule(**{**values, **fields})
    assert error.value.field == field


def test_metric_rows_average_the_finite_values_over_seeds():
    metrics = {
        "return": np.array([[1.0, np.nan, np.nan], [3.0, 5.0, np.nan]]),  # f32[S=2, U=3]
        "loss/total": np.array([0.5, 0.25, 0.125]),  # f32[U]: one seed
    }
    rows = metric_rows(metrics, first_update=4, num_updates=3, env_steps_per_update=10)
    assert [(row["update"], row["env_steps"]) for row in rows] == [(5, 50), (6, 60), (7, 70)]
    assert [row["return"] for row in rows[:2]] == [2.0, 5.0] and math.isnan(rows[2]["return"])
    assert [row["loss/total"] for row in rows] == [0.5, 0.25, 0.125]
    with pytest.raises(ValueError, match="want \\[S, 2\\]"):
        metric_rows(metrics, first_update=0, num_updates=2, env_steps_per_update=10)


def test_first_diverged_row_watches_only_the_named_prefixes():
    rows = [{"update": 1, "return": math.nan, "loss/a": 1.0}, {"update": 2, "loss/a": math.inf}]
    assert first_diverged_row(rows, ("loss/",)) == rows[1]
    assert first_diverged_row(rows, ("grad/",)) is None


@pytest.mark.parametrize(("total", "per_call"), [(23, 5), (20, 5), (3, 5), (7, 1), (9, 4)])
def test_a_run_makes_every_update_and_ends_at_the_configured_env_steps(tmp_path, total, per_call):
    folder = RunFolder.create(tmp_path, "r", {})
    learner = CountingLearner()
    schedule = _schedule(total, per_call)
    result = run_host_loop(folder, learner.as_learner(), schedule, 0)
    assert result.state == total and sum(learner.calls) == total
    assert result.env_steps == total * STEPS_PER_UPDATE and result.stopped_by is None
    rows = read_metrics(folder.metrics_path)
    assert [row["update"] for row in rows] == list(range(1, total + 1))
    assert [row["env_steps"] for row in rows] == [u * STEPS_PER_UPDATE for u in range(1, total + 1)]
    assert [row["return"] for row in rows] == [2.0 * u for u in range(1, total + 1)]
    every = schedule.checkpoint_every
    assert sorted(learner.saved) == sorted({*range(every, total + 1, every), total})
    status = _strict_status(folder)
    assert (status["state"], status["learner"]) == ("finished", "counting")
    assert (status["update"], status["env_steps"]) == (total, total * STEPS_PER_UPDATE)
    assert status["best_return"] == status["final_return"] == 2.0 * total
    assert (result.best_score, result.final_score) == (2.0 * total, 2.0 * total)
    assert folder.curves_path.read_bytes()[:4] == b"\x89PNG"


def test_a_run_in_which_no_episode_ends_finishes_cleanly_with_a_null_best(tmp_path):
    folder = RunFolder.create(tmp_path, "r", {})
    result = run_host_loop(
        folder, CountingLearner(no_returns=True).as_learner(), _schedule(3, 2), 0
    )
    assert result.best_score is None and result.final_score is None and result.updates == 3
    status = _strict_status(folder)
    assert status["state"] == "finished" and status["best_return"] is None
    assert "no return was measured" in status["message"] and "no episode ended" in status["message"]
    assert [row["return"] for row in read_metrics(folder.metrics_path)] == [None] * 3


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_after_the_call_saves_and_the_resume_is_exact(tmp_path, signum):
    reference_folder = RunFolder.create(tmp_path, "reference", {})
    reference = CountingLearner()
    run_host_loop(reference_folder, reference.as_learner(), _schedule(23, 5, 10), 0)

    handler_before = signal.getsignal(signum)
    folder = RunFolder.create(tmp_path, "victim", {})
    victim = CountingLearner(hook=lambda call: call == 2 and os.kill(os.getpid(), signum))
    stopped = run_host_loop(folder, victim.as_learner(), _schedule(23, 5, 10), 0)
    assert signal.getsignal(signum) is handler_before  # the loop put the old handler back
    assert stopped.stopped_by == signum.name and stopped.updates == 10
    assert victim.calls == [5, 5] and sorted(victim.saved) == [10]
    status = _strict_status(folder)
    assert status["state"] == "stopped" and signum.name in status["message"]

    resumed_learner = CountingLearner()
    resumed = run_host_loop(
        folder, resumed_learner.as_learner(), _schedule(23, 5, 10), 10, updates_done=10
    )
    assert resumed_learner.calls == reference.calls[2:] and resumed.state == 23
    assert read_metrics(folder.metrics_path) == read_metrics(reference_folder.metrics_path)
    assert _strict_status(folder)["state"] == "finished"


def test_resume_drops_metric_lines_written_after_the_checkpoint(tmp_path):
    folder = RunFolder.create(tmp_path, "r", {})
    run_host_loop(folder, CountingLearner().as_learner(), _schedule(6, 2), 0)
    # as if killed after writing rows 1-6 but saving only update 4: rows 5-6 are written again
    run_host_loop(folder, CountingLearner().as_learner(), _schedule(6, 2), 4, updates_done=4)
    assert [row["update"] for row in read_metrics(folder.metrics_path)] == [1, 2, 3, 4, 5, 6]


def test_a_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    folder = RunFolder.create(tmp_path, "r", {})
    learner = CountingLearner(nan_loss_at=7)
    with pytest.raises(TrainingDivergedError, match="update 7.*checkpoint is update 4"):
        run_host_loop(folder, learner.as_learner(), _schedule(10, 2, 4), 0)
    assert sorted(learner.saved) == [4]
    status = _strict_status(folder)
    assert status["state"] == "failed" and "NaN" in status["message"]
    assert [row["update"] for row in read_metrics(folder.metrics_path)] == [1, 2, 3, 4, 5, 6]


def test_an_unhealthy_state_fails_the_run(tmp_path):
    folder = RunFolder.create(tmp_path, "r", {})
    learner = CountingLearner().as_learner(healthy=lambda state: state < 5)
    with pytest.raises(TrainingDivergedError, match="updates after 4"):
        run_host_loop(folder, learner, _schedule(10, 2), 0)


def test_an_exception_in_the_update_marks_the_run_failed_and_propagates(tmp_path):
    def _crash(call: int) -> None:
        if call == 3:
            raise MemoryError("out of device memory")

    folder = RunFolder.create(tmp_path, "r", {})
    with pytest.raises(MemoryError):
        run_host_loop(folder, CountingLearner(hook=_crash).as_learner(), _schedule(10, 2), 0)
    status = _strict_status(folder)
    assert status["state"] == "failed" and "MemoryError: out of device memory" in status["message"]
    assert status["update"] == 4
