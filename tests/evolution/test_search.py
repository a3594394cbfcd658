"""The search with a fake scorer of known fitness: elitism, caching, determinism, storage and
exact resume after an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlax.evolution.genes import candidate_config
from marlax.evolution.load import search_from_dict
from marlax.evolution.records import lineage
from marlax.evolution.search import (
    BEST_CONFIG_FILE,
    PLOT_FILE,
    REPORT_FILE,
    create_search,
    open_search,
    read_records,
    run_search,
)
from marlax.runs.folder import RunFolder
from tests.evolution.fakes import TINY_BASE, CountingScorer, fake_score

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("evolution.test_search")

GENES = {
    "core": ["mlp", "gru", "transformer"],
    "width": [8, 16, 32],
    "depth": [1, 2],
    "ppo.learning_rate": [0.001, 0.003],
}
# fake_score: width + 1000 lr - 5 for an MLP, so the best arrangements score 32 + 3 = 35


def _spec(tmp_path: Path, *overrides: str, seed: int = 0):
    raw = {
        "base": TINY_BASE,
        "genes": GENES,
        "search": {"population_size": 6, "generations": 4, "seed": seed},
    }
    return search_from_dict(raw, [f"search.runs_dir={tmp_path / 'runs'}", *overrides])


def _search(tmp_path: Path, *overrides: str, seed: int = 0, scorer=None):
    spec = _spec(tmp_path, *overrides, seed=seed)
    scorer = scorer or CountingScorer()
    return run_search(spec, create_search(spec), scorer=scorer), scorer


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One search with the default settings and its counting scorer, shared by the tests."""
    return _search(tmp_path_factory.mktemp("reference"))


def _without_seconds(records):
    return [{key: value for key, value in record.items() if key != "seconds"} for record in records]


def test_every_candidate_is_recorded_with_its_score_and_parents(reference, tmp_path):
    result, _ = reference
    assert len(result.records) == 6 * 4
    assert [r["generation"] for r in result.records] == [g for g in range(4) for _ in range(6)]
    ids = {record["id"] for record in result.records}
    genes = _spec(tmp_path).genes
    for record in result.records:
        config = candidate_config(TINY_BASE, genes, _genome(record))[0]
        assert record["score"] == fake_score(config).score
        assert set(record["parents"]) <= ids
        assert (record["parents"] == []) == (record["generation"] == 0)
    assert read_records(result.folder) == result.records


def _genome(record) -> tuple[int, ...]:
    return tuple(GENES[name].index(value) for name, value in record["genome"].items())


def test_each_arrangement_is_trained_once(reference):
    result, scorer = reference
    distinct = {tuple(record["overrides"]) for record in result.records}
    assert scorer.calls == len(distinct) == sum(r["trained"] for r in result.records)
    for record in result.records:
        if not record["trained"]:
            first = next(r for r in result.records if r["id"] == record["same_as"])
            assert first["trained"] and first["overrides"] == record["overrides"]
            assert first["score"] == record["score"]


def test_elitism_keeps_the_best_and_the_best_never_gets_worse(tmp_path):
    result, _ = _search(tmp_path, "search.elites=2")
    by_generation = [result.records[g * 6 : (g + 1) * 6] for g in range(4)]
    for previous, current in zip(by_generation, by_generation[1:], strict=False):
        ranked = sorted(previous, key=lambda r: -r["score"])[:2]
        elites = [r for r in current if r["origin"] == "elite"]
        assert [e["parents"] for e in elites] == [[r["id"]] for r in ranked]
        assert [e["genome"] for e in elites] == [r["genome"] for r in ranked]
        assert max(r["score"] for r in current) >= max(r["score"] for r in previous)
    rows = result.generations
    assert [row["best_score"] for row in rows] == sorted(row["best_score"] for row in rows)


