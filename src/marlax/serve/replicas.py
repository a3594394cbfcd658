"""Find, count and kill the replicas of a served application (failure drills and tests).

Ray Serve names a replica's actor "SERVE_REPLICA::<app>#<deployment>#<id>" in namespace
"serve"; its controller restarts a killed replica
to keep `num_replicas` running.
"""

from __future__ import annotations

SERVE_NAMESPACE = "serve"


def replica_actor_names(app_name: str, deployment: str) -> list[str]:
    """Names of the live replica actors of `deployment` in application `app_name`."""
    import ray

    # the named-actor table lives in the GCS: no dashboard or state API needed
    prefix = f"SERVE_REPLICA::{app_name}#{deployment}#"
    actors = ray.util.list_named_actors(all_namespaces=True)
    return sorted(
        actor["name"]
        for actor in actors
        if actor["namespace"] == SERVE_NAMESPACE and actor["name"].startswith(prefix)
    )


def kill_replica(app_name: str, deployment: str) -> str:
    """Kill one live replica of `deployment` as a crash would (no graceful stop); its name."""
    import ray

    names = replica_actor_names(app_name, deployment)
    if not names:
        raise RuntimeError(f"no live replica of {app_name}/{deployment} to kill")
    ray.kill(ray.get_actor(names[0], namespace=SERVE_NAMESPACE), no_restart=True)
    return names[0]


def running_replicas(app_name: str, deployment: str) -> int:
    """How many replicas of `deployment` Serve reports RUNNING."""
    from ray import serve

    application = serve.status().applications.get(app_name)
    if application is None or deployment not in application.deployments:
        return 0
    states = application.deployments[deployment].replica_states
    return int(sum(count for state, count in states.items() if str(state).endswith("RUNNING")))
