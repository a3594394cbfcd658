"""make_model / make_model_for_spaces: names, settings and ConfigError."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.models import (
    GaussianParams,
    GridEncoder,
    GRUCore,
    MLPCore,
    S5Core,
    SSMCore,
    TransformerCore,
    VectorEncoder,
    list_models,
    make_model,
    make_model_for_spaces,
)


def test_names_build_their_cores() -> None:
    assert list_models() == ["gru", "mlp", "s5", "ssm", "transformer"]
    expected = {
        "mlp": MLPCore,
        "gru": GRUCore,
        "transformer": TransformerCore,
        "ssm": SSMCore,
        "s5": S5Core,
    }
    for name, core_cls in expected.items():
        model = make_model(name, num_actions=3)
        assert isinstance(model.core, core_cls)
        assert isinstance(model.encoder, VectorEncoder)
        assert model.head.num_actions == 3


def test_settings_reach_the_modules_and_lists_become_tuples() -> None:
    model = make_model(
        "transformer",
        num_actions=2,
        continuous=True,
        encoder="grid",
        encoder_settings={"vocab_sizes": [5, 2]},
        context_length=8,
        num_heads=2,
        d_model=16,
        norm="rmsnorm",
    )
    assert isinstance(model.encoder, GridEncoder) and model.encoder.vocab_sizes == (5, 2)
    assert (model.core.context_length, model.core.num_heads, model.core.norm) == (8, 2, "rmsnorm")
    assert model.head.continuous
    assert make_model("mlp", num_actions=2, hidden_sizes=[3, 4]).core.hidden_sizes == (3, 4)


@pytest.mark.parametrize(
    ("name", "settings", "field"),
    [
        ("lstm", {}, "model.name"),
        ("gru", {"hidden": 8}, "core.hidden"),
        ("gru", {"hidden_size": 0}, "core.hidden_size"),
        ("gru", {"hidden_size": 8.0}, "core.hidden_size"),
        ("mlp", {"hidden_sizes": ()}, "core.hidden_sizes"),
        ("mlp", {"activation": "swish"}, "core.activation"),
        ("transformer", {"d_model": 12, "num_heads": 4}, "core.d_model"),
        ("transformer", {"norm": "batchnorm"}, "core.norm"),
        ("transformer", {"context_length": 0}, "core.context_length"),
        ("ssm", {"state_size": -1}, "core.state_size"),
        ("gru", {"encoder": "pixels"}, "model.encoder"),
        ("gru", {"encoder_settings": {"depth": 2}}, "encoder.depth"),
        ("gru", {"num_actions": 0}, "num_actions"),
    ],
)
def test_bad_names_and_settings_raise_config_error(name: str, settings: dict, field: str) -> None:
    settings = {"num_actions": 3, **settings}
    with pytest.raises(ConfigError) as raised:
        make_model(name, **settings)
    assert raised.value.field == field


def test_spaces_pick_encoder_and_head(key: jax.Array) -> None:
    grid = make_model_for_spaces("mlp", Box(0, 7, (5, 5, 3), "int32"), Discrete(4))
    assert isinstance(grid.encoder, GridEncoder) and grid.encoder.vocab_sizes == (8, 8, 8)
    vector = make_model_for_spaces("mlp", Box(-1.0, 1.0, (6,)), Box(-1.0, 1.0, (2,)))
    assert isinstance(vector.encoder, VectorEncoder) and vector.head.continuous
    carry = vector.initialize_carry((3,))
    obs, reset = jnp.zeros((3, 6)), jnp.zeros((3,), bool)
    params = jax.eval_shape(vector.init, key, carry, obs, reset)
    _, (policy, value) = jax.eval_shape(vector.apply, params, carry, obs, reset)
    assert isinstance(policy, GaussianParams) and policy.mean.shape == (3, 2)
    assert value.shape == (3,)
    with pytest.raises(ConfigError):
        make_model_for_spaces("mlp", Box(0, 7, (5, 5), "int32"), Discrete(4))
    with pytest.raises(ConfigError):
        make_model_for_spaces("mlp", Box(-1.0, 1.0, (6,)), Box(-1.0, 1.0, (2, 2)))
