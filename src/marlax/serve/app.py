"""Build and start the Ray Serve application of `marlax serve`, without blocking.

    settings = ServeSettings(runs=("run-a", "run-b:1"), replicas=2)
    server = start_serving(settings, ray_init={"num_cpus": 2})
    ...                                    # HTTP on server.url, e.g. http://127.0.0.1:8000
    stop_serving()                         # serve.shutdown() then ray.shutdown()

The members are loaded here first (`marlax.evaluation.ensemble.load_ensemble`), so an unknown
run, a run without checkpoint or runs of different envs are a ConfigError before Ray
starts. The application has one deployment per member ("member0", "member1", ...; each
`replicas` replicas of `MemberModel`, restoring its run in its own process) and an ingress
deployment "controller" (`Controller`, as many replicas) that holds their handles.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from marlax.errors import ConfigError
from marlax.evaluation.ensemble import EnsembleRequest, load_ensemble
from marlax.serve.controller import Controller
from marlax.serve.member import MemberModel
from marlax.serve.settings import ServeSettings
from marlax.serve.spec import ModelSpec, model_spec

CONTROLLER_DEPLOYMENT = "controller"
MEMBER_MAX_ONGOING_REQUESTS = 16
CONTROLLER_MAX_ONGOING_REQUESTS = 64
HEALTH_CHECK_PERIOD_S = 5.0
HEALTH_CHECK_TIMEOUT_S = 15.0
CONSTRUCTOR_RETRIES = 3


def member_deployment_name(index: int) -> str:
    """The deployment name of member `index` ("member0", ...)."""
    return f"member{index}"


@dataclass(frozen=True)
class Server:
    """A started application: where it answers and what it serves."""

    settings: ServeSettings
    spec: ModelSpec

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def deployments(self) -> tuple[str, ...]:
        members = tuple(member_deployment_name(index) for index in range(len(self.spec.members)))
        return (CONTROLLER_DEPLOYMENT, *members)


def load_spec(settings: ServeSettings) -> ModelSpec:
    """Load every member once here and describe what they play (ConfigError if one fails)."""
    ensemble = load_ensemble(
        settings.runs_dir, list(settings.runs), EnsembleRequest(rule=settings.rule)
    )
    for member, reason in ensemble.dropped.items():
        raise ConfigError("runs", member, f"a run that loads ({reason})")
    memories = tuple(member.policy.initial_memory() for member in ensemble.members)
    env_name = ensemble.members[0].env_name
    return model_spec(env_name, ensemble.env, ensemble.members_used, memories)


def build_app(settings: ServeSettings, spec: ModelSpec) -> Any:
    """The Ray Serve `Application`: member deployments bound into the controller."""
    from ray import serve

    common = {
        "num_replicas": settings.replicas,
        # replicas wait on requests, not on cores: don't let CPU reservations cap them
        "ray_actor_options": {"num_cpus": 0},
        "health_check_period_s": HEALTH_CHECK_PERIOD_S,
        "health_check_timeout_s": HEALTH_CHECK_TIMEOUT_S,
        "max_constructor_retry_count": CONSTRUCTOR_RETRIES,
    }
    members = [
        serve.deployment(
            MemberModel,
            name=member_deployment_name(index),
            max_ongoing_requests=MEMBER_MAX_ONGOING_REQUESTS,
            **common,
        ).bind(str(settings.runs_dir), member)
        for index, member in enumerate(spec.members)
    ]
    controller = serve.deployment(
        Controller,
        name=CONTROLLER_DEPLOYMENT,
        max_ongoing_requests=CONTROLLER_MAX_ONGOING_REQUESTS,
        **common,
    )
    return controller.bind(members, spec, settings)


def start_serving(settings: ServeSettings, *, ray_init: dict[str, Any] | None = None) -> Server:
    """Load the members, start Ray (unless running) and Serve, deploy; returns once ready.

    Args:
        settings: what to serve and how.
        ray_init: keyword arguments of `ray.init` when Ray is not running yet.

    Raises:
        ConfigError: a member does not load, members play different envs, the port is taken.
    """
    spec = load_spec(settings)
    import ray
    from ray import serve

    if not ray.is_initialized():
        _require_free_port(settings.host, settings.port)
        if settings.grpc_port is not None:
            _require_free_port("0.0.0.0", settings.grpc_port, "grpc_port")
        ray.init(**(ray_init or {}))
    serve.start(
        http_options={"host": settings.host, "port": settings.port},
        grpc_options=grpc_options(settings),
    )
    serve.run(
        build_app(settings, spec),
        name=settings.app_name,
        route_prefix=settings.route_prefix,
        # a log line per request costs more than the request on a small machine
        logging_config={"enable_access_log": False, "log_level": "WARNING"},
    )
    return Server(settings, spec)


GRPC_SERVICER = "marlax.serve.proto.policy_pb2_grpc.add_PolicyServicer_to_server"
"""The import path Ray Serve's gRPC proxy adds the `marlax.serve.v1.Policy` service with."""


def grpc_options(settings: ServeSettings) -> dict[str, Any] | None:
    """Ray Serve's `grpc_options` (None: no gRPC proxy). Reflection stays off: the service
    is described by `proto/policy.proto`, shipped with marlax."""
    if settings.grpc_port is None:
        return None
    return {
        "port": settings.grpc_port,
        "grpc_servicer_functions": [GRPC_SERVICER],
        "enable_reflection": False,
    }


def stop_serving() -> None:
    """Shut Serve down, then Ray (no process is left behind)."""
    import ray
    from ray import serve

    if ray.is_initialized():
        serve.shutdown()
        ray.shutdown()


def _require_free_port(host: str, port: int, field: str = "port") -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as the HTTP server will: a port in TIME_WAIT from a previous server is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigError(field, port, f"a free port on {host} ({error.strerror})") from None
