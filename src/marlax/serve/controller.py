"""The ingress of a served ensemble: checks a request, asks the members, combines, answers.

Routes (under the application's route prefix):
    GET  /v1/info  the env, the action space, the members and their memory shapes.
    POST /v1/act   actions for one env or a batch (schema in `marlax.serve.schema`).

An answer of `/v1/act`:

    {
      "actions": [...],             # i32[N] (or [B, N]); continuous: f32[N, A] (or [B, N, A])
      "probabilities": [[...]],     # only when asked: f32[N, A] (or [B, N, A]), the members' mean
      "memory": {"RUN:SEED": [leaf, ...] | null, ...},  # send it back with the next step
      "members_used": ["RUN:SEED", ...],
      "members_down": ["RUN:SEED", ...],   # asked but did not answer in time (after retries)
      "rule": "soft_vote"
    }

A member that raises or passes `member_timeout_s` is tried again (`member_attempts` calls in
all: Ray Serve routes the retry to another replica when one is alive); after that it counts
as down, the others' answer is the answer and its memory comes back as it was sent. When
every asked member is down the answer is 503. Refusals are one JSON line
`{"error": "<field>: <reason>", "field": "<field>"}` with status 400, 401, 404, 405, 413 or
422; anything unexpected is a 500 with a one-line reason, never a traceback.

With a gRPC port, the same class answers the `marlax.serve.v1.Policy` service (`Act`, `Info`;
`proto/policy.proto`): the token comes as `authorization: Bearer <token>` metadata, the
request goes through the HTTP parser (`marlax.serve.grpc_messages`), and refusals are gRPC
status codes with the same one-line detail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from marlax.serve.combine import combine_scores
from marlax.serve.guard import check_declared_size, check_token, read_limited
from marlax.serve.schema import ActRequest, RequestError, parse_act_fields, parse_act_request
from marlax.serve.settings import ServeSettings
from marlax.serve.spec import ModelSpec

logger = logging.getLogger(__name__)

MemberAnswer = tuple[np.ndarray, tuple[np.ndarray, ...]]


class Controller:
    """The ingress deployment's class (plain Python; `marlax.serve.app` deploys it).

    Args:
        members: one handle per member, in `spec.members` order; `handle.act.remote(...)`
            returns an awaitable answer (a Ray Serve `DeploymentResponse`).
        spec: what requests must look like.
        settings: the rule, the token, the limits and the member timeout.
    """

    def __init__(self, members: Sequence[Any], spec: ModelSpec, settings: ServeSettings) -> None:
        self.members = list(members)
        self.spec = spec
        self.settings = settings

    async def __call__(self, request: Any) -> Any:
        """Answer one HTTP request (a Starlette `Request`) with a JSON response."""
        from starlette.responses import JSONResponse

        try:
            status, answer = 200, await self._route(request)
        except RequestError as error:
            status, answer = error.status, {"error": str(error), "field": error.field}
        except Exception as error:  # the client gets one line; the replica log keeps the rest
            logger.exception("marlax serve: request failed")
            status, answer = 500, {"error": f"internal error: {type(error).__name__}"}
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(answer, status_code=status, headers=headers)

    async def Act(self, request: Any, grpc_context: Any = None) -> Any:  # noqa: N802 - gRPC name
        """Answer one gRPC `Act` (a `policy_pb2.ActRequest`) with an `ActReply`."""
        from marlax.serve import grpc_messages

        async def _act() -> Any:
            _check_grpc_request(grpc_context, self.settings, request.ByteSize())
            fields = grpc_messages.request_fields(request)
            act_request = parse_act_fields(fields, self.spec, self.settings.max_agents)
            answer = await self.answer(act_request)
            return grpc_messages.act_reply(answer, self.spec.discrete)

        return await _grpc_answer(_act(), grpc_context, "ActReply")

    async def Info(self, request: Any, grpc_context: Any = None) -> Any:  # noqa: N802 - gRPC name
        """Answer one gRPC `Info` with an `InfoReply`."""
        from marlax.serve import grpc_messages

        async def _info() -> Any:
            _check_grpc_request(grpc_context, self.settings, request.ByteSize())
            return grpc_messages.info_reply(self.spec, self.settings.rule)

        return await _grpc_answer(_info(), grpc_context, "InfoReply")

    async def _route(self, request: Any) -> dict[str, Any]:
        check_token(request.headers.get("authorization"), self.settings.token)
        path = request.url.path.rstrip("/")
        if path.endswith("/v1/info"):
            _require_method(request.method, "GET")
            return {**self.spec.describe(), "rule": self.settings.rule}
        if not path.endswith("/v1/act"):
            raise RequestError(404, "path", f"{path or '/'} is not a route (/v1/act, /v1/info)")
        _require_method(request.method, "POST")
        limit = self.settings.max_request_bytes
        check_declared_size(request.headers.get("content-length"), limit)
        body = await read_limited(request.stream(), limit)
        act_request = parse_act_request(body, self.spec, self.settings.max_agents)
        return await self.answer(act_request)

    async def answer(self, request: ActRequest) -> dict[str, Any]:
        """The JSON answer of a checked request (RequestError 503 when every member is down)."""
        calls = [
            self._ask_member(index, request, position)
            for position, index in enumerate(request.member_indices)
        ]
        answers = await asyncio.gather(*calls)
        names = [self.spec.members[index] for index in request.member_indices]
        down = [name for name, answer in zip(names, answers, strict=True) if answer is None]
        if len(down) == len(names):
            raise RequestError(503, "members", f"every asked member is down ({', '.join(down)})")
        actions, probabilities = self._combine(answers)
        return _answer_json(request, names, answers, actions, probabilities, self.settings.rule)

    async def _ask_member(
        self, index: int, request: ActRequest, position: int
    ) -> MemberAnswer | None:
        """The member's (scores, memory), or None when it is down after every attempt."""
        memory = None if request.memory is None else request.memory[position]
        arguments = (request.observations, memory, request.reset, request.legal_action_mask)
        for attempt in range(1, self.settings.member_attempts + 1):
            response = self.members[index].act.remote(*arguments)
            try:
                return await asyncio.wait_for(response, self.settings.member_timeout_s)
            except Exception as error:  # a dead replica, a timeout, a failing policy
                _cancel(response)
                logger.warning(
                    "member %s attempt %d failed: %s",
                    self.spec.members[index],
                    attempt,
                    type(error).__name__,
                )
        return None

    def _combine(self, answers: list[MemberAnswer | None]) -> tuple[np.ndarray, np.ndarray]:
        """(actions, probabilities) of the members that answered (`combine_scores`)."""
        shape = next(answer[0].shape for answer in answers if answer is not None)
        placeholder = np.zeros(shape, np.float32)  # masked out by `alive`
        scores = np.stack([placeholder if answer is None else answer[0] for answer in answers])
        alive = np.asarray([answer is not None for answer in answers])
        actions, probabilities = combine_scores(
            scores, alive, rule=self.settings.rule, discrete=self.spec.discrete
        )
        return np.asarray(actions), np.asarray(probabilities)


