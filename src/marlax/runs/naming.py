"""Run names: `adjective-animal-NN` (`bold-otter-07`), unique within a runs folder.

name = new_run_name(Path("runs"))            # e.g. "quiet-heron-42"
is_valid_run_name("my_run-2")                 # True: a user-chosen `run.name`
"""

from __future__ import annotations

import random
import re
from pathlib import Path

ADJECTIVES: tuple[str, ...] = (
    "agile", "amber", "ancient", "bold", "brave", "bright", "brisk", "calm", "clever", "cosmic",
    "crimson", "curious", "daring", "dusty", "eager", "early", "fancy", "fearless", "fierce",
    "gentle", "giant", "golden", "grand", "happy", "hidden", "humble", "icy", "jolly", "keen",
    "kind", "lively", "lucky", "lunar", "mellow", "mighty", "misty", "modest", "nimble", "noble",
    "patient", "plucky", "proud", "quick", "quiet", "rapid", "rustic", "shy", "silent", "silver",
    "sleepy", "smooth", "snowy", "solar", "steady", "stormy", "sunny", "swift", "tidy", "vivid",
    "wandering", "wild", "wise", "witty", "young", "zesty",
)  # fmt: skip
"""Lowercase ASCII adjectives, no hyphens: the first part of a generated name."""

ANIMALS: tuple[str, ...] = (
    "albatross", "alpaca", "badger", "beaver", "bison", "bobcat", "camel", "caribou", "cheetah",
    "cobra", "condor", "coyote", "crane", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch",
    "fox", "gazelle", "gecko", "gibbon", "heron", "hyena", "ibis", "iguana", "jackal", "jaguar",
    "koala", "lemur", "leopard", "lynx", "magpie", "marmot", "meerkat", "mole", "moose", "newt",
    "ocelot", "orca", "osprey", "otter", "owl", "panda", "panther", "pelican", "penguin", "puffin",
    "quail", "raven", "salmon", "seal", "shark", "sparrow", "stork", "tapir", "tiger", "toucan",
    "turtle", "viper", "walrus", "weasel", "wombat", "yak", "zebra",
)  # fmt: skip
"""Lowercase ASCII animals, no hyphens: the second part of a generated name."""

_VALID_NAME = re.compile(r"[a-z0-9_-]+")
_TRIES_PER_WIDTH = 200  # random draws at two digits before widening to three, then four...


def is_valid_run_name(name: object) -> bool:
    """True when `name` can name a run folder: lowercase letters, digits, `-` and `_` only.

    So no path separators, no `.`/`..`, no spaces and no empty name.
    """
    return isinstance(name, str) and _VALID_NAME.fullmatch(name) is not None


def new_run_name(runs_dir: Path, rng: random.Random | None = None) -> str:
    """A fresh `adjective-animal-NN` name that no entry in `runs_dir` uses yet.

    Draws at random (from `rng`, or the system's entropy) with a two-digit suffix
    `00`-`99`; after many draws that all collide it widens the suffix to three digits.

    Args:
        runs_dir: the folder of runs (it need not exist yet).
        rng: the source of randomness; pass `random.Random(seed)` for a fixed sequence.
    """
    rng = rng if rng is not None else random.SystemRandom()
    runs_dir = Path(runs_dir)
    taken = {entry.name for entry in runs_dir.iterdir()} if runs_dir.is_dir() else set()
    digits = 2
    while True:
        for _ in range(_TRIES_PER_WIDTH):
            name = (
                f"{rng.choice(ADJECTIVES)}-{rng.choice(ANIMALS)}-"
                f"{rng.randrange(10**digits):0{digits}d}"
            )
            if name not in taken:
                return name
        digits += 1
