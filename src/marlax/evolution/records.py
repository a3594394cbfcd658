"""What a search keeps: one record per candidate, the best-of-generation table, the lineage.

A record is a JSON object:

    {"id": "g2-3", "generation": 2, "parents": ["g1-0", "g1-4"], "origin": "crossover",
     "genome": {"core": "gru", "width": 64, ...}, "overrides": ["model.name=\\"gru\\"", ...],
     "score": 23.9, "trained": true, "same_as": null, "env_steps": 49152, "seconds": 14.1}

`trained` is false for a candidate whose arrangement was scored earlier in the search (an
elite, or a repeat); `same_as` then names the candidate that was trained, and its score,
steps and seconds are copied from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

Record = dict[str, Any]


def fitness_of(record: Mapping[str, Any]) -> float:
    """The record's score as the GA ranks it: -inf when it has none."""
    score = record.get("score")
    return -math.inf if score is None else float(score)


def best_record(records: Sequence[Record]) -> Record:
    """The best-scored record (the earliest among equals)."""
    return min(enumerate(records), key=lambda pair: (-fitness_of(pair[1]), pair[0]))[1]


def generation_rows(records: Sequence[Record]) -> list[dict[str, Any]]:
    """One row per generation: its best score and candidate, mean score, trainings done.

    Returns:
        [{"generation", "best_score", "best_id", "mean_score", "trained"}, ...] in order;
        scores are None where no candidate of the generation has one.
    """
    rows = []
    for generation in sorted({record["generation"] for record in records}):
        members = [record for record in records if record["generation"] == generation]
        scores = [record["score"] for record in members if record["score"] is not None]
        best = best_record(members)
        rows.append(
            {
                "generation": generation,
                "best_score": best["score"],
                "best_id": best["id"],
                "mean_score": sum(scores) / len(scores) if scores else None,
                "trained": sum(1 for record in members if record["trained"]),
            }
        )
    return rows


def lineage(records: Sequence[Record], candidate_id: str) -> list[Record]:
    """The candidate and all its ancestors (through every parent), oldest generation first.

    Raises:
        KeyError: an id that no record has.
    """
    by_id = {record["id"]: record for record in records}
    found: dict[str, Record] = {}
    pending = [candidate_id]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found[current] = by_id[current]
        pending.extend(found[current]["parents"])
    return sorted(found.values(), key=lambda record: (record["generation"], _index(record["id"])))


def _index(candidate_id: str) -> int:
    """The member index of a `g<generation>-<index>` id."""
    return int(candidate_id.rsplit("-", 1)[1])


def describe_genome(genome: Mapping[str, Any]) -> str:
    """`core=gru width=64 ppo.learning_rate=0.001` (dicts such as a graph shown as {...})."""
    return " ".join(
        f"{name}={'{...}' if isinstance(value, dict) else value}" for name, value in genome.items()
    )


__all__ = [
    "Record",
    "best_record",
    "describe_genome",
    "fitness_of",
    "generation_rows",
    "lineage",
]
