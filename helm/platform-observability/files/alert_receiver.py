"""Alertmanager's webhook receiver for the platform: logs each notification as one JSON line and answers
GET /alerts with the last ones (newest last), so that a person or a test can see what Alertmanager sent.

Standard library only; configured by the environment: PORT (8080) and KEEP (how many notifications to keep).
"""

import json
import os
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEEP = int(os.environ.get("KEEP", "200"))
MAX_BODY = 1024 * 1024
received = deque(maxlen=KEEP)
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        elif self.path == "/alerts":
            with lock:
                self._answer(200, list(received))
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/alerts":
            self._answer(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._answer(413 if length > MAX_BODY else 400, {"error": "a JSON body of at most 1 MiB is expected"})
            return
        try:
            notification = json.loads(self.rfile.read(length))
        except ValueError:
            self._answer(400, {"error": "the body is not JSON"})
            return
        notification["receivedAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with lock:
            received.append(notification)
        for alert in notification.get("alerts", []):
            print(json.dumps({"message": "alert received", "status": alert.get("status"),
                              "labels": alert.get("labels", {}), "startsAt": alert.get("startsAt")}), flush=True)
        self._answer(200, {"status": "received"})

    def log_message(self, format, *args):  # noqa: A002 (the base class's name): requests are logged above
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler)
    print(json.dumps({"message": "alert receiver listening", "port": server.server_port, "keep": KEEP}), flush=True)
    sys.exit(server.serve_forever())
