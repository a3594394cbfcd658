"""The JSON body of `POST /v1/act`, checked field by field into numpy arrays.

Request (one env, N agents; or a batch of B envs with a leading B axis everywhere):

    {
      "observations": [[...], ...],   # required: obs_dtype[N, *obs_shape] or [B, N, *obs_shape]
      "memory": {"RUN:SEED": [leaf, ...], ...},   # optional: the "memory" of the last answer
                                      # (null for a member: its initial memory)
      "reset": true,                  # optional: bool, or bool[B]; true starts an episode
      "legal_action_mask": [[...]],   # optional, discrete: bool[N, A] or bool[B, N, A]
      "probabilities": false,         # optional: also answer the combined probabilities
      "members": ["RUN:SEED", ...]    # optional: ask only these members (default: all)
    }

`reset` defaults to true without `memory` (a new episode) and to false with it. Every
failure is a `RequestError`: a status (400 for a body that is not a JSON object, 422 for a
field that is wrong) and a one-line reason naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlax.serve.spec import ModelSpec

REQUEST_FIELDS = (
    "observations",
    "memory",
    "reset",
    "legal_action_mask",
    "probabilities",
    "members",
)


class RequestError(Exception):
    """A request the server refuses: HTTP `status` and a one-line `reason` naming `field`."""

    def __init__(self, status: int, field: str, reason: str) -> None:
        self.status = status
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class ActRequest:
    """A checked request; every array has the env batch axis B first.

    Attributes:
        observations: obs_dtype[B, N, *obs_shape].
        batched: whether the client sent the B axis (answers drop it when not).
        member_indices: the members asked, as indices into `ModelSpec.members`.
        memory: per asked member its memory leaves f32[B, *leaf_shape] or None (its initial
            memory); None for all when the request has no memory.
        reset: bool[B].
        legal_action_mask: bool[B, N, A] (all True when not given; None for continuous).
        probabilities: whether to answer the combined probabilities.
    """

    observations: np.ndarray
    batched: bool
    member_indices: tuple[int, ...]
    memory: tuple[tuple[np.ndarray, ...] | None, ...] | None
    reset: np.ndarray
    legal_action_mask: np.ndarray | None
    probabilities: bool


def parse_act_request(body: bytes, spec: ModelSpec, max_agents: int) -> ActRequest:
    """The checked `ActRequest` of a request body (RequestError when it is refused)."""
    return parse_act_fields(_json_object(body), spec, max_agents)


def parse_act_fields(fields: dict[str, Any], spec: ModelSpec, max_agents: int) -> ActRequest:
    """The checked `ActRequest` of a request's fields, as JSON decodes them (nested lists,
    numbers, bools, None); gRPC requests arrive here too (`marlax.serve.grpc_messages`)."""
    unknown = sorted(set(fields) - set(REQUEST_FIELDS))
    if unknown:
        raise RequestError(422, unknown[0], f"unknown field (known: {', '.join(REQUEST_FIELDS)})")
    if "observations" not in fields:
        raise RequestError(422, "observations", "required")
    observations, batched = _observations(fields["observations"], spec, max_agents)
    batch = observations.shape[0]
    member_indices = _members(fields.get("members"), spec)
    memory = _memory(fields.get("memory"), spec, member_indices, batch, batched)
    return ActRequest(
        observations=observations,
        batched=batched,
        member_indices=member_indices,
        memory=memory,
        reset=_reset(fields.get("reset"), memory is None, batch, batched),
        legal_action_mask=_legal_mask(fields.get("legal_action_mask"), spec, batch, batched),
        probabilities=_probabilities(fields.get("probabilities", False), spec),
    )


def _json_object(body: bytes) -> dict[str, Any]:
    def _no_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        fields = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RequestError(400, "body", f"not valid JSON ({reason})") from None
    if not isinstance(fields, dict):
        raise RequestError(400, "body", "a JSON object with an 'observations' field")
    return fields


def _array(field: str, value: Any, kinds: str, meaning: str) -> np.ndarray:
    """`value` as a rectangular numpy array whose dtype kind is one of `kinds`."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = np.asarray(None, dtype=object)
    if array.dtype.kind not in kinds or array.size == 0 and array.ndim == 1:
        raise RequestError(422, field, f"a rectangular array of {meaning}")
    return array


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"


