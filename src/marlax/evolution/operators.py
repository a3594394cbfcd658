"""The genetic operators on genomes (choice-index tuples), driven by a numpy Generator.

    rng = np.random.default_rng(0)
    genome = random_genome(rng, sizes=(4, 2, 3))          # e.g. (2, 0, 1)
    child = uniform_crossover(rng, first, second)
    child = mutate(rng, child, sizes, rate=0.25)
    parent = select_parent(rng, fitness, settings)        # an index into the population

Every operator keeps each gene inside its choice set (indices in [0, size)). Fitness is a
sequence of floats, higher is better; a candidate without a score has -inf. Ties are broken
towards the lower population index, so selection is a function of (rng state, fitness).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from marlax.evolution.genes import Genome
from marlax.evolution.settings import SearchSettings


def random_genome(rng: np.random.Generator, sizes: Sequence[int]) -> Genome:
    """Each gene drawn uniformly from its `sizes[i]` choices."""
    return tuple(int(rng.integers(size)) for size in sizes)


def uniform_crossover(rng: np.random.Generator, first: Genome, second: Genome) -> Genome:
    """Each gene from `first` or `second` with probability 1/2 (Syswerda's uniform crossover)."""
    from_first = rng.random(len(first)) < 0.5
    return tuple(a if keep else b for a, b, keep in zip(first, second, from_first, strict=True))


def _other_choice(rng: np.random.Generator, current: int, size: int) -> int:
    """A choice index drawn uniformly among the `size - 1` that differ from `current`."""
    drawn = int(rng.integers(size - 1))
    return drawn + 1 if drawn >= current else drawn


def mutate(rng: np.random.Generator, genome: Genome, sizes: Sequence[int], rate: float) -> Genome:
    """Each gene, with probability `rate`, redrawn among its other choices (a gene with one
    choice never changes)."""
    redraw = rng.random(len(genome)) < rate
    return tuple(
        _other_choice(rng, index, size) if flip and size > 1 else index
        for index, size, flip in zip(genome, sizes, redraw, strict=True)
    )


def force_mutation(rng: np.random.Generator, genome: Genome, sizes: Sequence[int]) -> Genome:
    """One gene (uniform among those with two or more choices) moved to another choice; the
    genome itself when no gene can change."""
    changeable = [i for i, size in enumerate(sizes) if size > 1]
    if not changeable:
        return genome
    gene = changeable[int(rng.integers(len(changeable)))]
    mutated = list(genome)
    mutated[gene] = _other_choice(rng, genome[gene], sizes[gene])
    return tuple(mutated)


def rank_order(fitness: Sequence[float]) -> list[int]:
    """Population indices from the fittest down; equal fitness keeps the lower index first."""
    return sorted(range(len(fitness)), key=lambda index: (-fitness[index], index))


def tournament_winner(fitness: Sequence[float], contenders: Sequence[int]) -> int:
    """The fittest contender (the lower index among equals)."""
    return min(contenders, key=lambda index: (-fitness[index], index))


def select_parent(
    rng: np.random.Generator, fitness: Sequence[float], settings: SearchSettings
) -> int:
    """A parent's population index by the settings' selection rule.

    "tournament": the winner of `tournament_size` indices drawn uniformly with replacement.
    "truncation": uniform among the top ceil(truncation_fraction * P) of `rank_order`.
    """
    size = len(fitness)
    if settings.selection == "tournament":
        contenders = rng.integers(size, size=settings.tournament_size)
        return tournament_winner(fitness, [int(index) for index in contenders])
    top = rank_order(fitness)[: max(1, math.ceil(settings.truncation_fraction * size))]
    return top[int(rng.integers(len(top)))]


def elite_indices(fitness: Sequence[float], count: int) -> list[int]:
    """The `count` fittest indices (elitism), fittest first."""
    return rank_order(fitness)[:count]


__all__ = [
    "elite_indices",
    "force_mutation",
    "mutate",
    "random_genome",
    "rank_order",
    "select_parent",
    "tournament_winner",
    "uniform_crossover",
]
