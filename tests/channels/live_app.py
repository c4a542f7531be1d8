"""The real app served over HTTP on a local port (uvicorn in a thread), for browser tests and
benchmarks that need a real socket; it can be stopped and started again on the same port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI


class LiveApp:
    def __init__(self, make_app: Callable[[], FastAPI], port: int) -> None:
        self.make_app = make_app
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveApp:
        """Serve a fresh app (a restarted gateway process: nothing kept in memory)."""
        config = uvicorn.Config(self.make_app(), host="127.0.0.1", port=self.port,
                                log_level="warning", ws_ping_interval=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Close every connection and stop, like a gateway process that goes away."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
            self._server = None
