"""Metrics: JSON lines (nulls for non-finite), truncation on resume, TensorBoard events."""

from __future__ import annotations

import json
import struct

import jax.numpy as jnp
import numpy as np
import pytest
from tensorboardX.proto.event_pb2 import Event, SessionLog

from marlax.runs.folder import RunFolder
from marlax.runs.metrics import MetricsWriter, read_metrics


@pytest.fixture
def run(tmp_path) -> RunFolder:
    return RunFolder.create(tmp_path, "r", {"seed": 0})


def read_events(run: RunFolder) -> list[list[Event]]:
    """Every event file in tb/, in name order, parsed from its TFRecord framing.

    A record is u64 length, u32 masked crc of the length, the payload, u32 masked crc.
    """
    files = []
    for path in sorted(run.tensorboard_dir.glob("events.out.tfevents.*")):
        data, offset, events = path.read_bytes(), 0, []
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            payload = data[offset + 12 : offset + 12 + length]
            events.append(Event.FromString(payload))
            offset += 12 + length + 4
        files.append(events)
    return files


def scalars(events: list[Event]) -> list[tuple[str, int, float]]:
    return [
        (value.tag, event.step, value.simple_value)
        for event in events
        for value in event.summary.value
    ]


def test_rows_are_json_lines_with_env_steps_first(run):
    with MetricsWriter(run) as writer:
        writer.write(128, {"update": 1, "return": 0.5, "loss/policy": -0.25})
        writer.write(256, {"update": np.int32(2), "return": jnp.float32(1.5), "sps": 1000.0})
    assert run.metrics_path.read_text().splitlines() == [
        '{"env_steps": 128, "update": 1, "return": 0.5, "loss/policy": -0.25}',
        '{"env_steps": 256, "update": 2, "return": 1.5, "sps": 1000.0}',
    ]
    assert read_metrics(run.metrics_path) == [
        {"env_steps": 128, "update": 1, "return": 0.5, "loss/policy": -0.25},
        {"env_steps": 256, "update": 2, "return": 1.5, "sps": 1000.0},
    ]


def test_non_finite_values_become_null(run):
    with MetricsWriter(run) as writer:
        writer.write(1, {"return": float("nan"), "loss/value": np.inf, "loss/kl": -jnp.inf})
        writer.write(2, {"return": None, "x": 2})
    assert run.metrics_path.read_text().splitlines() == [
        '{"env_steps": 1, "return": null, "loss/value": null, "loss/kl": null}',
        '{"env_steps": 2, "return": null, "x": 2}',
    ]
    assert read_metrics(run.metrics_path) == [
        {"env_steps": 1, "return": None, "loss/value": None, "loss/kl": None},
        {"env_steps": 2, "return": None, "x": 2},
    ]


@pytest.mark.parametrize("value", [np.zeros(2), "high", np.zeros(0), object()])
def test_a_value_that_is_not_one_number_is_refused(run, value):
    with MetricsWriter(run) as writer, pytest.raises(ValueError, match="'bad'"):
        writer.write(1, {"bad": value})


def test_truncate_after_drops_later_rows_so_a_resume_does_not_duplicate(run):
    with MetricsWriter(run) as writer:
        for update, step in enumerate((100, 200, 300, 400), start=1):
            writer.write(step, {"update": update, "return": float(update)})
    # the run is resumed from its checkpoint at env step 200 and repeats 300 and 400
    with MetricsWriter(run) as writer:
        writer.truncate_after(200)
        assert [row["env_steps"] for row in read_metrics(run.metrics_path)] == [100, 200]
        writer.write(300, {"update": 3, "return": 30.0})
        writer.write(400, {"update": 4, "return": 40.0})
    rows = read_metrics(run.metrics_path)
    assert [(row["env_steps"], row["return"]) for row in rows] == [
        (100, 1.0), (200, 2.0), (300, 30.0), (400, 40.0)
    ]  # fmt: skip


def test_a_torn_last_line_is_skipped_and_does_not_swallow_the_next_row(run):
    with MetricsWriter(run) as writer:
        writer.write(10, {"return": 1.0})
    with open(run.metrics_path, "a") as file:
        file.write('{"env_steps": 20, "ret')  # the writer was killed mid-row
    assert read_metrics(run.metrics_path) == [{"env_steps": 10, "return": 1.0}]
    with MetricsWriter(run) as writer:
        writer.write(20, {"return": 2.0})
    assert read_metrics(run.metrics_path) == [
        {"env_steps": 10, "return": 1.0},
        {"env_steps": 20, "return": 2.0},
    ]


def test_read_metrics_of_a_missing_file_is_empty(tmp_path):
    assert read_metrics(tmp_path / "metrics.jsonl") == []


def test_each_finite_scalar_goes_to_tensorboard_at_its_env_step(run):
    with MetricsWriter(run) as writer:
        writer.write(64, {"update": 1, "return/a": 0.25, "loss/policy": float("nan")})
        writer.write(128, {"update": 2, "return/a": 0.75, "loss/policy": -1.5})
    (events,) = read_events(run)
    assert scalars(events) == [
        ("update", 64, 1.0),
        ("return/a", 64, 0.25),
        ("update", 128, 2.0),
        ("return/a", 128, 0.75),
        ("loss/policy", 128, -1.5),
    ]


def test_truncate_after_starts_an_event_file_that_purges_later_steps(run):
    with MetricsWriter(run) as writer:
        writer.write(100, {"return": 1.0})
        writer.write(200, {"return": 2.0})
        writer.truncate_after(100)
        writer.write(200, {"return": 20.0})
    first, second = read_events(run)
    assert scalars(first) == [("return", 100, 1.0), ("return", 200, 2.0)]
    # a session START at step 101 makes TensorBoard drop the earlier files' events at >= 101
    starts = [event.step for event in second if event.session_log.status == SessionLog.START]
    kinds = [
        "start" if event.session_log.status == SessionLog.START else "scalar"
        for event in second
        if event.session_log.status or event.summary.value
    ]
    assert starts == [101] and kinds == ["start", "scalar"]
    assert scalars(second) == [("return", 200, 20.0)]
    assert json.loads(run.metrics_path.read_text().splitlines()[-1])["return"] == 20.0
