"""The stdlib corpus: alphabet, encoding, deterministic loading, disjoint splits, bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.language import (
    ALPHABET,
    UNKNOWN,
    VOCAB_SIZE,
    bootstrap_stream,
    decode,
    encode,
    load_corpus,
    split_of,
    stdlib_documents,
)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_alphabet_is_newline_and_printable_ascii_plus_unknown():
    assert VOCAB_SIZE == 97
    assert ALPHABET[0] == "\n" and ALPHABET[1] == " " and ALPHABET[-1] == "~"
    np.testing.assert_array_equal(encode("\n a~"), [0, 1, 66, 95])


def test_characters_outside_the_alphabet_become_one_unknown_each():
    tokens = encode("a\tb\u00e9\U0001f600c")
    assert tokens.shape == (6,)  # one token per character, even outside the BMP
    np.testing.assert_array_equal(tokens == UNKNOWN, [False, True, False, True, True, False])
    assert decode(tokens) == "a\ufffdb\ufffd\ufffdc"


def test_ascii_round_trips():
    text = "def f(x):\n    return {'a': x ** 2}  # ~`|\\"
    assert decode(encode(text)) == text


def test_corpus_is_deterministic(corpus):
    again = load_corpus()
    for split in ("train", "validation", "test"):
        assert list(getattr(corpus, split)) == list(getattr(again, split))
        np.testing.assert_array_equal(corpus.stream(split), again.stream(split))


def test_splits_are_disjoint_whole_files_covering_the_stdlib(corpus):
    names = [set(getattr(corpus, split)) for split in ("train", "validation", "test")]
    assert all(names)
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    assert set.union(*names) == set(stdlib_documents())
    # about 80/10/10 of the files; the split follows the name's CRC-32, not its position
    assert len(names[0]) > 4 * len(names[1]) and len(names[0]) > 4 * len(names[2])
    assert all(split_of(name) == "test" for name in names[2])
    assert corpus.num_tokens("test") == corpus.stream("test").size > 100_000


def test_split_of_a_name_does_not_depend_on_other_documents(tmp_path):
    (tmp_path / "calendar.py").write_text("x = 1\n")
    (tmp_path / "zz_extra.py").write_text("y = 2\n")
    corpus = load_corpus(stdlib_documents(tmp_path))
    assert split_of("calendar.py") == "test"  # zlib.crc32(b"calendar.py") % 10 == 0
    np.testing.assert_array_equal(corpus.test["calendar.py"], encode("x = 1\n"))


def test_empty_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="corpus.root"):
        stdlib_documents(tmp_path)


def test_bootstrap_stream_is_whole_documents_cut_to_length():
    documents = {"a": np.array([1, 1], np.uint8), "b": np.array([2, 2, 2], np.uint8)}
    stream = bootstrap_stream(documents, 11, np.random.default_rng(0))
    again = bootstrap_stream(documents, 11, np.random.default_rng(0))
    np.testing.assert_array_equal(stream, again)
    assert stream.shape == (11,) and stream.dtype == np.uint8
    # split into runs of equal tokens: every run but the cut last one is whole documents
    boundaries = np.flatnonzero(np.diff(stream)) + 1
    for run in np.split(stream, boundaries)[:-1]:
        assert run.size % (2 if run[0] == 1 else 3) == 0
