"""Genes, genomes and the config overrides a genome stands for.

    genes = read_genes({"core": ["gru", "mlp"], "width": [32, 64], "ppo.learning_rate": [1e-3]})
    genome = (1, 0, 0)                                   # one choice index per gene
    candidate_overrides(genes, genome, base_model)
    # ['model.name="mlp"', 'model.core={"hidden_sizes": [32, 32]}', 'ppo.learning_rate=0.001']

A gene is a named list of discrete choices. Its name is either an architecture gene, which
the search turns into model settings, or a dotted config key whose value is written as is:

- `core`: the model core ("mlp", "gru", "transformer", "ssm", "s5");
- `width`: the core's width (MLP layer width, GRU hidden size, Transformer/SSM d_model);
- `depth`: the core's layers (MLP layers, Transformer/SSM blocks; a GRU has one cell, so depth
  is not expressed there);
- `graph`: a model graph (`model.graph`: a preset name or {"nodes", "edges"}), or null for the
  plain encoder -> core -> head model. A graph holds its own settings on its nodes, so when it
  is set the plain model's `name`/`encoder`/`core` are reset and core/width/depth are not
  expressed;
- any dotted key (`ppo.learning_rate`, `model.dtype`, `env.num_envs`): `--set key=value`.
  A null choice there means "keep the base config's value".

A candidate's core keeps the base config's core settings when it is the base's core, and
starts from the core's defaults when it is another (another core's settings would not fit).
The overrides are the candidate's phenotype: two genomes with the same overrides (a GRU whose
depth differs) are the same arrangement and are trained once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marlax.config import TrainConfig, load_from_dict
from marlax.errors import ConfigError
from marlax.validate import require

ARCHITECTURE_GENES = ("core", "width", "depth", "graph")
"""Gene names the search turns into model settings (see the module docstring)."""

CORE_SHAPES: dict[str, tuple[str, str | None]] = {
    "gru": ("hidden_size", None),
    "transformer": ("d_model", "num_layers"),
    "ssm": ("d_model", "num_layers"),
    "s5": ("d_model", "num_layers"),
}
"""Core -> (its width setting, its depth setting or None); "mlp" takes `hidden_sizes`."""

MLP_DEFAULT_DEPTH = 2
"""Layers of `MLPCore`'s default hidden_sizes (64, 64): an MLP's depth when no gene sets it."""

Genome = tuple[int, ...]
"""One choice index per gene, in the genes' order."""


@dataclass(frozen=True)
class Gene:
    """A named set of discrete choices (JSON values)."""

    name: str
    """An architecture gene (`ARCHITECTURE_GENES`) or a dotted config key."""
    choices: tuple[Any, ...]
    """The values the gene may take (at least one, no two equal)."""


def canonical(value: Any) -> str:
    """One JSON text per value (sorted keys), to compare and hash choices and phenotypes."""
    return json.dumps(value, sort_keys=True)


def read_genes(raw: Any) -> tuple[Gene, ...]:
    """The genes of a search config's `genes` object, in its order.

    Raises:
        ConfigError: not an object of non-empty lists of distinct values, or a gene name that
            is neither an architecture gene nor a dotted key (field `genes.<name>`).
    """
    require(
        isinstance(raw, dict) and len(raw) > 0,
        "genes",
        raw,
        'an object of gene -> choices, e.g. {"core": ["mlp", "gru"], "width": [32, 64]}',
    )
    genes = []
    for name, choices in raw.items():
        field = f"genes.{name}"
        dotted = all(name.split(".")) and "." in name
        require(
            name in ARCHITECTURE_GENES or dotted,
            field,
            choices,
            f"a gene named one of {', '.join(ARCHITECTURE_GENES)}, or a dotted config key "
            "such as ppo.learning_rate",
        )
        require(
            isinstance(choices, list) and len(choices) > 0,
            field,
            choices,
            "a non-empty list of choices",
        )
        texts = [canonical(choice) for choice in choices]
        require(len(set(texts)) == len(texts), field, choices, "choices that differ")
        genes.append(Gene(name, tuple(choices)))
    return tuple(genes)


