"""Build a model by name: `make_model("gru", num_actions=5, hidden_size=128)`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError
from marlax.models.base import RecurrentModel
from marlax.models.coordinated import CoordinatedModel, make_coordination
from marlax.models.encoders import GridEncoder, ImageEncoder, VectorEncoder
from marlax.models.graph import GraphModel, Members, read_graph
from marlax.models.gru import GRUCore
from marlax.models.heads import PolicyValueHead
from marlax.models.mlp import MLPCore
from marlax.models.next_obs import NextObsHead, count_adaptable
from marlax.models.s5 import S5Core
from marlax.models.ssm import SSMCore
from marlax.models.transformer import TransformerCore
from marlax.validate import require

CORES: dict[str, type] = {
    "mlp": MLPCore,
    "gru": GRUCore,
    "transformer": TransformerCore,
    "ssm": SSMCore,
    "s5": S5Core,
}
ENCODERS: dict[str, type] = {"vector": VectorEncoder, "grid": GridEncoder, "image": ImageEncoder}
_LINEN_FIELDS = ("parent", "name")


def list_models() -> list[str]:
    """The names `make_model` accepts."""
    return sorted(CORES)


def has_memory(model: RecurrentModel) -> bool:
    """Whether the model carries anything between steps (False for "mlp").

    Read off the model's own carry, not its name: a core whose carry has no elements (the MLP's
    f32[*batch, 0]) cannot remember, so PPO may learn on shuffled single steps.
    """
    carry = jax.eval_shape(lambda: model.initialize_carry((1,)))
    return any(leaf.size > 0 for leaf in jax.tree.leaves(carry))


def _settings_for(cls: type, settings: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Check setting names against the module's fields; JSON lists become tuples."""
    known = {field.name for field in dataclasses.fields(cls)} - set(_LINEN_FIELDS)
    checked = {}
    for name, value in settings.items():
        require(name in known, f"{prefix}.{name}", value, f"a setting in {sorted(known)}")
        checked[name] = tuple(value) if isinstance(value, list) else value
    return checked


def make_model(
    name: str,
    *,
    num_actions: int,
    continuous: bool = False,
    encoder: str = "vector",
    encoder_settings: Mapping[str, Any] | None = None,
    log_std_init: float = 0.0,
    value_bins: int = 1,
    dtype: str = "float32",
    policy_init_scale: float = 0.01,
    graph: Any = None,
    members: Members | None = None,
    space_defaults: Mapping[str, Mapping[str, Any]] | None = None,
    next_obs_size: int | None = None,
    coordination: Mapping[str, Any] | None = None,
    **core_settings: Any,
) -> RecurrentModel | GraphModel:
    """A `RecurrentModel` with the named memory core, or a `GraphModel` when `graph` is set.

    Args:
        name: "mlp", "gru", "transformer", "ssm" or "s5".
        num_actions: A, discrete actions or the continuous action dimension.
        continuous: False for logits f32[..., A], True for a diagonal Gaussian.
        encoder: "vector" for f32[..., D] observations, "grid" for i32[..., V, V, C] id grids,
            "image" for f32[..., H, W, C] float images.
        encoder_settings: fields of `VectorEncoder`, `GridEncoder` (grids need `vocab_sizes`)
            or `ImageEncoder`.
        log_std_init: initial Gaussian log-std (continuous only).
        value_bins: 1 for a scalar value; more for that many value logits (HL-Gauss).
        dtype: compute dtype, "float32" or "bfloat16" (see `marlax.models.precision`).
        policy_init_scale: orthogonal gain of the policy output layer (see `PolicyValueHead`).
        graph: None for encoder -> core -> head; else a graph preset name or
            {"nodes": ..., "edges": ...} (`marlax.models.graph.read_graph`), whose nodes hold
            all the settings: `name`, `encoder_settings` and `core_settings` must then be
            left at their defaults. `encoder` names the observation kind the graph reads.
        members: the trained models of the graph's "member" nodes; without them a graph
            with members is checked but cannot be initialised.
        space_defaults: graph node kind -> settings read off the spaces (a "grid" node's
            `vocab_sizes`); the node's own settings win.
        next_obs_size: D of a vector observation, to add a self-supervised `NextObsHead`
            predicting it (`marlax.models.next_obs`); None for no such head.
        coordination: None for agents that never see each other, or {"kind": "consensus" |
            "assignment" | "pipeline", **settings} for a `CoordinatedModel` whose agents
            coordinate across the last batch axis (`marlax.models.coordinated`).
        **core_settings: fields of the core (e.g. `hidden_size` for "gru", `context_length`,
            `num_layers`, `num_heads`, `d_model` for "transformer").

    Raises:
        ConfigError: an unknown name or setting, or a bad value.
    """
    require(name in CORES, "model.name", name, f"one of {list_models()}")
    require(encoder in ENCODERS, "model.encoder", encoder, f"one of {sorted(ENCODERS)}")
    if graph is not None:
        require(next_obs_size is None, "model.next_obs_head", True, "false with model.graph")
        require(coordination is None, "model.coordination", coordination, "null with model.graph")
        _require_no_plain_settings(name, encoder_settings, core_settings)
        head = {"num_actions": num_actions, "continuous": continuous, "value_bins": value_bins}
        defaults = {"head": {"log_std_init": log_std_init, "policy_init_scale": policy_init_scale}}
        spec = read_graph(graph, encoder, head, defaults | (space_defaults or {}))
        return GraphModel(spec, members or Members(), dtype)
    encoder_cls, core_cls = ENCODERS[encoder], CORES[name]
    encoder_module = encoder_cls(**_settings_for(encoder_cls, encoder_settings or {}, "encoder"))
    core_module = core_cls(**_settings_for(core_cls, core_settings, "core"))
    head = PolicyValueHead(
        num_actions,
        continuous,
        log_std_init,
        value_bins=value_bins,
        policy_init_scale=policy_init_scale,
    )
    next_obs = None
    if next_obs_size is not None:
        next_obs = NextObsHead(next_obs_size, num_actions, continuous)
    if coordination is not None:
        require(next_obs is None, "model.next_obs_head", True, "false with model.coordination")
        try:
            layer = make_coordination(coordination)
        except ConfigError as error:
            raise ConfigError(f"model.{error.field}", error.value, error.expected) from None
        return CoordinatedModel(
            encoder=encoder_module, core=core_module, head=head, dtype=dtype, coordination=layer
        )
    return RecurrentModel(
        encoder=encoder_module, core=core_module, head=head, dtype=dtype, next_obs=next_obs
    )


