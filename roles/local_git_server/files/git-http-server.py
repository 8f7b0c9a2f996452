#!/usr/bin/env python3
"""Serve git repositories over smart HTTP by running `git http-backend` for each request.

A small, dependency-free git server for the platform's local gitops repository and for tests:
Argo CD's repo-server and the promotion job clone and push through it exactly as they would
through a hosted git service.

    git-http-server.py --root /srv/git --port 8418 [--bind 127.0.0.1]
        [--user U --password-file F] [--read-user R --read-password-file G]
        [--max-body-bytes N] [--request-timeout S] [--backend-timeout S]

Access (HTTP basic auth; password files are read once, at start):
  --user/--password-file                 the write account: clone, fetch and push.
  --read-user/--read-password-file       a read-only account: clone and fetch; a push gets 403.
  With at least one account, every request must authenticate (anything else gets 401). With no
  account at all the server is an anonymous read-only mirror: anyone may clone and fetch, nobody
  may push. There is never an anonymous push.

Limits:
  --max-body-bytes     largest request body (Content-Length or the sum of the chunks of a chunked
                       body, as git sends pushes larger than its http.postBuffer); larger gets 413.
  --request-timeout    seconds a client may take to send a whole request (line, headers, body) and
                       the longest wait on a silent socket; a slower client is disconnected.
  --backend-timeout    seconds one `git http-backend` (and the git process and hooks under it) may run;
                       it is killed after that and the client gets 504.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MIB = 1024 * 1024
PUSH_SERVICE = "git-receive-pack"
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")
MAX_TRAILER_LINES = 100
MAX_LINE = 65536
WRITE_SLICE = 256 * 1024
# After refusing a request whose body was not read, how long to discard what the client still sends.
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class Account:
    name: str
    password_sha256: bytes  # compared as digests: constant time whatever the lengths
    write: bool


ANONYMOUS = Account(name="", password_sha256=b"", write=False)


@dataclass(frozen=True)
class Config:
    root: str
    backend: str
    accounts: tuple[Account, ...]
    max_body_bytes: int
    request_timeout: float
    backend_timeout: float


class Refused(Exception):
    """The request is answered with an error status and a text/plain message, then the connection closes."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Watchdog:
    """Stops reading from a client that has not sent its whole request in time (slow or trickling)."""

    def __init__(self, seconds: float, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._done = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            try:
                # Blocked and later reads see end of file; the answer can still be written.
                self._sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def stop(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def backend_path() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


def digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def is_push(path: str, query: str) -> bool:
    """Whether the request belongs to git-receive-pack: its ref advertisement or its POST."""
    services = parse_qs(query, keep_blank_values=True).get("service", [])
    return path.rstrip("/").endswith("/" + PUSH_SERVICE) or PUSH_SERVICE in services


class GitHandler(BaseHTTPRequestHandler):
    server_version = "gitops-git-http/1"
    config: Config  # set in setup() from the server
    account: Account | None = None
    watchdog: Watchdog | None = None
    body_read = False

    def setup(self) -> None:
        self.config = self.server.config  # type: ignore[attr-defined]
        self.timeout = self.config.request_timeout  # per read and write on the socket
        super().setup()

    def handle_one_request(self) -> None:
        self.watchdog = Watchdog(self.config.request_timeout, self.connection)
        try:
            super().handle_one_request()
        finally:
            self.watchdog.stop()

    # --- authentication and authorisation ----------------------------------------------------------------

    def _identify(self) -> Account | None:
        """The caller's account: ANONYMOUS when the server has none, None when credentials are missing or wrong."""
        if not self.config.accounts:
            return ANONYMOUS
        scheme, token = self.headers.get("Authorization", "").strip().partition(" ")[::2]
        if scheme.lower() != "basic":
            return None
        try:
            user, colon, password = base64.b64decode(token.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return None
        if not colon:
            return None
        given_user, given_password = digest(user), digest(password)
        found = None
        for account in self.config.accounts:  # no early exit: every account costs the same
            same = hmac.compare_digest(given_user, digest(account.name.encode()))
            same &= hmac.compare_digest(given_password, account.password_sha256)
            if same:
                found = account
        return found

    def _authorise(self, push: bool) -> Account:
        account = self._identify()
        if account is None:
            raise Refused(HTTPStatus.UNAUTHORIZED, "Authentication required.")
        self.account = account
        if push and not account.write:
            if account is ANONYMOUS:
                raise Refused(HTTPStatus.FORBIDDEN, "Push refused: this git server has no write account "
                                                    "(anonymous access is read-only).")
            raise Refused(HTTPStatus.FORBIDDEN, f"Push refused: account '{account.name}' is read-only.")
        return account

    # --- request body ----------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        lengths = self.headers.get_all("Content-Length") or []
        encodings = self.headers.get_all("Transfer-Encoding") or []
        if encodings:
            if lengths:
                raise Refused(HTTPStatus.BAD_REQUEST, "Content-Length and Transfer-Encoding are exclusive.")
            encoding = ",".join(encodings).strip().lower()
            if encoding != "chunked":
                raise Refused(HTTPStatus.NOT_IMPLEMENTED, f"Transfer-Encoding {encoding!r} is not supported.")
            return self._read_chunked()
        if not lengths:
            return b""
        if len(lengths) > 1 or not CONTENT_LENGTH.fullmatch(lengths[0].strip()):
            raise Refused(HTTPStatus.BAD_REQUEST, "Invalid Content-Length.")
        length = int(lengths[0])
        self._check_size(length)
        return self._read_exactly(length)

    def _check_size(self, size: int) -> None:
        if size > self.config.max_body_bytes:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"Request body larger than this server's limit of {self.config.max_body_bytes} bytes.")

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size) if size else b""
        if len(data) != size:
            self._ended_early()
        return data

    def _read_line(self) -> bytes:
        line = self.rfile.readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            if len(line) > MAX_LINE:
                raise Refused(HTTPStatus.BAD_REQUEST, "Line too long in the chunked body.")
            self._ended_early()
        return line.rstrip(b"\r\n")

    def _ended_early(self) -> None:
        if self.watchdog is not None and self.watchdog.expired:
            raise Refused(HTTPStatus.REQUEST_TIMEOUT, "The request took too long.")
        raise Refused(HTTPStatus.BAD_REQUEST, "The request body ended early.")

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            if not CHUNK_SIZE.fullmatch(size_text):
                raise Refused(HTTPStatus.BAD_REQUEST, "Invalid chunk size.")
            size = int(size_text, 16)
            if size == 0:
                break
            self._check_size(len(data) + size)
            data += self._read_exactly(size)
            if self._read_line():
                raise Refused(HTTPStatus.BAD_REQUEST, "Chunk not followed by CRLF.")
        for dummy in range(MAX_TRAILER_LINES):
            if not self._read_line():
                return bytes(data)
        raise Refused(HTTPStatus.BAD_REQUEST, "Too many trailer lines.")

    # --- git http-backend ------------------------------------------------------------------------------------

    def _backend_env(self, account: Account, path: str, query: str, body: bytes) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.config.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
        }
        if self.command == "POST" or body:
            env["CONTENT_LENGTH"] = str(len(body))  # also after de-chunking: git reads exactly this much
        if account.name:
            env["REMOTE_USER"] = account.name  # git http-backend accepts pushes only with a user
        if not account.write:
            # Second line of defence: receive-pack off for anyone who may not push, whatever the repo config says.
            env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.receivepack", GIT_CONFIG_VALUE_0="false")
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        return env

    def _run_backend(self, env: dict[str, str], body: bytes) -> bytes:
        # Its own process group: on timeout the backend, the git under it and any hook are killed together.
        with subprocess.Popen([self.config.backend], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, start_new_session=True) as process:
            try:
                output, errors = process.communicate(body, timeout=self.config.backend_timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
                raise Refused(HTTPStatus.GATEWAY_TIMEOUT,
                              f"git took longer than {self.config.backend_timeout:g} seconds.") from None
        for line in errors.decode(errors="replace").splitlines():
            self.log_message("git-http-backend: %s", line)
        return output

    def _relay(self, output: bytes) -> None:
        head, separator, payload = output.partition(b"\r\n\r\n")
        if not separator:
            head, separator, payload = output.partition(b"\n\n")
        if not separator:
            raise Refused(HTTPStatus.BAD_GATEWAY, "git http-backend gave no answer.")
        status = HTTPStatus.OK
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, value = line.partition(":")[::2]
            if name.lower() == "status":
                try:
                    status = int(value.strip().split()[0])
                except (IndexError, ValueError):
                    raise Refused(HTTPStatus.BAD_GATEWAY, "git http-backend gave an invalid status.") from None
            elif name and name.lower() != "content-length":
                headers.append((name.strip(), value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        # In slices: the socket timeout then bounds each pause of a slow reader, not the whole transfer.
        view = memoryview(payload)
        for start in range(0, len(view), WRITE_SLICE):
            self.wfile.write(view[start:start + WRITE_SLICE])

    # --- the request ---------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        url = urlsplit(self.path)
        try:
            account = self._authorise(is_push(url.path, url.query))
            body = self._read_body()
            self.body_read = True
            if self.watchdog is not None:
                self.watchdog.stop()  # the whole request is in; git's own run time is bounded separately
            output = self._run_backend(self._backend_env(account, url.path, url.query, body), body)
            self._relay(output)
        except Refused as refused:
            self._refuse(refused)
        except (BrokenPipeError, ConnectionResetError, TimeoutError) as error:
            self.log_message("connection lost: %s", error)
            self.close_connection = True

    def _refuse(self, refused: Refused) -> None:
        """Answer in text/plain: git shows such a body to its user as `remote: <message>`."""
        self.close_connection = True
        message = (refused.message + "\n").encode()
        try:
            self.send_response(refused.status)
            if refused.status == HTTPStatus.UNAUTHORIZED:
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(message)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(message)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return
        if not self.body_read and ("Content-Length" in self.headers or "Transfer-Encoding" in self.headers):
            self._linger()

    def _linger(self) -> None:
        """Discard, for a moment, what the client still sends: closing a socket with unread data resets the
        connection, and the client could lose the answer (a 413 in the middle of a chunked push)."""
        deadline = time.monotonic() + LINGER_SECONDS
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(MAX_LINE):
                    return
        except OSError:
            pass

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - BaseHTTPRequestHandler API
        user = self.account.name if self.account and self.account.name else "-"
        sys.stderr.write(f"{self.address_string()} {user} {format % args}\n")


class GitServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: Config) -> None:
        self.config = config
        super().__init__(address, GitHandler)


def read_password(path: str, option: str) -> str:
    with open(path, encoding="utf-8") as handle:
        password = handle.read().strip()
    if not password:
        raise SystemExit(f"git-http-server: {option} {path} is empty")
    return password


def accounts_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[Account, ...]:
    accounts = []
    for user, password_file, write, names in (
        (args.user, args.password_file, True, "--user/--password-file"),
        (args.read_user, args.read_password_file, False, "--read-user/--read-password-file"),
    ):
        if bool(user) != bool(password_file):
            parser.error(f"{names} go together")
        if not user:
            continue
        if ":" in user:
            parser.error(f"{names}: a user name cannot hold ':'")
        option = names.split("/")[1]
        accounts.append(Account(user, digest(read_password(password_file, option).encode()), write))
    if args.user and args.user == args.read_user:
        parser.error("--user and --read-user must differ")
    return tuple(accounts)


def positive(kind: type) -> object:
    def parse(text: str) -> object:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text}")
        return value
    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="directory holding bare repositories (*.git)")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8418, help="0 picks a free port (printed at start)")
    parser.add_argument("--user", default="", help="the write account (clone, fetch, push)")
    parser.add_argument("--password-file", default="", help="file holding the password for --user")
    parser.add_argument("--read-user", default="", help="a read-only account (clone, fetch)")
    parser.add_argument("--read-password-file", default="", help="file holding the password for --read-user")
    parser.add_argument("--max-body-bytes", type=positive(int), default=64 * MIB,
                        help="largest request body accepted (default: 64 MiB)")
    parser.add_argument("--request-timeout", type=positive(float), default=60.0,
                        help="seconds a client may take to send a request, and to stay silent (default: 60)")
    parser.add_argument("--backend-timeout", type=positive(float), default=120.0,
                        help="seconds git http-backend may run for one request (default: 120)")
    args = parser.parse_args()

    config = Config(
        root=os.path.abspath(args.root),
        backend=backend_path(),
        accounts=accounts_from(args, parser),
        max_body_bytes=args.max_body_bytes,
        request_timeout=args.request_timeout,
        backend_timeout=args.backend_timeout,
    )
    # As a container's PID 1 the process has no default SIGTERM action: without this, `docker stop` waits out its
    # grace period and kills it. Set before the line that says the server is up, which is when a stop may come.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    server = GitServer((args.bind, args.port), config)
    access = ", ".join(f"{a.name} ({'read-write' if a.write else 'read-only'})" for a in config.accounts)
    print(f"serving {config.root} on http://{args.bind}:{server.server_port}/ "
          f"[{access or 'anonymous read-only'}]", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        server.server_close()
        raise


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
