"""A reproduced table as markdown: a multi-task cell gives one row per task, and a recorded
number shows only where the cell ran under the recorded settings."""

from __future__ import annotations

from marlax.reproduce import load_recorded
from marlax.reproduce.learning import TABLE as LEARNING
from marlax.reproduce.markdown import table_markdown


def _multitask(env_steps: int) -> dict:
    return {
        "settings": {"env_steps": env_steps},
        "values": {
            "traveling_salesman: random": {"mean": 0.35, "std": 0.05},
            "traveling_salesman: trained": {"mean": 1.5, "std": 0.6},
            "grid_return: random": {"mean": 0.05, "std": 0.0},
            "grid_return: trained": {"mean": 0.4, "std": 0.1},
        },
        "seconds": 351.2,
    }


def test_multitask_rows_with_their_records():
    record = load_recorded()[LEARNING.heading]
    text = table_markdown(LEARNING, [("multitask", _multitask(99_328))], record)
    assert (
        "| multitask (traveling_salesman) | 99328 | 0.350 +- 0.050 (0.354 +- 0.052) |"
        " 1.500 +- 0.600 (1.390 +- 0.680) | 351 |"
    ) in text
    assert "| multitask (grid_return) | 99328 | 0.050 +- 0.000 (0.047 +- 0.000) |" in text


def test_no_record_beside_a_cell_run_under_other_settings():
    record = load_recorded()[LEARNING.heading]
    text = table_markdown(LEARNING, [("multitask", _multitask(1_024))], record)
    assert "| multitask (traveling_salesman) | 1024 | 0.350 +- 0.050 | 1.500 +- 0.600 | 351 |" in (
        text
    )


def test_notes_on_records_taken_before_a_config_changed():
    record = load_recorded()[LEARNING.heading]
    result = {"settings": {"env_steps": 98_304}, "values": {"trained": 20.0}, "seconds": 1.0}
    text = table_markdown(LEARNING, [("nback", result)], record)
    assert "| nback | 98304 | - (16.100 +- 0.020) | 20.000 (24.800 +- 0.230) | 1 |" in text
    assert "Note on nback: configs/nback.json changed in issue 16" in text
