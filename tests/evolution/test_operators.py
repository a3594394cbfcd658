"""Selection, crossover and mutation: choice sets kept, fitness respected, seeds reproduced."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marlax.evolution.operators import (
    elite_indices,
    force_mutation,
    mutate,
    random_genome,
    rank_order,
    select_parent,
    tournament_winner,
    uniform_crossover,
)
from marlax.evolution.settings import SearchSettings

SIZES = (4, 3, 1, 2, 5)


def _in_choice_sets(genome, sizes=SIZES) -> bool:
    return len(genome) == len(sizes) and all(
        isinstance(index, int) and 0 <= index < size
        for index, size in zip(genome, sizes, strict=True)
    )


def test_random_genomes_mutation_and_crossover_stay_in_their_choice_sets():
    rng = np.random.default_rng(3)
    for _ in range(300):
        first, second = random_genome(rng, SIZES), random_genome(rng, SIZES)
        child = uniform_crossover(rng, first, second)
        assert _in_choice_sets(first) and _in_choice_sets(child)
        assert all(c in (a, b) for a, b, c in zip(first, second, child, strict=True))
        assert _in_choice_sets(mutate(rng, child, SIZES, rate=0.5))
        assert _in_choice_sets(force_mutation(rng, child, SIZES))


def test_mutation_rate_one_changes_every_gene_that_can_change_and_zero_none():
    rng = np.random.default_rng(0)
    genome = (3, 0, 0, 1, 4)
    for _ in range(50):
        mutated = mutate(rng, genome, SIZES, rate=1.0)
        assert [a != b for a, b in zip(genome, mutated, strict=True)] == [
            True,
            True,
            False,
            True,
            True,
        ]
        assert mutate(rng, genome, SIZES, rate=0.0) == genome


def test_mutation_draws_the_other_choices_uniformly():
    rng = np.random.default_rng(1)
    draws = [mutate(rng, (2,), (4,), rate=1.0)[0] for _ in range(4000)]
    counts = np.bincount(draws, minlength=4)
    assert counts[2] == 0
    assert np.all(np.abs(counts[[0, 1, 3]] / 4000 - 1 / 3) < 0.03), counts


def test_force_mutation_changes_exactly_one_gene_or_none_when_none_can():
    rng = np.random.default_rng(2)
    for _ in range(100):
        genome = random_genome(rng, SIZES)
        changed = sum(
            a != b for a, b in zip(genome, force_mutation(rng, genome, SIZES), strict=True)
        )
        assert changed == 1
    assert force_mutation(rng, (0, 0), (1, 1)) == (0, 0)


def test_crossover_takes_each_gene_from_either_parent_half_the_time():
    rng = np.random.default_rng(4)
    children = np.array([uniform_crossover(rng, (0,) * 6, (1,) * 6) for _ in range(2000)])
    assert np.all(np.abs(children.mean(axis=0) - 0.5) < 0.04)


def test_rank_order_and_elites_by_hand():
    fitness = [3.0, -math.inf, 7.0, 3.0, 5.0]
    assert rank_order(fitness) == [2, 4, 0, 3, 1]  # the tie 0/3 keeps the lower index first
    assert elite_indices(fitness, 2) == [2, 4]
    assert elite_indices(fitness, 0) == []


def test_tournament_winner_by_hand():
    fitness = [1.0, 9.0, 4.0, 9.0, -math.inf]
    assert tournament_winner(fitness, [0, 2]) == 2
    assert tournament_winner(fitness, [3, 1, 0]) == 1  # equal fitness: the lower index
    assert tournament_winner(fitness, [4, 4]) == 4
    assert tournament_winner(fitness, [4, 0]) == 0  # an unscored candidate loses


def test_tournament_selection_replays_its_draws():
    fitness = [1.0, 9.0, 4.0, 2.0, 6.0]
    settings = SearchSettings(population_size=5, tournament_size=3)
    rng, mirror = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(100):
        contenders = [int(index) for index in mirror.integers(5, size=3)]
        expected = max(contenders, key=lambda index: fitness[index])
        assert select_parent(rng, fitness, settings) == expected


def test_truncation_selection_draws_only_from_the_top_fraction():
    fitness = [1.0, 9.0, 4.0, 2.0, 6.0, 0.0]
    settings = SearchSettings(population_size=6, selection="truncation", truncation_fraction=0.5)
    rng = np.random.default_rng(0)
    picked = {select_parent(rng, fitness, settings) for _ in range(300)}
    assert picked == {1, 4, 2}  # the three best: 9, 6, 4


def test_tournament_contenders_are_drawn_with_replacement():
    fitness = [1.0, 9.0, 4.0]
    settings = SearchSettings(population_size=3, tournament_size=3)
    rng = np.random.default_rng(0)
    picks = [select_parent(rng, fitness, settings) for _ in range(200)]
    # with replacement the best is drawn into 1 - (2/3)^3 = 70% of tournaments
    assert set(picks) <= {0, 1, 2}
    assert abs(picks.count(1) / 200 - (1 - (2 / 3) ** 3)) < 0.1


@pytest.mark.parametrize("seed", [0, 11])
def test_operators_are_deterministic_under_the_seed(seed):
    def draw(rng):
        first, second = random_genome(rng, SIZES), random_genome(rng, SIZES)
        return mutate(rng, uniform_crossover(rng, first, second), SIZES, rate=0.3)

    first_run = [draw(np.random.default_rng(seed)) for _ in range(3)]
    assert first_run == [draw(np.random.default_rng(seed)) for _ in range(3)]
