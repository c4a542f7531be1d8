"""The action server's own Prometheus metrics: how long each custom action took in it, and
how it ended. Rasa times the whole round trip of a message (``/metrics`` of the app,
``atelier_rasa_request_duration_seconds``); this tells which action the time went to.

Served on ``ATELIER_ACTIONS_METRICS_PORT`` (0, the default, serves none) by a small HTTP
server in the action server's worker process — the one that runs the actions (rasa-sdk's
Sanic main process imports them too, but runs none, so it serves nothing) — on the
interfaces the action server listens on (``SANIC_HOST``, else all of them, as rasa-sdk);
``make run`` serves it on 5056, on loopback.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import REGISTRY, Histogram, start_http_server

log = logging.getLogger(__name__)
ACTION_DURATION = Histogram(
    "atelier_action_duration_seconds",
    "Time a custom action took in the action server, by action and outcome (ok, error)",
    ["action", "outcome"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))


def serve(port: int, host: str | None = None) -> bool:
    """Start the metrics server on ``port``; False when none is wanted (0) or the port is
    taken (logged: the actions keep working without their metrics)."""
    if port <= 0:
        return False
    host = host or os.environ.get("SANIC_HOST") or "0.0.0.0"  # noqa: S104 - as rasa-sdk
    try:
        start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        log.warning("action metrics not served on %s:%d: %s", host, port, exc)
        return False
    log.info("action metrics on http://%s:%d/metrics", host, port)
    return True


def in_worker() -> bool:
    """Whether this is a Sanic worker process (Sanic names it in the environment)."""
    return bool(os.environ.get("SANIC_WORKER_NAME"))
