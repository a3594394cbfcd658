"""Read an arrangement-search config: the base training config, the genes, the GA settings.

    spec = load_search("configs/arrangement_search_nback.json", ["search.generations=2"])

The JSON has three keys:

- `base`: a training config (a JSON object as `marlax train -c` reads, or the path of one,
  relative to the search config's folder): every candidate is this config plus its genes;
- `genes`: {gene: [choices]} (`marlax.evolution.genes`);
- `search`: the GA's settings (`SearchSettings`).

`--set` overrides apply to the whole document after the base file is read in, so
`search.population_size=4` and `base.ppo.total_env_steps=20000` both work. Every gene is
checked at load: each choice on the base config alone, then every combination (up to
`MAX_CHECKED_COMBINATIONS`), so a search never fails half-way on an invalid arrangement.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from marlax.config import config_to_dict, load_from_dict
from marlax.config.load import read_json
from marlax.config.overrides import apply_overrides
from marlax.config.validators import suggestion
from marlax.errors import ConfigError
from marlax.evolution.genes import (
    Gene,
    Genome,
    candidate_config,
    check_choice,
    genome_values,
    read_genes,
)
from marlax.evolution.settings import SearchSettings
from marlax.validate import require

TOP_LEVEL_KEYS = ("base", "genes", "search")
MAX_CHECKED_COMBINATIONS = 4096
"""Gene spaces up to this size are checked combination by combination at load; a larger one
has each choice checked alone, and a bad combination fails when it is bred."""


@dataclass(frozen=True)
class SearchSpec:
    """A validated arrangement search."""

    base: dict[str, Any]
    """The base training config, complete (`config_to_dict` of the validated config)."""
    genes: tuple[Gene, ...]
    """The genes, in the config's order."""
    settings: SearchSettings
    """The GA's settings."""

    @property
    def sizes(self) -> tuple[int, ...]:
        """Choices per gene."""
        return tuple(len(gene.choices) for gene in self.genes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON this spec reads back from (`search_from_dict`)."""
        settings = {
            field.name: getattr(self.settings, field.name) for field in fields(SearchSettings)
        }
        genes = {gene.name: list(gene.choices) for gene in self.genes}
        return {"base": copy.deepcopy(self.base), "genes": genes, "search": settings}


def load_search(path: str | Path, overrides: Sequence[str] = ()) -> SearchSpec:
    """Load, override and validate a search config file.

    Raises:
        ConfigError: a missing or broken file, a bad override, an invalid base config, gene or
            setting (field `base.*`, `genes.<gene>` or `search.<field>`).
    """
    path = Path(path)
    raw = read_json(path)
    if isinstance(raw, dict) and isinstance(raw.get("base"), str):
        raw = {**raw, "base": read_json(path.parent / raw["base"])}
    return search_from_dict(raw, overrides)


def search_from_dict(raw: Any, overrides: Sequence[str] = ()) -> SearchSpec:
    """Validate a search config given as JSON data (not modified) after `overrides`."""
    require(isinstance(raw, dict), "config", raw, "a JSON object with base, genes and search")
    raw = apply_overrides(copy.deepcopy(raw), overrides)
    for key, value in raw.items():
        require(
            key in TOP_LEVEL_KEYS,
            key,
            value,
            f"a key of the search config: {', '.join(TOP_LEVEL_KEYS)}"
            + suggestion(str(key), TOP_LEVEL_KEYS),
        )
    require("base" in raw, "base", None, "a base training config (an object or a file path)")
    base = _read_base(raw["base"])
    genes = read_genes(raw.get("genes"))
    settings = _read_settings(raw.get("search", {}))
    check_genes(base, genes)
    return SearchSpec(base, genes, settings)


def _read_base(raw: Any) -> dict[str, Any]:
    """The validated base config as complete JSON; its errors are named `base.<field>`."""
    require(isinstance(raw, dict), "base", raw, "a training config object")
    try:
        return config_to_dict(load_from_dict(raw))
    except ConfigError as error:
        raise ConfigError(f"base.{error.field}", error.value, error.expected) from None


def _read_settings(raw: Any) -> SearchSettings:
    require(isinstance(raw, dict), "search", raw, "an object of search settings")
    known = [field.name for field in fields(SearchSettings)]
    for key, value in raw.items():
        require(
            key in known,
            f"search.{key}",
            value,
            f"a key of search: {', '.join(known)}{suggestion(key, known)}",
        )
    try:
        return SearchSettings(**raw)
    except ConfigError as error:
        raise ConfigError(f"search.{error.field}", error.value, error.expected) from None


def check_genes(base: dict[str, Any], genes: Sequence[Gene]) -> None:
    """Each choice alone, then every combination (when few enough), gives a valid config.

    Raises:
        ConfigError: `genes.<gene>` for a choice the base rejects; `genes` with the genome's
            values for a combination it rejects.
    """
    for gene in genes:
        for index in range(len(gene.choices)):
            check_choice(base, gene, index)
    sizes = [len(gene.choices) for gene in genes]
    if math.prod(sizes) > MAX_CHECKED_COMBINATIONS:
        return
    for genome in itertools.product(*(range(size) for size in sizes)):
        check_combination(base, genes, genome)


def check_combination(base: dict[str, Any], genes: Sequence[Gene], genome: Genome) -> None:
    """The candidate of `genome` is valid, else a `ConfigError` naming `genes` and its values."""
    try:
        candidate_config(base, genes, genome)
    except ConfigError as error:
        raise ConfigError(
            "genes",
            genome_values(genes, genome),
            f"a combination of choices the base config accepts ({error})",
        ) from None


__all__ = [
    "MAX_CHECKED_COMBINATIONS",
    "SearchSpec",
    "check_genes",
    "load_search",
    "search_from_dict",
]
