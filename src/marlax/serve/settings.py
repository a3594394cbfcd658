"""What `marlax serve` is asked to do: runs, replicas, rule, address, token and limits.

`ServeSettings` is checked when built (ConfigError, so the CLI prints one line and exits 2):
binding anything but a loopback address without a token is refused, because a policy
server on an open port answers whoever finds it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from marlax.config.validators import (
    check_fields,
    choice,
    integer,
    number,
    optional,
    spec,
    string,
)
from marlax.errors import ConfigError
from marlax.validate import require

SERVE_RULES = ("soft_vote", "average")
"""Ensemble rules the server combines members with (`marlax.ensembles.rules`)."""

TOKEN_ENV = "MARLAX_SERVE_TOKEN"
"""The environment variable a token may come from instead of `--token`."""

LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class ServeSettings:
    """One serving application (see `marlax.serve` for the HTTP schema)."""

    runs: tuple[str, ...] = spec((), lambda field, value: _runs(field, value))
    """Members: run names under `runs_dir`, each "RUN" (seed 0) or "RUN:SEED"."""
    runs_dir: Path = spec(Path("runs"), lambda field, value: Path(value).resolve())
    """Folder of runs; stored absolute, because replicas start in other processes."""
    replicas: int = spec(1, integer(1))
    """Replicas of each member's deployment (the controller gets as many)."""
    rule: str = spec("soft_vote", choice(SERVE_RULES))
    """How several members' action probabilities are combined."""
    host: str = spec("127.0.0.1", string())
    """Address the HTTP proxy binds; anything but loopback needs a token."""
    port: int = spec(8000, integer(1))
    """TCP port of the HTTP proxy (<= 65535)."""
    grpc_port: int | None = spec(None, optional(integer(1), "no gRPC"))
    """TCP port of Ray Serve's gRPC proxy (service `marlax.serve.v1.Policy`); None: HTTP only.
    Ray Serve 2.60 binds it on every interface ([::]), so it needs a token."""
    token: str | None = spec(None, optional(string(forbidden=" \t\r\n"), "no token"))
    """Bearer token every request must carry (`Authorization: Bearer <token>`)."""
    max_request_bytes: int = spec(1 << 20, integer(64))
    """Largest request body accepted; a larger one gets 413."""
    max_agents: int = spec(1024, integer(1))
    """Most agents (envs x agents per env) one request may ask actions for."""
    member_timeout_s: float = spec(5.0, number(0.0, open_low=True))
    """How long the controller waits for one member's answer before trying again."""
    member_attempts: int = spec(2, integer(1))
    """Calls per member and request before the member counts as down."""
    app_name: str = spec("marlax", string(forbidden="/ "))
    """Ray Serve application name (deployments are named after it)."""
    route_prefix: str = spec("/", string())
    """HTTP path prefix of the application ("/" or "/name")."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(self.port <= 65535, "port", self.port, "a TCP port in [1, 65535]")
        require(
            self.route_prefix.startswith("/"), "route_prefix", self.route_prefix, "a path '/...'"
        )
        if self.grpc_port is not None:
            require(
                self.grpc_port <= 65535, "grpc_port", self.grpc_port, "a TCP port in [1, 65535]"
            )
            require(self.grpc_port != self.port, "grpc_port", self.grpc_port, "not the HTTP port")
            if self.token is None:
                # Ray Serve's gRPC proxy has no host option: it listens on [::]
                raise ConfigError(
                    "grpc_port",
                    self.grpc_port,
                    f"a --token (or {TOKEN_ENV}) too: Ray Serve binds gRPC on every interface",
                )
        if self.token is None and not is_loopback(self.host):
            raise ConfigError(
                "host",
                self.host,
                f"127.0.0.1, ::1 or localhost, or a --token (or {TOKEN_ENV}) when binding "
                "another address",
            )

    @property
    def url(self) -> str:
        """The application's base URL, e.g. http://127.0.0.1:8000."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.route_prefix.rstrip('/')}"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _runs(field: str, value: object) -> tuple[str, ...]:
    ok = isinstance(value, list | tuple) and len(value) >= 1
    ok = ok and all(isinstance(item, str) and item for item in value)
    if not ok:
        raise ConfigError(field, value, "at least one run name (RUN or RUN:SEED)")
    require(len(set(value)) == len(value), field, list(value), "distinct members")
    return tuple(value)
