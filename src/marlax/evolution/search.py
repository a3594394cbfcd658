"""Run an arrangement search: breed, score and record generations; resume after a kill.

    spec = load_search("configs/arrangement_search_nback.json")
    folder = create_search(spec)                       # runs/<name>/, or open_search(...)
    result = run_search(spec, folder)                  # PPO-scored; pass scorer= to replace it
    result.best["genome"], result.lineage

The search folder (`runs/<name>/`, listed by `marlax runs` with learner "evolve") holds:
    config.json              the resolved search (base config, genes, settings)
    status.json              running / finished / stopped / failed, progress, best score
    candidates.json          one record per candidate scored (`marlax.evolution.records`)
    report.json              best-of-generation table, the best candidate and its lineage
    best_config.json         the best arrangement as a training config (`marlax train -c`)
    best_of_generation.png   the best-of-generation curve

The GA draws everything from `numpy.random.default_rng(search.seed)` and scores are
deterministic, so a search is a pure function of its config. Resuming replays it from
generation 0 with the stored scores as a cache: candidates already scored are not trained
again, and the search continues exactly where the killed one stopped. candidates.json is
rewritten atomically after every training, so a kill loses at most the candidate in training.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marlax.config import config_to_dict, load_from_dict
from marlax.evolution.genes import (
    candidate_config,
    candidate_overrides,
    genome_values,
    phenotype_key,
)
from marlax.evolution.load import SearchSpec, search_from_dict
from marlax.evolution.plot import plot_generations
from marlax.evolution.population import (
    Candidate,
    initial_population,
    next_generation,
)
from marlax.evolution.records import Record, best_record, fitness_of, generation_rows, lineage
from marlax.evolution.scoring import Scorer, ppo_scorer
from marlax.runs.atomic import write_json_atomic
from marlax.runs.folder import RunFolder
from marlax.runs.jsonable import jsonable
from marlax.runs.naming import new_run_name
from marlax.validate import require

LEARNER_NAME = "evolve"
CANDIDATES_FILE = "candidates.json"
REPORT_FILE = "report.json"
BEST_CONFIG_FILE = "best_config.json"
PLOT_FILE = "best_of_generation.png"


@dataclass(frozen=True)
class SearchResult:
    """A finished search."""

    folder: RunFolder
    records: list[Record]
    """Every candidate of every generation, in order."""
    best: Record
    """The best-scored candidate (the earliest among equals)."""
    lineage: list[Record]
    """The best candidate and its ancestors, oldest first."""
    generations: list[dict[str, Any]]
    """The best-of-generation table (`records.generation_rows`)."""
    trained: int
    """Candidates trained by this call (the rest came from the cache)."""


def score_description(spec: SearchSpec) -> str:
    """What a score is, for tables and plots."""
    return f"mean training return over the last {spec.settings.score_updates} PPO updates"


def create_search(spec: SearchSpec) -> RunFolder:
    """A fresh search folder `search.runs_dir/<search.name or a new name>/` with config.json."""
    runs_dir = Path(spec.settings.runs_dir)
    name = spec.settings.name or new_run_name(runs_dir)
    return RunFolder.create(runs_dir, name, spec.to_dict())


def open_search(runs_dir: Path, name: str) -> tuple[RunFolder, SearchSpec]:
    """An existing search folder and its search.

    Raises:
        ConfigError: no such run, or a run that is not a search.
    """
    folder = RunFolder.open(Path(runs_dir), name)
    raw = folder.read_config()
    require(
        isinstance(raw, dict) and "genes" in raw and "search" in raw,
        "run",
        name,
        "a search folder made by marlax evolve (this run is a training run)",
    )
    return folder, search_from_dict(raw)


def read_records(folder: RunFolder) -> list[Record]:
    """The candidate records stored in `folder` ([] before the first training)."""
    path = folder.path / CANDIDATES_FILE
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["candidates"]


class _Search:
    """The mutable side of one search call: records, the score cache, what has been seen."""

    def __init__(self, spec: SearchSpec, folder: RunFolder, scorer: Scorer) -> None:
        self.spec, self.folder, self.scorer = spec, folder, scorer
        stored = read_records(folder)
        self.stored_count = len(stored)
        self.cache = {phenotype_key(r["overrides"]): r for r in stored if r["trained"]}
        self.seen: set[str] = set()
        self.records: list[Record] = []
        self.trained = 0

    def overrides(self, genome: tuple[int, ...]) -> list[str]:
        return candidate_overrides(self.spec.genes, genome, self.spec.base["model"])

    def novel(self, genome: tuple[int, ...]) -> bool:
        """Whether the genome's arrangement is new to this search; marks it seen."""
        key = phenotype_key(self.overrides(genome))
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh

    def evaluate(self, candidate: Candidate) -> Record:
        """The candidate's record: from the cache when its arrangement was scored, else
        trained now (and candidates.json rewritten)."""
        config, overrides = candidate_config(self.spec.base, self.spec.genes, candidate.genome)
        key = phenotype_key(overrides)
        record = {
            "id": candidate.id,
            "generation": candidate.generation,
            "parents": list(candidate.parents),
            "origin": candidate.origin,
            "genome": genome_values(self.spec.genes, candidate.genome),
            "overrides": overrides,
        }
        cached = self.cache.get(key)
        if cached is not None:
            itself = cached["id"] == candidate.id  # replaying its own training on resume
            same_as = None if itself else cached["id"]
            measured = {name: cached[name] for name in ("score", "env_steps", "seconds")}
            record.update(measured, trained=itself, same_as=same_as)
        else:
            score, env_steps, seconds = self.scorer(config)
            record.update(score=score, env_steps=env_steps, seconds=seconds)
            record.update(trained=True, same_as=None)
            self.cache[key] = record
            self.trained += 1
        self.records.append(record)
        if record["trained"] and len(self.records) > self.stored_count:
            self.save_records()
        return record

    def save_records(self) -> None:
        """candidates.json, atomically (never shorter than what was stored)."""
        payload = {"score": score_description(self.spec), "candidates": self.records}
        write_json_atomic(self.folder.path / CANDIDATES_FILE, jsonable(payload))


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("candidates"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _describe_progress(generation: int, generations: int, best: float) -> str:
    shown = "-" if math.isinf(best) else f"{best:.4g}"
    return f"generation {generation + 1}/{generations}, best {shown}"


def run_search(
    spec: SearchSpec,
    folder: RunFolder,
    scorer: Scorer | None = None,
    console: Console | None = None,
) -> SearchResult:
    """Run (or resume) the search in `folder` to its last generation.

    Args:
        spec: the search (`load_search`, or `open_search` when resuming).
        folder: its folder (`create_search` / `open_search`); stored candidates are reused.
        scorer: the fitness (default: `ppo_scorer(search.score_updates)`).
        console: where the progress bar goes.

    Returns:
        The search's records, best candidate, its lineage and the best-of-generation table.
    """
    state = _Search(spec, folder, scorer or ppo_scorer(spec.settings.score_updates))
    settings = spec.settings
    folder.write_status("running", learner=LEARNER_NAME, candidates=0)
    try:
        with _progress(console) as progress:
            task = progress.add_task(
                "generation 1", total=settings.population_size * settings.generations
            )
            _generations(state, progress, task)
    except KeyboardInterrupt:
        folder.write_status("stopped", learner=LEARNER_NAME, candidates=len(state.records))
        raise
    except BaseException as error:
        folder.write_status("failed", learner=LEARNER_NAME, message=str(error))
        raise
    return _finish(state)


def _generations(state: _Search, progress: Progress, task: Any) -> None:
    """Score generation after generation, breeding each next one from the last."""
    spec, settings = state.spec, state.spec.settings
    rng = np.random.default_rng(settings.seed)
    population = initial_population(rng, spec.sizes, settings, state.novel)
    best = -math.inf
    for generation in range(settings.generations):
        fitness = []
        for candidate in population:
            description = _describe_progress(generation, settings.generations, best)
            progress.update(task, description=description)
            fitness.append(fitness_of(state.evaluate(candidate)))
            best = max(best, fitness[-1])
            progress.advance(task)
        state.folder.write_status(
            "running",
            learner=LEARNER_NAME,
            generation=generation,
            candidates=len(state.records),
            best_score=None if math.isinf(best) else best,
        )
        if generation + 1 < settings.generations:
            population = next_generation(
                rng,
                population,
                fitness,
                spec.sizes,
                settings,
                state.novel,
                generation=generation + 1,
            )


def _finish(state: _Search) -> SearchResult:
    """Write candidates.json, report.json, best_config.json, the plot and the final status."""
    spec, folder, records = state.spec, state.folder, state.records
    state.save_records()
    best = best_record(records)
    ancestry = lineage(records, best["id"])
    rows = generation_rows(records)
    trained = [record for record in records if record["trained"]]
    report = {
        "score": score_description(spec),
        "best": best,
        "lineage": ancestry,
        "generations": rows,
        "candidates": len(records),
        "trainings": len(trained),
        "train_seconds": sum(record["seconds"] for record in trained),
        "env_steps": sum(record["env_steps"] for record in trained),
    }
    write_json_atomic(folder.path / REPORT_FILE, jsonable(report))
    best_config = load_from_dict(spec.base, best["overrides"])
    write_json_atomic(folder.path / BEST_CONFIG_FILE, config_to_dict(best_config))
    plot_generations(records, folder.path / PLOT_FILE, score_description(spec))
    folder.write_status(
        "finished",
        learner=LEARNER_NAME,
        candidates=len(records),
        best_score=best["score"],
        best_id=best["id"],
    )
    return SearchResult(folder, records, best, ancestry, rows, state.trained)


__all__ = [
    "BEST_CONFIG_FILE",
    "CANDIDATES_FILE",
    "PLOT_FILE",
    "REPORT_FILE",
    "SearchResult",
    "create_search",
    "open_search",
    "read_records",
    "run_search",
    "score_description",
]
