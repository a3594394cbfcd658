"""Measured against recorded: does each number of a reproduced cell match BENCHMARKS.md?

    tolerance = Tolerance(absolute=1.0, std_multiple=3.0)
    verdict = judge(Value(-19.5, std=0.4), Value(-19.96, std=0.38), tolerance)
    verdict.matches, verdict.allowed           # True, "|difference| <= 1.2"

A measured value matches when any band the tolerance sets holds:
- |measured - recorded| <= max(absolute, relative * |recorded|, std_multiple * the larger
  of the two seed standard deviations) (when any of those is set);
- measured / recorded within [1 / ratio, ratio] (throughput: the machine sets the scale);
- measured inside the recorded interval [low, high] widened by `interval_margin` on each side.
A cell is compared only where its settings (env steps, batch size, ...) equal the recorded
ones; otherwise it is reported as not comparable, with the setting that differs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marlax.validate import is_number, require


@dataclass(frozen=True)
class Value:
    """A number with its spread: a mean, a seed standard deviation, or an interval."""

    mean: float
    std: float | None = None
    """Standard deviation over seeds (None: one seed, or not recorded)."""
    low: float | None = None
    """Lower end of a 95% interval (None: none recorded)."""
    high: float | None = None
    """Upper end of a 95% interval."""

    @classmethod
    def from_json(cls, data: Any) -> Value:
        """A plain number, or {"mean", "std"?, "low"?, "high"?}."""
        if is_number(data):
            return cls(float(data))
        require(isinstance(data, Mapping) and "mean" in data, "value", data, "a number or {mean}")
        return cls(
            float(data["mean"]),
            *(None if data.get(name) is None else float(data[name]) for name in _SPREAD),
        )

    def to_json(self) -> dict[str, float]:
        spread = {name: getattr(self, name) for name in _SPREAD}
        return {"mean": self.mean, **{k: v for k, v in spread.items() if v is not None}}

    def describe(self) -> str:
        """'-19.96 +- 0.38', '-15.43 [-15.95, -14.92]' or '6.5'."""
        text = _number(self.mean)
        if self.std is not None:
            text += f" +- {_number(self.std)}"
        if self.low is not None and self.high is not None:
            text += f" [{_number(self.low)}, {_number(self.high)}]"
        return text


_SPREAD = ("std", "low", "high")


def _number(value: float) -> str:
    """Four significant digits, thousands separated for large values."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Tolerance:
    """The bands inside which a measured value matches a recorded one (see module doc)."""

    absolute: float = 0.0
    relative: float = 0.0
    std_multiple: float = 0.0
    ratio: float | None = None
    interval_margin: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tolerance:
        known = {"absolute", "relative", "std_multiple", "ratio", "interval_margin"}
        require(set(data) <= known, "tolerance", dict(data), f"keys among {sorted(known)}")
        return cls(**{key: float(value) for key, value in data.items()})

    def difference_band(self, measured: Value, recorded: Value) -> float | None:
        """The largest |measured - recorded| allowed, or None when no difference band is set."""
        if not (self.absolute or self.relative or self.std_multiple):
            return None
        spread = max(measured.std or 0.0, recorded.std or 0.0)
        return max(self.absolute, self.relative * abs(recorded.mean), self.std_multiple * spread)


@dataclass(frozen=True)
class Verdict:
    """One metric of one cell, measured against its record."""

    table: str
    cell: str
    metric: str
    measured: Value
    recorded: Value
    matches: bool
    allowed: str
    """The bands that were checked, in words."""


def judge(
    measured: Value,
    recorded: Value,
    tolerance: Tolerance,
    where: tuple[str, str, str] = ("", "", ""),
) -> Verdict:
    """Whether `measured` lies inside any band of `tolerance` around `recorded`."""
    checks: list[tuple[bool, str]] = []
    band = tolerance.difference_band(measured, recorded)
    if band is not None:
        checks.append((abs(measured.mean - recorded.mean) <= band, f"|diff| <= {_number(band)}"))
    if tolerance.ratio is not None:
        quotient = measured.mean / recorded.mean if recorded.mean else math.inf
        inside = 1.0 / tolerance.ratio <= quotient <= tolerance.ratio
        checks.append((inside, f"ratio in [1/{tolerance.ratio:g}, {tolerance.ratio:g}]"))
    if tolerance.interval_margin is not None and recorded.low is not None:
        low = recorded.low - tolerance.interval_margin
        high = recorded.high + tolerance.interval_margin
        checks.append((low <= measured.mean <= high, f"in [{_number(low)}, {_number(high)}]"))
    require(bool(checks), "tolerance", tolerance, "at least one band that applies to the value")
    matches = any(inside for inside, _ in checks) and math.isfinite(measured.mean)
    table, cell, metric = where
    allowed = " or ".join(text for _, text in checks)
    return Verdict(table, cell, metric, measured, recorded, matches, allowed)


@dataclass(frozen=True)
class NotCompared:
    """A cell measured under other settings than the record (or with no record)."""

    table: str
    cell: str
    reason: str


def settings_difference(measured: Mapping[str, Any], recorded: Mapping[str, Any]) -> str:
    """'' when every recorded setting equals the measured one, else which ones differ."""
    return ", ".join(
        f"{name} {measured.get(name)!r} (recorded {value!r})"
        for name, value in recorded.items()
        if measured.get(name) != value
    )


def compare_cell(
    table: str,
    cell: str,
    measured: Mapping[str, Any],
    record: Mapping[str, Any] | None,
    tolerances: Mapping[str, Tolerance],
) -> list[Verdict] | NotCompared:
    """Every recorded metric of one cell against its measurement.

    Args:
        measured: the cell's result: {"settings": {...}, "values": {metric: value json}}.
        record: the recorded cell ({"settings", "values", "tolerance"?}), None if none.
        tolerances: metric -> Tolerance ("default" for the others); a cell's own
            "tolerance" entry replaces them.
    """
    if record is None:
        return NotCompared(table, cell, "no recorded number")
    differs = settings_difference(measured.get("settings", {}), record.get("settings", {}))
    if differs:
        return NotCompared(table, cell, f"settings differ: {differs}")
    own = record.get("tolerance")
    verdicts = []
    for metric, recorded in record["values"].items():
        if metric not in measured["values"]:
            continue
        tolerance = (
            Tolerance.from_json(own) if own else tolerances.get(metric, tolerances["default"])
        )
        verdicts.append(
            judge(
                Value.from_json(measured["values"][metric]),
                Value.from_json(recorded),
                tolerance,
                (table, cell, metric),
            )
        )
    return verdicts


def difference_lines(results: list[Verdict | NotCompared]) -> list[str]:
    """One markdown line per value outside its band, then the cells not compared."""
    differing = [r for r in results if isinstance(r, Verdict) and not r.matches]
    matching = [r for r in results if isinstance(r, Verdict) and r.matches]
    skipped = [r for r in results if isinstance(r, NotCompared)]
    lines = [f"{len(matching)} values match their record, {len(differing)} differ."]
    lines += [
        f"- DIFFERS {v.table} / {v.cell} / {v.metric}: measured {v.measured.describe()}, "
        f"recorded {v.recorded.describe()} (allowed: {v.allowed})"
        for v in differing
    ]
    lines += [f"- not compared {s.table} / {s.cell}: {s.reason}" for s in skipped]
    return lines
