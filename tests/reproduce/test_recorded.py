"""recorded.json holds BENCHMARKS.md's numbers: every value of the copied tables is found on
its row of BENCHMARKS.md, and every recorded cell is a cell of its registered table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marlax.reproduce import TABLES, load_recorded
from marlax.reproduce.compare import Tolerance, Value

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("reproduce.test_recorded")

BENCHMARKS = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"


@pytest.fixture(scope="module")
def recorded():
    return load_recorded()


def test_every_table_has_a_record_and_every_recorded_cell_a_table_cell(recorded):
    assert {table.heading for table in TABLES} == set(recorded)
    for table in TABLES:
        record = recorded[table.heading]
        assert set(record["cells"]) <= {cell.name for cell in table.cells}, table.name
        assert "default" in record["tolerance"] and record["tolerance_note"]
        for band in record["tolerance"].values():
            Tolerance.from_json(band)
        for cell in record["cells"].values():
            for value in cell["values"].values():
                Value.from_json(value)


@pytest.mark.skipif(not BENCHMARKS.is_file(), reason="needs the repository's BENCHMARKS.md")
def test_copied_tables_match_benchmarks_md_row_by_row(recorded):
    text = BENCHMARKS.read_text()
    for table in TABLES[:3]:
        assert f"### {table.heading}\n" in text or f"## {table.heading}\n" in text
    throughput = recorded["Environment throughput (issue 2)"]["cells"]
    assert len(throughput) == 28
    for cell in throughput.values():
        values, settings = cell["values"], cell["settings"]
        row = (
            f"| marlax {settings['env']} | {settings['num_envs']} | {values['compile_s']:.2f} |"
            f" {values['env_steps_per_s']:,.0f} |"
        )
        assert row in text, row
    scaling = recorded["1. Pipeline scaling in N (`marlax bench`, M fixed)"]["cells"]
    for cell in scaling.values():
        v = cell["values"]
        row = (
            f"| {cell['settings']['num_agents']} | {v['forward_ms']} | {v['gradient_ms']} |"
            f" {v['compile_s']} | {v['forward_temp_mib']} | {v['gradient_temp_mib']} |"
            f" {v['peak_rss_mib']:.0f} |"
        )
        assert row in text, row
    learning = recorded["Shipped configs vs a uniform-random policy (`benchmarks/learning.py`)"]
    section = text.split(f"### {TABLES[2].heading}")[1].split("\n- ")[0]
    pairs = {(float(m), float(s)) for m, s in re.findall(r"(-?[\d.]+) \+- ([\d.]+)", section)}
    for cell in learning["cells"].values():
        for value in cell["values"].values():
            assert (value["mean"], value["std"]) in pairs, value


def test_value_based_record_is_the_measured_one(recorded):
    cells = recorded["Value-based learners on simple_spread (IQL, VDN, QMIX)"]["cells"]
    interval = {
        name: (v["mean"], v["low"], v["high"])
        for name, cell in cells.items()
        if name != "random"
        for v in [cell["values"]["team_return"]]
    }
    assert interval == {
        "qmix": (-15.43, -15.95, -14.92),
        "vdn": (-16.52, -17.05, -15.97),
        "iql": (-18.49, -19.11, -17.87),
    }
    assert cells["random"]["values"]["team_return"] == -26.48
    assert all(cells[name]["settings"] == {"env_steps": 1_000_000} for name in interval)
