"""A text corpus that needs no download: the running Python's own standard library.

Documents are the top-level modules of the installed standard library
(`sysconfig.get_paths()["stdlib"]/*.py`, 168 files and 4.7 MB under CPython 3.11), read at
run time and sorted by name, so the same installation always gives the same corpus. Each
document goes whole to one split, chosen by the CRC-32 of its file name (not by its position
in the list, so a file added by another Python version moves no other file between splits).

Tokens are characters of a fixed alphabet that does not depend on the corpus: newline, the 95
printable ASCII characters, and one UNKNOWN token for everything else (tabs, non-ASCII):
`VOCAB_SIZE` = 97.
"""

from __future__ import annotations

import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marlax.validate import require, require_positive_int

ALPHABET = "\n" + "".join(chr(code) for code in range(32, 127))
"""Newline, then printable ASCII from space (32) to tilde (126)."""

UNKNOWN = len(ALPHABET)
"""The token of every character outside `ALPHABET`."""

VOCAB_SIZE = len(ALPHABET) + 1
"""97: the alphabet plus UNKNOWN."""

SPLIT_BUCKETS = 10
"""CRC-32 of the file name modulo this picks the split: 0 test, 1 validation, else train."""

_ASCII_TO_TOKEN = np.full(128, UNKNOWN, np.uint8)
_ASCII_TO_TOKEN[[ord(char) for char in ALPHABET]] = np.arange(len(ALPHABET), dtype=np.uint8)


def encode(text: str) -> np.ndarray:
    """Characters -> tokens u8[len(text)]; anything outside `ALPHABET` becomes UNKNOWN."""
    # UTF-32 gives one code point per character, so non-ASCII text keeps one token each
    code_points = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    return np.where(code_points < 128, _ASCII_TO_TOKEN[code_points % 128], UNKNOWN).astype(np.uint8)


def decode(tokens: np.ndarray) -> str:
    """Tokens u8/i32[N] -> text; UNKNOWN shows as U+FFFD."""
    return "".join(ALPHABET[token] if token < UNKNOWN else "\ufffd" for token in tokens.tolist())


def stdlib_documents(root: Path | None = None) -> dict[str, str]:
    """The corpus's documents: file name -> text of every `*.py` directly under `root`.

    Args:
        root: the folder to read; None means the running interpreter's standard library.

    Returns:
        A dict sorted by file name.
    """
    folder = Path(sysconfig.get_paths()["stdlib"]) if root is None else Path(root)
    paths = sorted(folder.glob("*.py"))
    require(bool(paths), "corpus.root", str(folder), "a folder with *.py files")
    return {path.name: path.read_text(encoding="utf-8", errors="replace") for path in paths}


def split_of(name: str) -> str:
    """'test', 'validation' or 'train' for a document name (CRC-32 bucket, see module doc)."""
    bucket = zlib.crc32(name.encode("utf-8")) % SPLIT_BUCKETS
    return {0: "test", 1: "validation"}.get(bucket, "train")


@dataclass(frozen=True)
class Corpus:
    """Encoded documents, split by document.

    Every split maps a document name to its tokens u8[len]; names are sorted.
    """

    train: dict[str, np.ndarray]
    validation: dict[str, np.ndarray]
    test: dict[str, np.ndarray]

    def stream(self, split: str) -> np.ndarray:
        """u8[total] one split's documents concatenated in name order."""
        return np.concatenate(list(getattr(self, split).values()))

    def num_tokens(self, split: str) -> int:
        """Tokens in one split."""
        return sum(tokens.size for tokens in getattr(self, split).values())


def load_corpus(documents: dict[str, str] | None = None) -> Corpus:
    """Encode and split documents (the standard library's when None)."""
    documents = stdlib_documents() if documents is None else documents
    splits: dict[str, dict[str, np.ndarray]] = {"train": {}, "validation": {}, "test": {}}
    for name in sorted(documents):
        splits[split_of(name)][name] = encode(documents[name])
    return Corpus(**splits)


def bootstrap_stream(
    documents: dict[str, np.ndarray], length: int, rng: np.random.Generator
) -> np.ndarray:
    """One member's data subset: whole documents drawn with replacement, `length` tokens.

    Documents are drawn uniformly (a bootstrap over documents) and concatenated until the
    stream is `length` tokens long, then cut there, so every member's stream has one shape
    and members stack on a vmap axis.

    Args:
        documents: name -> tokens u8[len].
        length: tokens in the result.
        rng: the member's generator.

    Returns:
        u8[length].
    """
    require_positive_int("bootstrap.length", length)
    pieces, total = [], 0
    ordered = [documents[name] for name in sorted(documents)]
    while total < length:
        piece = ordered[rng.integers(len(ordered))]
        pieces.append(piece)
        total += piece.size
    return np.concatenate(pieces)[:length]
