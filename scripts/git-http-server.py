#!/usr/bin/env python3
"""Serve git repositories over smart HTTP by running `git http-backend` for each request.

A small, dependency-free git server for the platform's local gitops repository and for tests:
Argo CD's repo-server and the promotion job clone and push through it exactly as they would
through a hosted git service. Optional HTTP basic auth protects every request.

    git-http-server.py --root /srv/git --port 8418 [--bind 127.0.0.1] [--user U --password-file F]
"""

from __future__ import annotations

import argparse
import base64
import hmac
import os
import subprocess
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def backend_path() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


class GitHandler(BaseHTTPRequestHandler):
    server_version = "gitops-git-http/1"
    root = ""
    backend = ""
    credentials = ""  # "user:password", empty for anonymous access

    def _authorised(self) -> bool:
        if not self.credentials:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return hmac.compare_digest(given, self.credentials)

    def _serve(self) -> None:
        if not self._authorised():
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
            # git http-backend only accepts pushes from an authenticated user.
            "REMOTE_USER": self.credentials.split(":", 1)[0] if self.credentials else "anonymous",
        }
        if length:
            env["CONTENT_LENGTH"] = str(length)
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        result = subprocess.run([self.backend], input=body, env=env, capture_output=True, check=False)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status = HTTPStatus.OK
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline().strip(), 16)
            if size == 0:
                self.rfile.readline()
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline()

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - BaseHTTPRequestHandler API
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="directory holding bare repositories (*.git)")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8418)
    parser.add_argument("--user", default="", help="require HTTP basic auth as this user")
    parser.add_argument("--password-file", default="", help="file holding the password for --user")
    args = parser.parse_args()

    GitHandler.root = os.path.abspath(args.root)
    GitHandler.backend = backend_path()
    if args.user:
        with open(args.password_file, encoding="utf-8") as handle:
            GitHandler.credentials = f"{args.user}:{handle.read().strip()}"
    server = ThreadingHTTPServer((args.bind, args.port), GitHandler)
    print(f"serving {GitHandler.root} on http://{args.bind}:{server.server_port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