def _batched(field: str, array: np.ndarray, one: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    """`array` of shape `one` or [B, *one] as [B, *one], and whether it had the B axis."""
    if array.shape == one:
        return array[None], False
    if array.ndim == len(one) + 1 and array.shape[1:] == one and array.shape[0] >= 1:
        return array, True
    expected = f"{_shape_text(one)} (one env) or [B, {_shape_text(one)[1:]}"
    raise RequestError(422, field, f"shape {expected}, got {_shape_text(array.shape)}")


def _observations(value: Any, spec: ModelSpec, max_agents: int) -> tuple[np.ndarray, bool]:
    kinds, meaning = ("iu", "integers") if spec.integer_obs else ("iuf", "numbers")
    array = _array("observations", value, kinds, meaning)
    array, batched = _batched("observations", array, (spec.num_agents, *spec.obs_shape))
    agents = array.shape[0] * array.shape[1]
    if agents > max_agents:
        raise RequestError(
            422, "observations", f"{agents} agents in one request; the limit is {max_agents}"
        )
    inside = np.all((array >= spec.obs_low) & (array <= spec.obs_high))
    if not inside or (array.dtype.kind == "f" and not np.all(np.isfinite(array))):
        bounds = f"[{spec.obs_low}, {spec.obs_high}]"
        raise RequestError(422, "observations", f"finite values in the observation box {bounds}")
    return array.astype(spec.obs_dtype), batched


def _members(value: Any, spec: ModelSpec) -> tuple[int, ...]:
    if value is None:
        return tuple(range(len(spec.members)))
    ok = isinstance(value, list) and value and all(name in spec.members for name in value)
    if not ok or len(set(value)) != len(value):
        raise RequestError(
            422, "members", f"distinct names among {', '.join(spec.members)} (at least one)"
        )
    return tuple(spec.members.index(name) for name in value)


def _memory(
    value: Any, spec: ModelSpec, member_indices: tuple[int, ...], batch: int, batched: bool
) -> tuple[tuple[np.ndarray, ...] | None, ...] | None:
    """Per asked member its leaves f32[B, ...], or None where the client sent null (fresh)."""
    if value is None:
        return None
    names = [spec.members[index] for index in member_indices]
    if not isinstance(value, dict) or any(name not in value for name in names):
        raise RequestError(422, "memory", f"an object with the memory of {', '.join(names)}")
    memory = []
    for index, name in zip(member_indices, names, strict=True):
        if value[name] is None:
            memory.append(None)
            continue
        leaves = _member_memory(f"memory.{name}", value[name], spec.memory_shapes[index])
        for leaf, leaf_batched in leaves:
            if leaf_batched != batched or leaf.shape[0] != batch:
                raise RequestError(422, f"memory.{name}", "the same env batch as observations")
        memory.append(tuple(leaf for leaf, _ in leaves))
    return tuple(memory)


def _member_memory(
    field: str, leaves: Any, shapes: tuple[tuple[int, ...], ...]
) -> tuple[tuple[np.ndarray, bool], ...]:
    """Each leaf as f32[B, *shape] with whether it had the B axis."""
    if not isinstance(leaves, list) or len(leaves) != len(shapes):
        raise RequestError(422, field, f"a list of {len(shapes)} arrays (as last answered)")
    arrays = []
    for leaf_index, (leaf, shape) in enumerate(zip(leaves, shapes, strict=True)):
        leaf_field = f"{field}[{leaf_index}]"
        array = np.asarray(np.nan) if not isinstance(leaf, list) else None
        array = _array(leaf_field, leaf, "iuf", "numbers") if array is None else array
        array, leaf_batched = _batched(leaf_field, array, shape)
        if not np.all(np.isfinite(array)):
            raise RequestError(422, leaf_field, "finite numbers (as last answered)")
        arrays.append((array.astype(np.float32), leaf_batched))
    return tuple(arrays)


def _reset(value: Any, fresh: bool, batch: int, batched: bool) -> np.ndarray:
    if value is None:
        return np.full((batch,), fresh)
    if isinstance(value, bool):
        return np.full((batch,), value)
    flags = isinstance(value, list) and all(isinstance(item, bool) for item in value)
    if batched and flags and len(value) == batch:
        return np.asarray(value, dtype=bool)
    several = f", or a list of {batch} of them" if batched else ""
    raise RequestError(422, "reset", f"true or false{several}")


def _legal_mask(value: Any, spec: ModelSpec, batch: int, batched: bool) -> np.ndarray | None:
    if not spec.discrete:
        if value is not None:
            raise RequestError(422, "legal_action_mask", "only for discrete actions")
        return None
    if value is None:
        return np.ones((batch, spec.num_agents, spec.action_size), dtype=bool)
    array = _array("legal_action_mask", value, "b", "true/false")
    array, mask_batched = _batched("legal_action_mask", array, (spec.num_agents, spec.action_size))
    if mask_batched != batched or array.shape[0] != batch:
        raise RequestError(422, "legal_action_mask", "the same env batch as observations")
    if not np.all(np.any(array, axis=-1)):
        raise RequestError(422, "legal_action_mask", "at least one legal action per agent")
    return array


def _probabilities(value: Any, spec: ModelSpec) -> bool:
    if not isinstance(value, bool):
        raise RequestError(422, "probabilities", "true or false")
    if value and not spec.discrete:
        raise RequestError(422, "probabilities", "only for discrete actions")
    return value
