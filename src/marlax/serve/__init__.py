"""Serving trained policies on Ray Serve: `marlax serve RUN [RUN ...]`.

One deployment per member run (`member.MemberModel`, R replicas each) and an ingress
deployment (`controller.Controller`) that checks a request (`schema`, `guard`), asks the
members, combines their answers with an ensemble rule (`combine`) and answers JSON.
`app.start_serving` builds and starts it without blocking; `client.ServeClient` calls it.

HTTP: `GET /v1/info` and `POST /v1/act`; the request is documented in `marlax.serve.schema`,
the answer and the status codes in `marlax.serve.controller`. Recurrent policies keep their
memory on the client: each answer's "memory" (the memory pytree's leaves as nested lists,
per member) goes back with the next step, so any replica can answer any step.
"""
