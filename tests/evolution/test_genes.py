"""Genomes become config overrides; invalid genes fail at load naming the gene."""

from __future__ import annotations

import json

import pytest

from marlax.errors import ConfigError
from marlax.evolution.genes import (
    candidate_config,
    candidate_overrides,
    phenotype_key,
    read_genes,
)
from marlax.evolution.load import load_search, search_from_dict
from tests.evolution.fakes import TINY_BASE

GRU_BASE_MODEL = {"name": "gru", "core": {"hidden_size": 64}}


def _overrides(raw_genes: dict, genome: tuple[int, ...], base_model=GRU_BASE_MODEL) -> list[str]:
    return candidate_overrides(read_genes(raw_genes), genome, base_model)


def test_architecture_genes_become_model_settings_per_core():
    genes = {"core": ["mlp", "gru", "transformer", "ssm"], "width": [16, 32], "depth": [1, 3]}
    assert _overrides(genes, (0, 1, 1)) == [
        'model.name="mlp"',
        'model.core={"hidden_sizes": [32, 32, 32]}',
    ]
    assert _overrides(genes, (2, 0, 1)) == [
        'model.name="transformer"',
        'model.core={"d_model": 16, "num_layers": 3}',
    ]
    assert _overrides(genes, (3, 1, 0)) == [
        'model.name="ssm"',
        'model.core={"d_model": 32, "num_layers": 1}',
    ]
    # a GRU is one cell: depth is not expressed, so both depths are one arrangement
    gru_shallow, gru_deep = _overrides(genes, (1, 0, 0)), _overrides(genes, (1, 0, 1))
    assert gru_shallow == ['model.name="gru"', 'model.core={"hidden_size": 16}']
    assert phenotype_key(gru_shallow) == phenotype_key(gru_deep)


def test_the_base_core_keeps_its_settings_and_another_core_starts_fresh():
    base_model = {"name": "transformer", "core": {"d_model": 64, "context_length": 8}}
    genes = {"core": ["transformer", "gru"], "depth": [2]}
    assert _overrides(genes, (0, 0), base_model) == [
        'model.name="transformer"',
        'model.core={"context_length": 8, "d_model": 64, "num_layers": 2}',
    ]
    assert _overrides(genes, (1, 0), base_model) == ['model.name="gru"', "model.core={}"]


def test_dotted_genes_are_written_as_json_and_null_keeps_the_base():
    genes = {"ppo.learning_rate": [0.001, None], "model.dtype": ["bfloat16"]}
    assert _overrides(genes, (0, 0)) == ["ppo.learning_rate=0.001", 'model.dtype="bfloat16"']
    assert _overrides(genes, (1, 0)) == ['model.dtype="bfloat16"']


def test_a_graph_gene_replaces_the_plain_model_and_null_keeps_it():
    graph = {"nodes": {"head": {"module": "head"}}, "edges": [["obs", "head"]]}
    genes = {"graph": [None, graph], "core": ["gru"], "width": [16]}
    assert _overrides(genes, (1, 0, 0)) == [
        f"model.graph={json.dumps(graph, sort_keys=True)}",
        'model.name="mlp"',
        "model.encoder={}",
        "model.core={}",
    ]
    assert _overrides(genes, (0, 0, 0)) == [
        "model.graph=null",
        'model.name="gru"',
        'model.core={"hidden_size": 16}',
    ]


def test_candidate_config_applies_the_overrides():
    genes = read_genes({"core": ["mlp"], "width": [12], "ppo.learning_rate": [0.002]})
    config, overrides = candidate_config(TINY_BASE, genes, (0, 0, 0))
    assert config.model.name == "mlp"
    assert config.model.core == {"hidden_sizes": (12, 12)}
    assert config.ppo.learning_rate == 0.002
    assert config.envs[0].name == "nback"  # the rest is the base's
    assert len(overrides) == 3


@pytest.mark.parametrize(
    ("genes", "field"),
    [
        ({"width": [8, 0]}, "genes.width"),
        ({"core": ["gru", "lstm"]}, "genes.core"),
        ({"ppo.lr": [0.1]}, "genes.ppo.lr"),
        ({"ppo.learning_rate": [0.001, -1.0]}, "genes.ppo.learning_rate"),
        ({"speed": [1, 2]}, "genes.speed"),
        ({"width": []}, "genes.width"),
        ({"width": [8, 8]}, "genes.width"),
        ({"core": ["gru", "transformer"], "width": [8, 12]}, "genes"),
        ({}, "genes"),
    ],
)
def test_an_invalid_gene_fails_at_load_naming_it(genes, field):
    with pytest.raises(ConfigError) as raised:
        search_from_dict({"base": TINY_BASE, "genes": genes})
    assert raised.value.field == field


def test_a_bad_combination_names_the_genome():
    # d_model 12 is fine for the base GRU alone, not for a transformer with 4 heads
    raw = {"base": TINY_BASE, "genes": {"core": ["gru", "transformer"], "width": [8, 12]}}
    with pytest.raises(ConfigError) as raised:
        search_from_dict(raw)
    assert raised.value.value == {"core": "transformer", "width": 12}
    assert "core.d_model" in raised.value.expected


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("search.population_size=1", "search.population_size"),
        ("search.elites=8", "search.elites"),
        ("search.tournament_size=9", "search.tournament_size"),
        ("search.selection=roulette", "search.selection"),
        ("search.popsize=3", "search.popsize"),
        ("base.ppo.learning_rate=-1", "base.ppo.learning_rate"),
        ("extra=1", "extra"),
    ],
)
def test_bad_search_settings_name_the_field(override, field):
    raw = {"base": TINY_BASE, "genes": {"width": [8]}, "search": {"population_size": 8}}
    with pytest.raises(ConfigError) as raised:
        search_from_dict(raw, [override])
    assert raised.value.field == field


def test_the_base_may_be_a_file_next_to_the_search_config(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(TINY_BASE))
    (tmp_path / "search.json").write_text(
        json.dumps({"base": "base.json", "genes": {"width": [8]}})
    )
    spec = load_search(tmp_path / "search.json", ["base.ppo.learning_rate=0.005"])
    assert spec.base["ppo"]["learning_rate"] == 0.005
    assert spec.base["envs"][0]["name"] == "nback"


def test_the_spec_reads_back_from_its_json():
    spec = search_from_dict(
        {"base": TINY_BASE, "genes": {"core": ["mlp", "gru"], "width": [8, 16]}},
        ["search.generations=3"],
    )
    again = search_from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.sizes == (2, 2)
