"""A small HTTP client of `marlax serve` (standard library only).

    client = ServeClient("http://127.0.0.1:8000", token=None)
    answer = client.act(observations)                       # a new episode
    answer = client.act(next_observations, memory=answer["memory"])
    answer["actions"], answer["members_down"]

Connection errors and 502/503/504 answers are retried up to `retries` times with a short
backoff (a restarting replica or proxy); other refusals raise `ServeError` with the
server's one-line reason. One client keeps one keep-alive connection: use one per thread.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import Any

import numpy as np

RETRY_STATUSES = (502, 503, 504)


class ServeError(Exception):
    """The server refused a request: HTTP `status` and its one-line `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"HTTP {status}: {reason}")


class ServeClient:
    """Calls one served application.

    Args:
        url: the application's base URL (`Server.url`).
        token: the bearer token, when the server has one.
        timeout_s: socket timeout of one attempt.
        retries: further attempts after a connection error or a 502/503/504.
        backoff_s: wait before the first retry (doubling, at most 2 s).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 5,
        backoff_s: float = 0.1,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.token, self.timeout_s = token, timeout_s
        self.retries, self.backoff_s = retries, backoff_s
        self.retried = 0  # attempts repeated so far (the load test counts them)
        self._connection: http.client.HTTPConnection | None = None

    def info(self) -> dict[str, Any]:
        """`GET /v1/info`: the env, the action space, the members."""
        return self.request("GET", "/v1/info")

    def act(
        self,
        observations: Any,
        *,
        memory: dict[str, Any] | None = None,
        reset: bool | list[bool] | None = None,
        legal_action_mask: Any = None,
        probabilities: bool = False,
        members: list[str] | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/act` (see `marlax.serve.schema` for the fields)."""
        fields: dict[str, Any] = {"observations": _json_array(observations)}
        optional = {
            "memory": memory,
            "reset": reset,
            "legal_action_mask": _json_array(legal_action_mask),
            "members": members,
        }
        fields.update({key: value for key, value in optional.items() if value is not None})
        if probabilities:
            fields["probabilities"] = True
        return self.request("POST", "/v1/act", json.dumps(fields).encode())

    def request(self, method: str, path: str, body: bytes | None = None) -> dict[str, Any]:
        """One call with retries; the decoded JSON answer (ServeError on a refusal)."""
        headers = {"Content-Type": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                status, answer = self._send(method, self.prefix + path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if last:
                    raise ServeError(0, f"no connection: {error}") from error
            else:
                if status == 200:
                    return answer
                if status not in RETRY_STATUSES or last:
                    raise ServeError(status, str(answer.get("error", answer)))
            self.retried += 1
            time.sleep(min(self.backoff_s * 2**attempt, 2.0))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout_s
            )
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        payload = response.read()
        try:
            answer = json.loads(payload) if payload else {}
        except ValueError:
            answer = {"error": payload[:200].decode(errors="replace")}
        if not isinstance(answer, dict):
            answer = {"error": str(answer)[:200]}
        return response.status, answer

    def close(self) -> None:
        """Close the keep-alive connection (the next call opens a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _json_array(value: Any) -> Any:
    """Arrays as nested lists; lists and None as they are."""
    return np.asarray(value).tolist() if isinstance(value, np.ndarray) else value