def genome_values(genes: Sequence[Gene], genome: Genome) -> dict[str, Any]:
    """{gene name: chosen value}."""
    return {gene.name: gene.choices[index] for gene, index in zip(genes, genome, strict=True)}


def candidate_overrides(
    genes: Sequence[Gene], genome: Genome, base_model: Mapping[str, Any]
) -> list[str]:
    """The `key=value` overrides (values as JSON) that turn the base config into the candidate.

    Args:
        genes: the search's genes.
        genome: int[len(genes)] choice indices.
        base_model: the base config's `model` section (a JSON object).
    """
    values = genome_values(genes, genome)
    model = _architecture_settings(values, base_model)
    overrides = [f"model.{key}={canonical(value)}" for key, value in model.items()]
    for name, value in values.items():
        if name not in ARCHITECTURE_GENES and value is not None:
            overrides.append(f"{name}={canonical(value)}")
    return overrides


def _architecture_settings(
    values: Mapping[str, Any], base_model: Mapping[str, Any]
) -> dict[str, Any]:
    """The model keys the architecture genes set ({} when the search has none)."""
    if not any(name in values for name in ARCHITECTURE_GENES):
        return {}
    graph = values.get("graph", base_model.get("graph"))
    if graph is not None:
        return {"graph": graph, "name": "mlp", "encoder": {}, "core": {}}
    base_core = base_model.get("name", "mlp")
    core = values.get("core", base_core)
    settings = dict(base_model.get("core", {})) if core == base_core else {}
    settings.update(_shape_settings(core, values.get("width"), values.get("depth"), settings))
    model = {"name": core, "core": settings}
    return {"graph": None, **model} if "graph" in values else model


def _shape_settings(
    core: str, width: Any, depth: Any, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The core settings that give it `width` and `depth` (None = keep the current one)."""
    if width is None and depth is None:
        return {}
    if core == "mlp":
        current = list(settings.get("hidden_sizes", ()))
        layers = depth if depth is not None else (len(current) or MLP_DEFAULT_DEPTH)
        if width is None:
            width = current[-1] if current else None
        return {} if width is None else {"hidden_sizes": [width] * layers}
    require(
        core in CORE_SHAPES,
        "core",
        core,
        f"a core whose width and depth the search knows: mlp, {', '.join(CORE_SHAPES)}",
    )
    width_key, depth_key = CORE_SHAPES[core]
    shape = {} if width is None else {width_key: width}
    if depth_key is not None and depth is not None:
        shape[depth_key] = depth
    return shape


def candidate_config(
    base: Mapping[str, Any], genes: Sequence[Gene], genome: Genome
) -> tuple[TrainConfig, list[str]]:
    """The validated training config of a candidate, and its overrides.

    Raises:
        ConfigError: the candidate's config is invalid (the field inside the config).
    """
    overrides = candidate_overrides(genes, genome, base.get("model", {}))
    return load_from_dict(dict(base), overrides), overrides


def phenotype_key(overrides: Sequence[str]) -> str:
    """The cache key of an arrangement: its overrides, in order."""
    return "\n".join(overrides)


def check_choice(base: Mapping[str, Any], gene: Gene, index: int) -> None:
    """The base config with this gene's choice alone set is valid.

    Raises:
        ConfigError: field `genes.<name>`, the choice, and the config's own complaint.
    """
    try:
        candidate_config(base, [gene], (index,))
    except ConfigError as error:
        raise ConfigError(
            f"genes.{gene.name}", gene.choices[index], f"a choice the base config accepts ({error})"
        ) from None


__all__ = [
    "ARCHITECTURE_GENES",
    "CORE_SHAPES",
    "Gene",
    "Genome",
    "candidate_config",
    "candidate_overrides",
    "canonical",
    "check_choice",
    "genome_values",
    "phenotype_key",
    "read_genes",
]
