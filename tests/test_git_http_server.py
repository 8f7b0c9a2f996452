"""scripts/git-http-server.py on loopback, driven by real git clients and raw HTTP requests.

Every server runs as a subprocess on 127.0.0.1 with an ephemeral port (--port 0; the port is read from
its start-up line) and is stopped by the fixture. Every wait is bounded.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "scripts" / "git-http-server.py"
REPO = "gitops.git"

WRITER = ("writer", "writer-s3cret")
READER = ("reader", "reader-s3cret")
# Which accounts a server is started with.
NONE, BOTH, WRITE_ONLY, READ_ONLY = "none", "both", "write-only", "read-only"


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{REPO}"

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


@dataclass
class Repos:
    """A bare repository (branch main, one commit) under the server's root, and a home for git."""

    bare: Path
    home: Path
    counter: list[int] = field(default_factory=lambda: [0])

    def head(self) -> str:
        return run_git("rev-parse", "refs/heads/main", cwd=self.bare, home=self.home).stdout.strip()


def run_git(*args: str, cwd: Path | None = None, home: Path, auth: tuple[str, str] | None = None,
            env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """git with a clean environment: no system or user config, no prompt, credentials only from askpass."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    if auth:
        full_env.update(GIT_ASKPASS=str(home / "askpass"), TEST_GIT_USERNAME=auth[0], TEST_GIT_PASSWORD=auth[1])
    full_env.update(env or {})
    result = subprocess.run(["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                            timeout=120, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    home = tmp_path / "home"
    home.mkdir()
    askpass = home / "askpass"
    askpass.write_text('#!/bin/sh\ncase "$1" in Username*) echo "$TEST_GIT_USERNAME";; '
                       '*) echo "$TEST_GIT_PASSWORD";; esac\n')
    askpass.chmod(stat.S_IRWXU)
    bare = tmp_path / "srv" / REPO
    run_git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), home=home)
    seed = tmp_path / "seed"
    run_git("init", "--quiet", "--initial-branch=main", str(seed), home=home)
    (seed / "README").write_text("seed\n")
    run_git("add", "README", cwd=seed, home=home)
    run_git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet", "-m", "Seed", cwd=seed,
            home=home)
    run_git("push", "--quiet", str(bare), "HEAD:refs/heads/main", cwd=seed, home=home)
    return Repos(bare, home)


@pytest.fixture
def start_server(tmp_path: Path, repos: Repos):
    """Start the server with some accounts and options; every server started is stopped at the end."""
    started: list[subprocess.Popen] = []

    def start(accounts: str = NONE, *options: str) -> Server:
        args = [sys.executable, str(SERVER), "--root", str(repos.bare.parent), "--bind", "127.0.0.1",
                "--port", "0", *options]
        if accounts in (BOTH, WRITE_ONLY):
            (tmp_path / "write-password").write_text(WRITER[1] + "\n")
            args += ["--user", WRITER[0], "--password-file", str(tmp_path / "write-password")]
        if accounts in (BOTH, READ_ONLY):
            (tmp_path / "read-password").write_text(READER[1] + "\n")
            args += ["--read-user", READER[0], "--read-password-file", str(tmp_path / "read-password")]
        log = tmp_path / f"server-{len(started)}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr)
        started.append(process)
        deadline = time.monotonic() + 15
        line = b""
        while time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                line = process.stdout.readline()
                break
        found = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
        if not found:
            pytest.fail(f"the server did not start: {line!r}\n{log.read_text(errors='replace')}")
        return Server(int(found.group(1)), process, log)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()


def commit_and_push(repos: Repos, server: Server, auth: tuple[str, str] | None, *, size: int = 0,
                    env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, str]:
    """Clone the bare repository from disk, commit (with `size` random bytes) and push it to the server."""
    repos.counter[0] += 1
    work = repos.home.parent / f"work-{repos.counter[0]}"
    run_git("clone", "--quiet", str(repos.bare), str(work), home=repos.home)
    (work / "change.txt").write_text(f"change {repos.counter[0]}\n")
    if size:
        (work / "blob.bin").write_bytes(os.urandom(size))
    run_git("add", "-A", cwd=work, home=repos.home)
    run_git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet", "-m", "Change", cwd=work,
            home=repos.home)
    commit = run_git("rev-parse", "HEAD", cwd=work, home=repos.home).stdout.strip()
    result = run_git("push", server.url, "HEAD:refs/heads/main", cwd=work, home=repos.home, auth=auth, env=env,
                     check=False)
    return result, commit


def clone(repos: Repos, server: Server, auth: tuple[str, str] | None) -> subprocess.CompletedProcess:
    repos.counter[0] += 1
    target = repos.home.parent / f"clone-{repos.counter[0]}"
    return run_git("clone", "--quiet", server.url, str(target), home=repos.home, auth=auth, check=False)


# --- real git clients ------------------------------------------------------------------------------------

# accounts on the server, who the client is, what it does, whether it works, text git must show on failure
GIT_CASES = [
    pytest.param(NONE, None, "push", False, "no write account", id="no-account-anonymous-push-refused"),
    pytest.param(NONE, None, "clone", True, "", id="no-account-anonymous-clone-allowed"),
    pytest.param(BOTH, None, "clone", False, "could not read Username", id="anonymous-clone-401"),
    pytest.param(BOTH, None, "push", False, "could not read Username", id="anonymous-push-401"),
    pytest.param(BOTH, READER, "clone", True, "", id="read-account-clone-ok"),
    pytest.param(BOTH, READER, "push", False, "read-only", id="read-account-push-refused"),
    pytest.param(BOTH, WRITER, "clone", True, "", id="write-account-clone-ok"),
    pytest.param(BOTH, WRITER, "push", True, "", id="write-account-push-ok"),
    pytest.param(BOTH, (WRITER[0], "wrong"), "clone", False, "Authentication failed", id="wrong-password-401"),
    pytest.param(BOTH, (READER[0], WRITER[1]), "push", False, "Authentication failed",
                 id="read-name-write-password-401"),
    pytest.param(BOTH, ("nobody", WRITER[1]), "clone", False, "Authentication failed", id="unknown-user-401"),
    pytest.param(WRITE_ONLY, None, "clone", False, "could not read Username", id="write-only-anonymous-clone-401"),
    pytest.param(WRITE_ONLY, WRITER, "push", True, "", id="write-only-write-account-push-ok"),
    pytest.param(READ_ONLY, None, "clone", False, "could not read Username", id="read-only-anonymous-clone-401"),
    pytest.param(READ_ONLY, READER, "clone", True, "", id="read-only-read-account-clone-ok"),
    pytest.param(READ_ONLY, READER, "push", False, "read-only", id="read-only-read-account-push-refused"),
]


@pytest.mark.parametrize(("accounts", "auth", "action", "works", "shown"), GIT_CASES)
def test_git_client_access(start_server, repos: Repos, accounts, auth, action, works, shown):
    server = start_server(accounts)
    before = repos.head()
    if action == "clone":
        result = clone(repos, server, auth)
    else:
        result, commit = commit_and_push(repos, server, auth)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == works, output
    assert shown in output
    if action == "push":
        assert repos.head() == (commit if works else before), "the remote branch moved on a refused push"


def test_push_larger_than_the_post_buffer_is_sent_chunked_and_accepted(start_server, repos: Repos):
    server = start_server(BOTH)
    trace = {"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}
    result, commit = commit_and_push(repos, server, WRITER, size=3 * 1024 * 1024, env=trace)
    assert result.returncode == 0, result.stderr[-4000:]
    assert re.search(r"Send header: Transfer-Encoding: chunked", result.stderr), "git did not send chunked"
    assert repos.head() == commit


def test_chunked_push_over_the_body_limit_is_refused(start_server, repos: Repos):
    server = start_server(BOTH, "--max-body-bytes", str(1024 * 1024))
    before = repos.head()
    result, _ = commit_and_push(repos, server, WRITER, size=3 * 1024 * 1024)
    assert result.returncode != 0
    assert "413" in result.stderr
    assert repos.head() == before


def test_password_files_are_read_once_at_start(start_server, repos: Repos, tmp_path: Path):
    server = start_server(BOTH)
    (tmp_path / "write-password").write_text("changed-later\n")
    assert clone(repos, server, WRITER).returncode == 0
    assert clone(repos, server, (WRITER[0], "changed-later")).returncode != 0


def test_backend_running_too_long_is_killed_and_the_push_fails(start_server, repos: Repos, tmp_path: Path):
    pid_file = tmp_path / "hook.pid"
    hook = repos.bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    hook.chmod(stat.S_IRWXU)
    server = start_server(BOTH, "--backend-timeout", "2")
    before = repos.head()
    started = time.monotonic()
    result, _ = commit_and_push(repos, server, WRITER)
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "504" in result.stderr
    assert repos.head() == before
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process_alive(pid):
        time.sleep(0.1)
    assert not process_alive(pid), "the hook of the killed backend still runs"


def process_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return not re.search(r"^State:\s+Z", status, re.MULTILINE)


# --- raw HTTP ------------------------------------------------------------------------------------------------

def basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


ADVERTISE_READ = f"/{REPO}/info/refs?service=git-upload-pack"
ADVERTISE_PUSH = f"/{REPO}/info/refs?service=git-receive-pack"
POST_PUSH = f"/{REPO}/git-receive-pack"

# accounts, Authorization header, method, path, expected status, text the body must hold
HTTP_CASES = [
    pytest.param(NONE, None, "GET", ADVERTISE_READ, 200, "", id="no-account-read-advertisement"),
    pytest.param(NONE, None, "GET", ADVERTISE_PUSH, 403, "no write account", id="no-account-push-advertisement"),
    pytest.param(NONE, None, "GET", f"/{REPO}/info/refs?service=git-receive-pac%6B", 403, "",
                 id="no-account-push-advertisement-percent-encoded"),
    pytest.param(NONE, None, "POST", POST_PUSH, 403, "no write account", id="no-account-push-post"),
    pytest.param(NONE, basic(WRITER), "GET", ADVERTISE_PUSH, 403, "", id="no-account-credentials-ignored"),
    pytest.param(BOTH, None, "GET", ADVERTISE_READ, 401, "", id="anonymous-401"),
    pytest.param(BOTH, basic(READER), "GET", ADVERTISE_READ, 200, "", id="read-account-read-advertisement"),
    pytest.param(BOTH, basic(READER), "GET", ADVERTISE_PUSH, 403, "read-only", id="read-account-push-advertisement"),
    pytest.param(BOTH, basic(READER), "POST", POST_PUSH, 403, "read-only", id="read-account-push-post"),
    pytest.param(BOTH, basic(WRITER), "GET", ADVERTISE_PUSH, 200, "", id="write-account-push-advertisement"),
    pytest.param(BOTH, basic((WRITER[0], "wrong")), "GET", ADVERTISE_READ, 401, "", id="wrong-password"),
    pytest.param(BOTH, basic((WRITER[0], WRITER[1] + "x")), "GET", ADVERTISE_READ, 401, "", id="password-prefix"),
    pytest.param(BOTH, "Basic !!!not-base64", "GET", ADVERTISE_READ, 401, "", id="malformed-basic"),
    pytest.param(BOTH, "Basic " + base64.b64encode(b"writer").decode(), "GET", ADVERTISE_READ, 401, "",
                 id="no-colon"),
    pytest.param(BOTH, "Bearer writer-s3cret", "GET", ADVERTISE_READ, 401, "", id="other-scheme"),
]


@pytest.mark.parametrize(("accounts", "authorization", "method", "path", "status", "text"), HTTP_CASES)
def test_http_access(start_server, accounts, authorization, method, path, status, text):
    server = start_server(accounts)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Authorization": authorization} if authorization else {}
        body = b"0000" if method == "POST" else None
        if body is not None:
            headers["Content-Type"] = "application/x-git-receive-pack-request"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read().decode(errors="replace")
    finally:
        connection.close()
    assert response.status == status, payload
    assert text in payload
    if status == 401:
        assert response.getheader("WWW-Authenticate", "").startswith("Basic ")
    if status == 403:
        assert response.getheader("Content-Type", "").startswith("text/plain")


def raw_exchange(server: Server, request: bytes, timeout: float = 10) -> bytes:
    """Send a request as bytes, return what the server answers until it closes the connection."""
    with server.connect(timeout) as sock:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


UPLOAD_POST = f"POST /{REPO}/git-upload-pack HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-git-upload-pack-request\r\n"

# server options, request head (no body follows unless it is in the request), expected status line
LIMIT_CASES = [
    pytest.param((), UPLOAD_POST + f"Content-Length: {10 ** 12}\r\n\r\n", 413, id="huge-content-length"),
    pytest.param((), UPLOAD_POST + f"Content-Length: {64 * 1024 * 1024 + 1}\r\n\r\n", 413,
                 id="default-limit-64MiB"),
    pytest.param(("--max-body-bytes", "1024"), UPLOAD_POST + "Content-Length: 1025\r\n\r\n", 413,
                 id="custom-limit"),
    pytest.param(("--max-body-bytes", "1024"), UPLOAD_POST + "Transfer-Encoding: chunked\r\n\r\n100000\r\n", 413,
                 id="chunk-over-limit"),
    pytest.param((), UPLOAD_POST + "Content-Length: -1\r\n\r\n", 400, id="negative-content-length"),
    pytest.param((), UPLOAD_POST + "Content-Length: 12abc\r\n\r\n", 400, id="invalid-content-length"),
    pytest.param((), UPLOAD_POST + "Content-Length: \u00b2\r\n\r\n", 400, id="non-ascii-digit-content-length"),
    pytest.param((), UPLOAD_POST + "Content-Length: " + "9" * 5000 + "\r\n\r\n", 400, id="endless-content-length"),
    pytest.param((), UPLOAD_POST + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                 id="content-length-and-chunked"),
    pytest.param((), UPLOAD_POST + "Content-Length: 4\r\nContent-Length: 5\r\n\r\n0000", 400,
                 id="two-content-lengths"),
    pytest.param((), UPLOAD_POST + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 501,
                 id="chunked-then-another-coding"),
    pytest.param((), UPLOAD_POST + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, id="invalid-chunk-size"),
    pytest.param((), UPLOAD_POST + "Transfer-Encoding: gzip\r\n\r\n", 501, id="unknown-transfer-encoding"),
]


@pytest.mark.parametrize(("options", "request_head", "status"), LIMIT_CASES)
def test_request_limits(start_server, options, request_head, status):
    server = start_server(NONE, *options)
    started = time.monotonic()
    answer = raw_exchange(server, request_head.encode("latin-1"), timeout=5)
    assert answer.startswith(f"HTTP/1.0 {status} ".encode()), answer[:300]
    assert time.monotonic() - started < 5


def test_chunked_request_within_the_limit_reaches_git(start_server):
    server = start_server(NONE)
    body = b"0000"
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = raw_exchange(server, UPLOAD_POST.encode() + b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    assert answer.startswith(b"HTTP/1.0 200 "), answer[:300]


# what the client sends before it falls silent or trickles
SLOW_CLIENTS = [
    pytest.param(b"", 0, id="connects-and-sends-nothing"),
    pytest.param(b"GET /gitops.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: t\r\n", 0,
                 id="stops-within-headers"),
    pytest.param(UPLOAD_POST.encode() + b"Content-Length: 100\r\n\r\n0000", 0, id="stops-within-body"),
    pytest.param(b"", 0.2, id="trickles-headers"),
]


@pytest.mark.parametrize(("opening", "trickle_every"), SLOW_CLIENTS)
def test_slow_client_is_dropped_after_the_request_timeout(start_server, opening, trickle_every):
    server = start_server(NONE, "--request-timeout", "1")
    with server.connect(timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(opening)
        closed_after = None
        sent = 0
        deadline = started + 8
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], trickle_every or 0.5)
            if ready:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed_after = time.monotonic() - started
                    break
            elif trickle_every:
                try:
                    sock.sendall(b"X-Slow: 1\r\n" if sent else b"GET / HTTP/1.1\r\n")
                    sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    closed_after = time.monotonic() - started
                    break
    assert closed_after is not None, "the server still holds the connection"
    assert 0.5 < closed_after < 4


def test_sigterm_stops_the_server_cleanly(start_server):
    """docker stop sends SIGTERM to the container's PID 1, which has no default action for it: the server must
    handle it, or every teardown waits out docker's grace period (measured: 10.5 s for the git server)."""
    server = start_server(BOTH)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=5) == 0
