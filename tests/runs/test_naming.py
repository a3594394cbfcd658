"""Run names: the word lists, the `adjective-animal-NN` format, uniqueness, validation."""

from __future__ import annotations

import random
import re

import pytest

from marlax.runs import naming
from marlax.runs.naming import ADJECTIVES, ANIMALS, is_valid_run_name, new_run_name

NAME_FORMAT = re.compile(r"([a-z]+)-([a-z]+)-(\d{2})")


@pytest.mark.parametrize("words", [ADJECTIVES, ANIMALS], ids=["adjectives", "animals"])
def test_word_lists_are_long_lowercase_ascii_and_distinct(words):
    assert len(words) >= 50
    assert len(set(words)) == len(words)
    assert all(re.fullmatch(r"[a-z]+", word) for word in words)


def test_name_has_the_adjective_animal_two_digit_format(tmp_path):
    for seed in range(20):
        match = NAME_FORMAT.fullmatch(new_run_name(tmp_path, random.Random(seed)))
        assert match is not None
        assert match.group(1) in ADJECTIVES and match.group(2) in ANIMALS
        assert is_valid_run_name(match.group(0))


def test_same_seed_gives_the_same_name_and_seeds_differ(tmp_path):
    assert new_run_name(tmp_path, random.Random(3)) == new_run_name(tmp_path, random.Random(3))
    assert len({new_run_name(tmp_path, random.Random(seed)) for seed in range(10)}) > 1


def test_a_taken_name_is_skipped(tmp_path):
    # the same seed draws the same first name every time: each call must skip all earlier ones
    created = []
    for _ in range(6):
        name = new_run_name(tmp_path, random.Random(0))
        assert name not in created
        (tmp_path / name).mkdir()
        created.append(name)
    assert created[0] == new_run_name(tmp_path / "missing", random.Random(0))


def test_all_two_digit_names_taken_widens_to_three_digits(tmp_path, monkeypatch):
    monkeypatch.setattr(naming, "ADJECTIVES", ("tiny",))
    monkeypatch.setattr(naming, "ANIMALS", ("ant",))
    for number in range(100):
        (tmp_path / f"tiny-ant-{number:02d}").mkdir()
    name = new_run_name(tmp_path, random.Random(1))
    assert re.fullmatch(r"tiny-ant-\d{3}", name)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["bold-otter-07", "my_run", "a", "run-2-b_c", "007"])
def test_valid_run_names(name):
    assert is_valid_run_name(name)


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "a/b", "a\\b", "Bold-Otter", "a b", "run.1", "é", None, 7]
)
def test_invalid_run_names(name):
    assert not is_valid_run_name(name)
