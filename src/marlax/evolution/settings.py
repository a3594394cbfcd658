"""The `search` section of an arrangement search: population, generations, operators, budget.

    {"search": {"population_size": 8, "generations": 4, "selection": "tournament", ...}}

Every field is checked at construction (`ConfigError` naming `search.<field>` once the loader
prefixes it), like the training config's sections.
"""

from __future__ import annotations

from dataclasses import dataclass

from marlax.config.validators import (
    check_fields,
    choice,
    integer,
    number,
    optional,
    spec,
    string,
)
from marlax.validate import require

SELECTIONS = ("tournament", "truncation")


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """How the genetic algorithm breeds and scores arrangements."""

    population_size: int = spec(8, integer(2))
    """P, candidates per generation (>= 2)."""
    generations: int = spec(4, integer(1))
    """G, generations scored (>= 1); the search scores P * G candidates, fewer trainings when
    arrangements repeat (each distinct arrangement is trained once)."""
    selection: str = spec("tournament", choice(SELECTIONS))
    """How parents are picked: "tournament" (the fittest of `tournament_size` candidates drawn
    with replacement) or "truncation" (uniform among the top `truncation_fraction`)."""
    tournament_size: int = spec(2, integer(1))
    """Candidates per tournament (1..population_size; 1 = parents drawn uniformly)."""
    truncation_fraction: float = spec(0.5, number(0.0, 1.0, open_low=True))
    """Share of the ranked population truncation selection draws parents from, in (0, 1]."""
    elites: int = spec(1, integer(0))
    """Best candidates copied unchanged into the next generation (0..population_size - 1)."""
    crossover_rate: float = spec(0.9, number(0.0, 1.0))
    """Probability that a child mixes two parents gene by gene (uniform crossover, each gene
    from either parent with probability 1/2); otherwise it copies its first parent."""
    mutation_rate: float = spec(0.25, number(0.0, 1.0))
    """Per-gene probability that a child's gene is redrawn among that gene's other choices."""
    novelty_retries: int = spec(10, integer(0))
    """Extra single-gene mutations tried on a child whose arrangement was already scored or
    bred, so the training budget goes to new arrangements (0 = accept repeats)."""
    seed: int = spec(0, integer(0))
    """Seed of the host-side genetic algorithm (numpy Generator); the candidates themselves
    train with the base config's `run.seed`, the same for all (paired comparisons)."""
    score_updates: int = spec(5, integer(1))
    """A candidate's score is its mean training return over this many last PPO updates
    (all of them when it trains fewer)."""
    runs_dir: str = spec("runs", string())
    """Folder the search's folder goes in."""
    name: str | None = spec(None, optional(string(forbidden="/\\"), "a fresh name"))
    """The search folder's name under runs_dir; None = a fresh adjective-animal-NN."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(
            self.tournament_size <= self.population_size,
            "tournament_size",
            self.tournament_size,
            f"at most population_size = {self.population_size}",
        )
        require(
            self.elites < self.population_size,
            "elites",
            self.elites,
            f"fewer than population_size = {self.population_size} (children need a place)",
        )


__all__ = ["SELECTIONS", "SearchSettings"]