def _check_grpc_request(grpc_context: Any, settings: ServeSettings, size: int) -> None:
    """The token (`authorization` metadata) and the size limit, as HTTP checks them."""
    metadata = dict(grpc_context.invocation_metadata()) if grpc_context is not None else {}
    check_token(metadata.get("authorization"), settings.token)
    if size > settings.max_request_bytes:
        raise RequestError(413, "body", f"{size} bytes; the limit is {settings.max_request_bytes}")


async def _grpc_answer(answering: Any, grpc_context: Any, reply_name: str) -> Any:
    """Await a gRPC answer; a refusal sets the status code and one-line detail instead."""
    from marlax.serve import grpc_messages
    from marlax.serve.proto import policy_pb2

    try:
        return await answering
    except RequestError as error:
        code, detail = grpc_messages.grpc_code(error.status), str(error)
    except Exception as error:  # the client gets one line; the replica log keeps the rest
        logger.exception("marlax serve: gRPC request failed")
        code = grpc_messages.grpc_code(500)
        detail = f"internal error: {type(error).__name__}"
    if grpc_context is not None:
        grpc_context.set_code(code)
        grpc_context.set_details(detail)
    return getattr(policy_pb2, reply_name)()


def _require_method(method: str, expected: str) -> None:
    if method != expected:
        raise RequestError(405, "method", f"{method} is not allowed here; use {expected}")


def _cancel(response: Any) -> None:
    cancel = getattr(response, "cancel", None)
    if cancel is not None:
        cancel()


def _answer_json(
    request: ActRequest,
    names: list[str],
    answers: list[MemberAnswer | None],
    actions: np.ndarray,
    probabilities: np.ndarray,
    rule: str,
) -> dict[str, Any]:
    """The answer's JSON object; arrays lose the B axis when the request had none."""

    def _unbatch(array: np.ndarray) -> list:
        return (array if request.batched else array[0]).tolist()

    memory = {}
    for position, (name, answer) in enumerate(zip(names, answers, strict=True)):
        # a member that is down keeps the memory it was sent (null: its initial memory)
        sent = None if request.memory is None else request.memory[position]
        leaves = sent if answer is None else answer[1]
        memory[name] = None if leaves is None else [_unbatch(leaf) for leaf in leaves]
    json_answer: dict[str, Any] = {
        "actions": _unbatch(actions),
        "memory": memory,
        "members_used": [
            name for name, answer in zip(names, answers, strict=True) if answer is not None
        ],
        "members_down": [
            name for name, answer in zip(names, answers, strict=True) if answer is None
        ],
        "rule": rule,
    }
    if request.probabilities:
        json_answer["probabilities"] = _unbatch(probabilities)
    return json_answer
