"""Finished cells on disk, and the options of a reproduction checked eagerly."""

from __future__ import annotations

import math

import pytest

from marlax.errors import ConfigError
from marlax.reproduce import ReproduceSettings, select_tables
from marlax.reproduce.store import cell_path, load_cell, save_cell
from marlax.reproduce.tables import TABLES


def test_a_stored_cell_is_reused_only_under_the_same_options(tmp_path):
    path = cell_path(tmp_path, "learning", "simple_spread")
    key = {"quick": False, "budget_scale": 0.5, "seeds": 2}
    assert load_cell(path, key) is None
    save_cell(path, key, {"values": {"trained": 1.5, "missing": math.nan}})
    assert load_cell(path, key) == {"values": {"trained": 1.5, "missing": None}}
    assert load_cell(path, {**key, "seeds": 3}) is None
    assert [p.name for p in path.parent.iterdir()] == ["simple_spread.json"]  # no temp left
    path.write_text("{ half-written")
    assert load_cell(path, key) is None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"budget_scale": 0.0}, "budget_scale"),
        ({"budget_scale": -1.0}, "budget_scale"),
        ({"budget_scale": math.nan}, "budget_scale"),
        ({"seeds": 0}, "seeds"),
        ({"seeds": 1.5}, "seeds"),
    ],
)
def test_bad_options_are_config_errors(tmp_path, options, field):
    with pytest.raises(ConfigError) as raised:
        ReproduceSettings(out=tmp_path, configs_dir=tmp_path, **options)
    assert raised.value.field == field


def test_a_missing_configs_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as raised:
        ReproduceSettings(out=tmp_path, configs_dir=tmp_path / "nope")
    assert raised.value.field == "configs"


def test_tables_run_in_registry_order_and_unknown_names_list_the_valid_ones():
    assert [t.name for t in select_tables(["value-based", "coordination"])] == [
        "coordination",
        "value-based",
    ]
    assert select_tables([]) == TABLES
    with pytest.raises(ConfigError) as raised:
        select_tables(["learning", "lerning"])
    assert raised.value.value == "lerning"
    for table in TABLES:
        assert repr(table.name) in raised.value.expected


def test_seeds_default_to_the_record_and_to_one_in_quick_mode(tmp_path):
    learning = select_tables(["learning"])[0]
    full = ReproduceSettings(out=tmp_path, configs_dir=tmp_path)
    quick = ReproduceSettings(out=tmp_path, configs_dir=tmp_path, quick=True)
    chosen = ReproduceSettings(out=tmp_path, configs_dir=tmp_path, seeds=3, quick=True)
    assert (learning.seeds(full), learning.seeds(quick), learning.seeds(chosen)) == (2, 1, 3)
    assert learning.cell_key(full) == {"quick": False, "budget_scale": 1.0, "seeds": 2}
    throughput = select_tables(["env-throughput"])[0]
    assert throughput.cell_key(full) == {"quick": False}  # budget and seeds do not apply
    assert [c.name for c in learning.selected_cells(quick)] == ["simple_spread-quick"]
