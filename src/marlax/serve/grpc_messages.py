"""gRPC messages of `marlax serve` (`proto/policy.proto`) to and from the HTTP JSON shapes.

A gRPC `ActRequest` becomes the same fields dict the HTTP body decodes to (nested lists,
bools, None), so both faces go through one parser (`marlax.serve.schema.parse_act_fields`)
and refuse the same requests with the same one-line reasons; an answer dict of
`Controller.answer` becomes an `ActReply`. `RequestError` statuses map to gRPC codes.
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np

from marlax.serve.proto import policy_pb2
from marlax.serve.schema import RequestError
from marlax.serve.spec import ModelSpec

GRPC_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
}
"""The gRPC status of each HTTP status the controller answers (anything else: INTERNAL)."""


def grpc_code(status: int) -> grpc.StatusCode:
    """The gRPC status code standing for HTTP `status`."""
    return GRPC_CODES.get(status, grpc.StatusCode.INTERNAL)


# ---- request: message -> fields --------------------------------------------------------------


def request_fields(message: Any) -> dict[str, Any]:
    """The HTTP-shaped fields of an `ActRequest` message (absent fields stay absent)."""
    fields: dict[str, Any] = {"probabilities": bool(message.probabilities)}
    if message.HasField("observations"):
        fields["observations"] = _nested("observations", message.observations)
    if message.memory:
        fields["memory"] = {
            name: None
            if memory.initial
            else [_nested(f"memory.{name}", leaf) for leaf in memory.leaves]
            for name, memory in message.memory.items()
        }
    if message.HasField("reset"):
        fields["reset"] = _nested_bools("reset", message.reset)
    if message.HasField("legal_action_mask"):
        fields["legal_action_mask"] = _nested_bools("legal_action_mask", message.legal_action_mask)
    if message.members:
        fields["members"] = list(message.members)
    return fields


def _shape(field: str, shape: Any, size: int) -> tuple[int, ...]:
    dims = tuple(int(dim) for dim in shape)
    if any(dim < 0 for dim in dims) or int(np.prod(dims, dtype=np.int64)) != size:
        raise RequestError(
            422, field, f"a shape whose product is the number of values ({size}), got {list(dims)}"
        )
    return dims


def _nested(field: str, tensor: Any) -> Any:
    """A `Tensor` as nested lists (ints from `int_values`, floats from `values`)."""
    if tensor.values and tensor.int_values:
        raise RequestError(422, field, "values or int_values, not both")
    values = np.asarray(tensor.int_values, np.int64) if tensor.int_values else None
    if values is None:
        values = np.asarray(tensor.values, np.float64)
    return values.reshape(_shape(field, tensor.shape, values.size)).tolist()


def _nested_bools(field: str, tensor: Any) -> Any:
    values = np.asarray(tensor.values, bool)
    return values.reshape(_shape(field, tensor.shape, values.size)).tolist()


# ---- answers: dicts -> messages ---------------------------------------------------------------


def act_reply(answer: dict[str, Any], discrete: bool) -> Any:
    """The `ActReply` of an answer dict (`Controller.answer`)."""
    memory = {name: memory_message(leaves) for name, leaves in answer["memory"].items()}
    reply = policy_pb2.ActReply(
        actions=tensor_message(np.asarray(answer["actions"]), integer=discrete),
        memory=memory,
        members_used=answer["members_used"],
        members_down=answer["members_down"],
        rule=answer["rule"],
    )
    if "probabilities" in answer:
        reply.probabilities.CopyFrom(tensor_message(np.asarray(answer["probabilities"])))
    return reply


def info_reply(spec: ModelSpec, rule: str) -> Any:
    """The `InfoReply` of a served ensemble (HTTP's GET /v1/info)."""
    shapes = {
        member: policy_pb2.MemoryShapes(leaves=[policy_pb2.Shape(dims=shape) for shape in leaves])
        for member, leaves in zip(spec.members, spec.memory_shapes, strict=True)
    }
    return policy_pb2.InfoReply(
        env=spec.env_name,
        num_agents=spec.num_agents,
        observation_shape=list(spec.obs_shape),
        observation_dtype=spec.obs_dtype,
        discrete=spec.discrete,
        action_size=spec.action_size,
        members=list(spec.members),
        memory_shapes=shapes,
        rule=rule,
    )


def tensor_message(array: np.ndarray, *, integer: bool | None = None) -> Any:
    """A `Tensor` of `array` (integers in `int_values` when `integer`, default: by dtype)."""
    array = np.asarray(array)
    integer = array.dtype.kind in "iub" if integer is None else integer
    flat = array.reshape(-1)
    if integer:
        return policy_pb2.Tensor(shape=array.shape, int_values=flat.astype(np.int64).tolist())
    return policy_pb2.Tensor(shape=array.shape, values=flat.astype(np.float64).tolist())


def bool_tensor_message(array: Any) -> Any:
    """A `BoolTensor` of a bool array (or a Python bool: a scalar)."""
    array = np.asarray(array, bool)
    return policy_pb2.BoolTensor(shape=array.shape, values=array.reshape(-1).tolist())


def array_of(tensor: Any) -> np.ndarray:
    """The numpy array of a `Tensor` message (int64 from `int_values`, else float64)."""
    values = tensor.int_values if tensor.int_values else tensor.values
    dtype = np.int64 if tensor.int_values else np.float64
    return np.asarray(values, dtype).reshape(tuple(tensor.shape))


def memory_message(leaves: Any) -> Any:
    """A `Memory` of a member's leaves (None: its initial memory)."""
    if leaves is None:
        return policy_pb2.Memory(initial=True)
    return policy_pb2.Memory(leaves=[tensor_message(np.asarray(leaf)) for leaf in leaves])
