"""compare.py on hand-made numbers: each tolerance band flags a value outside it and passes
one inside; cells under other settings are not compared."""

from __future__ import annotations

import math

import pytest

from marlax.errors import ConfigError
from marlax.reproduce.compare import (
    NotCompared,
    Tolerance,
    Value,
    compare_cell,
    difference_lines,
    judge,
)

SEED_NOISE = Tolerance(std_multiple=3.0, relative=0.1)


def test_seed_noise_band_is_the_larger_of_three_stds_and_ten_percent():
    recorded = Value(-19.96, std=0.38)
    # 3 x max(0.40, 0.38) = 1.2 < 10% of 19.96 = 1.996: the relative band decides
    assert SEED_NOISE.difference_band(Value(-19.5, std=0.4), recorded) == pytest.approx(1.996)
    assert judge(Value(-21.9, std=0.4), recorded, SEED_NOISE).matches  # 1.94 off
    outside = judge(Value(-22.0, std=0.4), recorded, SEED_NOISE)  # 2.04 off
    assert not outside.matches and outside.allowed == "|diff| <= 1.996"
    # a wide seed spread widens the band: 3 x 2.99 = 8.97 around 3.36
    assert judge(Value(0.2, std=0.1), Value(3.36, std=2.99), SEED_NOISE).matches


def test_ratio_band_for_throughput():
    machine = Tolerance(ratio=3.0)
    recorded = Value(29_973.0)
    assert judge(Value(70_000.0), recorded, machine).matches  # 2.34x
    assert judge(Value(10_000.0), recorded, machine).matches  # 0.334x
    assert not judge(Value(9_900.0), recorded, machine).matches  # 0.330x < 1/3
    assert not judge(Value(90_000.0), recorded, machine).matches  # 3.003x


def test_interval_band_widens_the_recorded_interval():
    interval = Tolerance(interval_margin=1.0)
    recorded = Value(-15.43, low=-15.95, high=-14.92)
    assert judge(Value(-16.9), recorded, interval).matches
    assert judge(Value(-14.0), recorded, interval).matches
    verdict = judge(Value(-17.0), recorded, interval)
    assert not verdict.matches and verdict.allowed == "in [-16.95, -13.92]"


def test_nan_never_matches_and_a_tolerance_must_apply():
    assert not judge(Value(math.nan), Value(1.0), Tolerance(absolute=10.0)).matches
    with pytest.raises(ConfigError):
        judge(Value(1.0), Value(1.0), Tolerance(interval_margin=1.0))  # no interval recorded


def test_value_from_json_and_description():
    assert Value.from_json(6.5) == Value(6.5)
    parsed = Value.from_json({"mean": -15.43, "low": -15.95, "high": -14.92})
    assert parsed.describe() == "-15.43 [-15.95, -14.92]"
    assert Value.from_json({"mean": 1.0, "std": 0.5}).to_json() == {"mean": 1.0, "std": 0.5}
    with pytest.raises(ConfigError):
        Value.from_json({"std": 1.0})


def _record(**extra):
    return {"settings": {"env_steps": 196_608}, "values": {"trained": {"mean": 2.0}}, **extra}


def test_compare_cell_only_under_the_recorded_settings():
    tolerances = {"default": Tolerance(absolute=0.5)}
    measured = {"settings": {"env_steps": 100}, "values": {"trained": 2.1}}
    skipped = compare_cell("learning", "x", measured, _record(), tolerances)
    assert isinstance(skipped, NotCompared)
    assert skipped.reason == "settings differ: env_steps 100 (recorded 196608)"
    assert compare_cell("learning", "x", measured, None, tolerances).reason == "no recorded number"
    measured["settings"]["env_steps"] = 196_608
    (verdict,) = compare_cell("learning", "x", measured, _record(), tolerances)
    assert verdict.matches and (verdict.table, verdict.cell, verdict.metric) == (
        "learning",
        "x",
        "trained",
    )
    # a cell's own tolerance replaces the table's
    (strict,) = compare_cell(
        "learning", "x", measured, _record(tolerance={"absolute": 0.05}), tolerances
    )
    assert not strict.matches


def test_difference_lines_flag_only_values_outside():
    inside = judge(Value(1.0), Value(1.1), Tolerance(absolute=0.2), ("t", "a", "m"))
    outside = judge(Value(1.0), Value(2.0), Tolerance(absolute=0.2), ("t", "b", "m"))
    lines = difference_lines([inside, outside, NotCompared("t", "c", "no recorded number")])
    assert lines == [
        "1 values match their record, 1 differ.",
        "- DIFFERS t / b / m: measured 1, recorded 2 (allowed: |diff| <= 0.2)",
        "- not compared t / c: no recorded number",
    ]