def _require_no_plain_settings(
    name: str, encoder_settings: Mapping[str, Any] | None, core_settings: Mapping[str, Any]
) -> None:
    """A graph holds every setting on its nodes: the plain model's ones must stay unset, or
    they would be silently ignored."""
    expected = "unset when model.graph is set (settings go on the graph's nodes)"
    require(name == "mlp", "model.name", name, f'"mlp" (the default), {expected}')
    require(
        not encoder_settings, "model.encoder", dict(encoder_settings or {}), f"{{}}, {expected}"
    )
    require(not core_settings, "model.core", dict(core_settings), f"{{}}, {expected}")


def encoder_for_space(observation_space: Space) -> str:
    """The `ENCODERS` name for one agent's observation space.

    A rank-1 float `Box` gets "vector", a rank-3 integer `Box` "grid" (ids), a rank-3 float
    `Box` or a u8 `Box` with high 255 (byte intensities, e.g. `battle`) "image".

    Raises:
        ConfigError: on `observation_space` for any other space.
    """
    if isinstance(observation_space, Box) and len(observation_space.shape) in (1, 3):
        integer_obs = np.issubdtype(np.dtype(observation_space.dtype), np.integer)
        if len(observation_space.shape) == 3:
            if np.dtype(observation_space.dtype) == np.uint8 and np.all(
                np.asarray(observation_space.high) == 255
            ):
                return "image"  # 0..255 intensities, not ids
            return "grid" if integer_obs else "image"
        if not integer_obs:
            return "vector"
    raise ConfigError(
        "observation_space",
        observation_space,
        "a float Box (D,), a float Box (H, W, C) or an integer Box (V, V, C)",
    )


def make_model_for_spaces(
    name: str,
    observation_space: Space,
    action_space: Space,
    *,
    encoder_settings: Mapping[str, Any] | None = None,
    value_bins: int = 1,
    dtype: str = "float32",
    policy_init_scale: float = 0.01,
    next_obs_head: bool = False,
    **settings: Any,
) -> RecurrentModel:
    """`make_model` with the encoder and head read off one agent's spaces (`settings` may
    hold `graph` and `members`, see `make_model`).

    `next_obs_head` adds the self-supervised next-observation head (vector observations
    only); the trunk must then hold a normalisation layer for test-time adaptation to act on
    (`encoder_settings={"layer_norm": True}`, or a transformer, ssm or s5 core).

    An integer `Box(0, max_id, (V, V, C))` observation gets a grid encoder with
    `vocab_sizes = (max_id + 1,) * C`; a rank-3 float `Box` an image encoder; a rank-1 float
    `Box` a vector encoder. `Discrete(n)` actions give n logits; a float `Box(shape=(A,))` a
    Gaussian over A.
    """
    encoder = encoder_for_space(observation_space)
    encoder_settings = dict(encoder_settings or {})
    space_defaults = {}
    if encoder == "grid":
        vocab = (int(observation_space.high) + 1,) * observation_space.shape[-1]
        space_defaults = {"grid": {"vocab_sizes": vocab}}
        if settings.get("graph") is None:
            encoder_settings.setdefault("vocab_sizes", vocab)
    if isinstance(action_space, Discrete):
        num_actions, continuous = action_space.n, False
    elif isinstance(action_space, Box) and len(action_space.shape) == 1:
        num_actions, continuous = action_space.shape[0], True
    else:
        raise ConfigError("action_space", action_space, "Discrete(n) or a Box of shape (A,)")
    next_obs_size = None
    if next_obs_head:
        require(
            encoder == "vector",
            "model.next_obs_head",
            True,
            f"false for {encoder} observations (the head predicts vector observations only)",
        )
        next_obs_size = observation_space.shape[0]
    model = make_model(
        name,
        num_actions=num_actions,
        continuous=continuous,
        encoder=encoder,
        encoder_settings=encoder_settings,
        value_bins=value_bins,
        dtype=dtype,
        policy_init_scale=policy_init_scale,
        space_defaults=space_defaults,
        next_obs_size=next_obs_size,
        **settings,
    )
    if next_obs_head:
        _require_normed_trunk(model, observation_space)
    return model


def _require_normed_trunk(model: RecurrentModel, observation_space: Space) -> None:
    """Test-time adaptation changes the policy only through normalisation layers of the
    trunk (encoder, core): a model with a next-observation head must have one."""
    carry = model.initialize_carry((1,))
    obs = jax.ShapeDtypeStruct((1, *observation_space.shape), observation_space.dtype)
    shapes = jax.eval_shape(
        lambda o: model.init(jax.random.key(0), carry, o, jax.numpy.ones((1,), bool)), obs
    )
    trunk, _ = count_adaptable(shapes)
    require(
        trunk > 0,
        "model.encoder.layer_norm",
        False,
        "true with model.next_obs_head on a core without normalisation layers (mlp, gru):"
        " test-time adaptation changes the policy only through them",
    )