def test_the_search_improves_on_a_known_fitness(tmp_path):
    result, _ = _search(tmp_path, "search.generations=6")
    first, last = result.generations[0], result.generations[-1]
    assert last["best_score"] >= first["best_score"]
    assert last["mean_score"] > first["mean_score"]


def test_the_search_is_deterministic_under_its_seed(reference, tmp_path):
    first, _ = reference
    again, _ = _search(tmp_path / "b")
    other, _ = _search(tmp_path / "c", seed=1)
    assert _without_seconds(first.records) == _without_seconds(again.records)
    assert [r["genome"] for r in first.records] != [r["genome"] for r in other.records]


def test_the_report_has_the_best_its_lineage_and_the_files(reference):
    result, _ = reference
    folder = result.folder.path
    report = json.loads((folder / REPORT_FILE).read_text())
    best_score = max(record["score"] for record in result.records)
    assert report["best"]["score"] == best_score == result.best["score"]
    assert [row["best_score"] for row in report["generations"]] == [
        max(r["score"] for r in result.records if r["generation"] == g) for g in range(4)
    ]
    ancestry = report["lineage"]
    assert ancestry[-1]["id"] == result.best["id"] or result.best["generation"] == 0
    assert ancestry[0]["generation"] == 0
    ids = {record["id"] for record in ancestry}
    assert all(set(record["parents"]) <= ids for record in ancestry)
    assert (folder / PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best_config = json.loads((folder / BEST_CONFIG_FILE).read_text())
    assert best_config["model"]["name"] == result.best["genome"]["core"]
    assert best_config["ppo"]["learning_rate"] == result.best["genome"]["ppo.learning_rate"]
    status = RunFolder(folder).read_status()
    assert status["state"] == "finished" and status["best_score"] == best_score


def test_lineage_follows_every_parent_by_hand():
    records = [
        {"id": "g0-0", "generation": 0, "parents": []},
        {"id": "g0-1", "generation": 0, "parents": []},
        {"id": "g0-2", "generation": 0, "parents": []},
        {"id": "g1-0", "generation": 1, "parents": ["g0-1"]},
        {"id": "g1-1", "generation": 1, "parents": ["g0-2", "g0-1"]},
        {"id": "g2-0", "generation": 2, "parents": ["g1-1", "g1-0"]},
    ]
    assert [r["id"] for r in lineage(records, "g2-0")] == [
        "g0-1",
        "g0-2",
        "g1-0",
        "g1-1",
        "g2-0",
    ]
    assert [r["id"] for r in lineage(records, "g0-0")] == ["g0-0"]


@pytest.mark.parametrize("stop_after", [0, 7])
def test_resume_skips_scored_candidates_and_ends_as_an_uninterrupted_search(
    reference, tmp_path, stop_after
):
    reference_result, reference_scorer = reference
    spec = _spec(tmp_path / "killed")
    folder = create_search(spec)
    with pytest.raises(KeyboardInterrupt):
        run_search(spec, folder, scorer=CountingScorer(stop_after=stop_after))
    assert len([r for r in read_records(folder) if r["trained"]]) == stop_after
    assert folder.read_status()["state"] == "stopped"

    folder, resumed_spec = open_search(Path(spec.settings.runs_dir), folder.name)
    assert resumed_spec == spec
    scorer = CountingScorer()
    resumed = run_search(resumed_spec, folder, scorer=scorer)
    assert scorer.calls == reference_scorer.calls - stop_after
    assert resumed.trained == scorer.calls
    assert _without_seconds(resumed.records) == _without_seconds(reference_result.records)


def test_truncation_selection_and_no_crossover_also_run(tmp_path):
    result, _ = _search(
        tmp_path, "search.selection=truncation", "search.crossover_rate=0", "search.elites=0"
    )
    bred = [r for r in result.records if r["generation"] > 0]
    assert all(len(r["parents"]) == 1 and "crossover" not in r["origin"] for r in bred)
    scores = np.array([r["score"] for r in result.records])
    assert np.all(np.isfinite(scores))
