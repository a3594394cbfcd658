"""Generations of candidates: a random first one, then elites plus bred children.

    population = initial_population(rng, sizes, settings, novel)
    ... score it ...
    population = next_generation(rng, population, fitness, sizes, settings, novel, generation=1)

`novel(genome) -> bool` says whether an arrangement is new (not scored or bred before) and
records it as seen; a child that is not new gets up to `settings.novelty_retries` single-gene
mutations. Everything is drawn from `rng`, so a search replays identically from its seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from marlax.evolution.genes import Genome
from marlax.evolution.operators import (
    elite_indices,
    force_mutation,
    mutate,
    random_genome,
    select_parent,
    uniform_crossover,
)
from marlax.evolution.settings import SearchSettings

Novelty = Callable[[Genome], bool]
"""True when the genome's arrangement was not seen before; marks it seen."""


@dataclass(frozen=True)
class Candidate:
    """One member of one generation."""

    id: str
    """`g<generation>-<index>`, unique in the search."""
    generation: int
    """0 for the random first generation."""
    genome: Genome
    """One choice index per gene."""
    parents: tuple[str, ...]
    """Ids of its parents: () at random, one for an elite or a copy, two after crossover."""
    origin: str
    """"random", "elite", or how it was bred: "crossover", "mutation", "crossover+mutation",
    "copy"."""


def candidate_id(generation: int, index: int) -> str:
    return f"g{generation}-{index}"


def _retry_until_novel(
    rng: np.random.Generator, genome: Genome, sizes: Sequence[int], retries: int, novel: Novelty
) -> Genome:
    """`genome`, or after up to `retries` single-gene mutations a genome `novel` accepts (the
    last one tried when none is)."""
    for _ in range(retries):
        if novel(genome):
            return genome
        genome = force_mutation(rng, genome, sizes)
    novel(genome)
    return genome


def initial_population(
    rng: np.random.Generator, sizes: Sequence[int], settings: SearchSettings, novel: Novelty
) -> list[Candidate]:
    """Generation 0: `population_size` random genomes (redrawn while repeated, up to
    `novelty_retries` times each)."""
    population = []
    for index in range(settings.population_size):
        genome = random_genome(rng, sizes)
        for _ in range(settings.novelty_retries):
            if novel(genome):
                break
            genome = random_genome(rng, sizes)
        else:
            novel(genome)
        population.append(Candidate(candidate_id(0, index), 0, genome, (), "random"))
    return population


def _origin(crossed: bool, mutated: bool) -> str:
    """How a child came about: "crossover", "mutation", "crossover+mutation" or "copy"."""
    steps = [name for name, done in (("crossover", crossed), ("mutation", mutated)) if done]
    return "+".join(steps) or "copy"


def _breed(
    rng: np.random.Generator,
    population: Sequence[Candidate],
    fitness: Sequence[float],
    settings: SearchSettings,
) -> tuple[Genome, tuple[str, ...], bool]:
    """A child before mutation: (genome, parent ids, whether crossover made it)."""
    first = population[select_parent(rng, fitness, settings)]
    second = population[select_parent(rng, fitness, settings)]
    if rng.random() < settings.crossover_rate:
        return uniform_crossover(rng, first.genome, second.genome), (first.id, second.id), True
    return first.genome, (first.id,), False


def next_generation(
    rng: np.random.Generator,
    population: Sequence[Candidate],
    fitness: Sequence[float],
    sizes: Sequence[int],
    settings: SearchSettings,
    novel: Novelty,
    *,
    generation: int,
) -> list[Candidate]:
    """The `elites` fittest unchanged, then children bred by selection, uniform crossover and
    per-gene mutation until the generation holds `population_size` candidates.

    Args:
        fitness: one float per member of `population` (-inf when unscored).
        generation: the new generation's number (for the ids).
    """
    elites = elite_indices(fitness, settings.elites)
    children = [
        Candidate(
            candidate_id(generation, slot),
            generation,
            population[i].genome,
            (population[i].id,),
            "elite",
        )
        for slot, i in enumerate(elites)
    ]
    while len(children) < settings.population_size:
        bred, parents, crossed = _breed(rng, population, fitness, settings)
        genome = mutate(rng, bred, sizes, settings.mutation_rate)
        genome = _retry_until_novel(rng, genome, sizes, settings.novelty_retries, novel)
        origin = _origin(crossed, genome != bred)
        child_id = candidate_id(generation, len(children))
        children.append(Candidate(child_id, generation, genome, parents, origin))
    return children


__all__ = ["Candidate", "Novelty", "candidate_id", "initial_population", "next_generation"]
