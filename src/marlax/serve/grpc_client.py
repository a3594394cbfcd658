"""A small gRPC client of `marlax serve --grpc-port P` (the `marlax.serve.v1.Policy` service).

    client = GrpcServeClient("127.0.0.1:9000", token="...")
    answer = client.act(observations)                       # a new episode
    answer = client.act(next_observations, memory=answer["memory"])
    answer["actions"], answer["members_down"]
    client.close()

Answers have the HTTP client's shape (`ServeClient.act`): numpy arrays for actions and
probabilities, memory as {"RUN:SEED": [leaf, ...] or None}, so either client can drive the
same loop. UNAVAILABLE answers (a restarting replica or proxy) are retried like HTTP's 503;
other refusals raise `GrpcServeError` with the server's one-line detail.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import numpy as np

from marlax.serve.grpc_messages import (
    array_of,
    bool_tensor_message,
    memory_message,
    tensor_message,
)
from marlax.serve.proto import policy_pb2, policy_pb2_grpc


class GrpcServeError(Exception):
    """The server refused a gRPC call: its status `code` and one-line `details`."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        self.details = details
        super().__init__(f"gRPC {code.name}: {details}")


class GrpcServeClient:
    """Calls one served application over gRPC.

    Args:
        address: "HOST:PORT" of Ray Serve's gRPC proxy.
        token: the bearer token (`marlax serve --token`).
        application: the Ray Serve application name (`ServeSettings.app_name`), sent as the
            `application` metadata Ray Serve routes by.
        timeout_s: deadline of one attempt.
        retries: further attempts after UNAVAILABLE.
        backoff_s: wait before the first retry (doubling, at most 2 s).
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        application: str = "marlax",
        timeout_s: float = 30.0,
        retries: int = 5,
        backoff_s: float = 0.1,
    ) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = policy_pb2_grpc.PolicyStub(self.channel)
        self.metadata = [("application", application)]
        if token is not None:
            self.metadata.append(("authorization", f"Bearer {token}"))
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s

    def act(
        self,
        observations: Any,
        *,
        memory: dict[str, Any] | None = None,
        reset: Any = None,
        legal_action_mask: Any = None,
        probabilities: bool = False,
        members: list[str] | None = None,
    ) -> dict[str, Any]:
        """Actions for one env (obs [N, ...]) or a batch (obs [B, N, ...]); see the module."""
        request = policy_pb2.ActRequest(
            observations=tensor_message(np.asarray(observations)),
            probabilities=probabilities,
            members=members or [],
        )
        for name, leaves in (memory or {}).items():
            request.memory[name].CopyFrom(memory_message(leaves))
        if reset is not None:
            request.reset.CopyFrom(bool_tensor_message(reset))
        if legal_action_mask is not None:
            request.legal_action_mask.CopyFrom(bool_tensor_message(legal_action_mask))
        reply = self._call(self.stub.Act, request)
        answer: dict[str, Any] = {
            "actions": array_of(reply.actions),
            "memory": {
                name: None if leaves.initial else [array_of(leaf) for leaf in leaves.leaves]
                for name, leaves in reply.memory.items()
            },
            "members_used": list(reply.members_used),
            "members_down": list(reply.members_down),
            "rule": reply.rule,
        }
        if reply.HasField("probabilities"):
            answer["probabilities"] = array_of(reply.probabilities)
        return answer

    def info(self) -> Any:
        """The served ensemble's `InfoReply` (env, spaces, members, memory shapes, rule)."""
        return self._call(self.stub.Info, policy_pb2.InfoRequest())

    def close(self) -> None:
        self.channel.close()

    def _call(self, method: Any, request: Any) -> Any:
        wait, attempt = self.backoff_s, 0
        while True:
            try:
                return method(request, metadata=self.metadata, timeout=self.timeout_s)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or attempt >= self.retries:
                    raise GrpcServeError(error.code(), error.details() or "") from None
            attempt += 1
            time.sleep(wait)
            wait = min(2 * wait, 2.0)
