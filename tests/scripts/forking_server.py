"""A server shaped like rasa-sdk under Sanic: the main process binds the port and a worker
process it forks serves it; the main one only waits. Killing the main process alone
leaves the worker serving."""

from __future__ import annotations

import http.server
import os
import sys


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(str(os.getpid()).encode())

    def log_message(self, *args: object) -> None:
        return None


server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health)
worker = os.fork()
if worker == 0:
    sys.stdout.write(f"worker {os.getpid()}\n")
    sys.stdout.flush()
    server.serve_forever()
else:
    sys.stdout.write(f"main {os.getpid()}\n")
    sys.stdout.flush()
    os.waitpid(worker, 0)
