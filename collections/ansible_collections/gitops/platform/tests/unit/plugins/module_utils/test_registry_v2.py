# -*- coding: utf-8 -*-
"""registry_v2.tag_exists and manifest_digest against a fake distribution API v2 server on loopback.

The fake only proves the request and header handling; tests/promotion/test_verify_image.py asks a real registry."""

from __future__ import annotations

import base64
import http.server
import socket
import threading

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.registry_v2 import (
    RegistryError,
    manifest_digest,
    tag_exists,
)

USER, PASSWORD, TOKEN = "promoter", "s3cret", "token-123"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TAGS = {"1.2.3"}
DIGEST = "sha256:" + "ab12" * 16
# Every manifest type a multi-platform or single image can be served as; `strict/*` wants them all.
ACCEPTED = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


class FakeRegistry(http.server.BaseHTTPRequestHandler):
    """Repository `open/*` is anonymous, `basic/*` wants basic auth, `bearer/*` the token flow, `broken/*` fails,
    `strict/*` answers only a request that accepts every manifest type, `nodigest/*` and `baddigest/*` answer
    without a usable Docker-Content-Digest."""

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def _answer(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # the token endpoint of the bearer flow
        if not self.path.startswith("/token?") or "scope=repository%3Abearer%2Fapp%3Apull" not in self.path:
            self._answer(400)
        elif self.headers.get("Authorization") != BASIC:
            self._answer(401)
        else:
            self._answer(200, {"Content-Type": "application/json"}, b'{"token": "%s"}' % TOKEN.encode())

    def do_HEAD(self) -> None:
        parts = self.path.split("/")  # ['', 'v2', kind, 'app', 'manifests', tag]
        kind, tag = parts[2], parts[-1]
        auth = self.headers.get("Authorization", "")
        if kind == "broken":
            self._answer(500)
        elif kind == "basic" and auth != BASIC:
            self._answer(401, {"WWW-Authenticate": 'Basic realm="registry"'})
        elif kind == "bearer" and auth != f"Bearer {TOKEN}":
            host = self.headers["Host"]
            self._answer(401, {"WWW-Authenticate": f'Bearer realm="http://{host}/token",service="fake"'})
        elif "application/vnd.oci.image.manifest.v1+json" not in self.headers.get("Accept", ""):
            self._answer(400)
        elif kind == "strict" and not all(t in self.headers.get("Accept", "").split(", ") for t in ACCEPTED):
            self._answer(404)
        elif tag not in TAGS:
            self._answer(404)
        elif kind == "nodigest":
            self._answer(200)
        elif kind == "baddigest":
            self._answer(200, {"Docker-Content-Digest": "sha256:nothex"})
        else:
            self._answer(200, {"Docker-Content-Digest": DIGEST,
                               "Content-Type": "application/vnd.oci.image.index.v1+json"})


@pytest.fixture(scope="module")
def registry() -> str:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# (repository, tag, username, password) -> whether the tag exists
ANSWERS = [
    ("open/app", "1.2.3", "", "", True),
    ("open/app", "9.9.9", "", "", False),
    ("basic/app", "1.2.3", USER, PASSWORD, True),
    ("basic/app", "9.9.9", USER, PASSWORD, False),
    ("bearer/app", "1.2.3", USER, PASSWORD, True),
    ("bearer/app", "9.9.9", USER, PASSWORD, False),
]


@pytest.mark.parametrize(("repository", "tag", "username", "password", "expected"), ANSWERS)
def test_tag_exists(registry: str, repository: str, tag: str, username: str, password: str, expected: bool) -> None:
    assert tag_exists(f"{registry}/{repository}", tag, username, password, insecure=True, timeout=5) is expected


# (repository, username, password) -> words of the error
REFUSALS = [
    ("basic/app", "", "", "refused access to basic/app (HTTP 401)"),
    ("basic/app", USER, "wrong", "refused access to basic/app (HTTP 401)"),
    ("bearer/app", USER, "wrong", "refused a token for bearer/app (HTTP 401)"),
    ("broken/app", "", "", "answered HTTP 500 for broken/app:1.2.3"),
]


@pytest.mark.parametrize(("repository", "username", "password", "message"), REFUSALS)
def test_refusals_are_errors(registry: str, repository: str, username: str, password: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tag_exists(f"{registry}/{repository}", "1.2.3", username, password, insecure=True, timeout=5)


def test_unreachable_registry_is_an_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(RegistryError, match=f"cannot reach the registry at http://127.0.0.1:{port}/v2/app/manifests/1.2.3"):
        tag_exists(f"127.0.0.1:{port}/app", "1.2.3", insecure=True, timeout=5)


@pytest.mark.parametrize(
    ("repository", "username", "password"),
    [("open/app", "", ""), ("strict/app", "", ""), ("basic/app", USER, PASSWORD), ("bearer/app", USER, PASSWORD)],
)
def test_manifest_digest_is_the_docker_content_digest(registry, repository, username, password) -> None:
    assert manifest_digest(f"{registry}/{repository}", "1.2.3", username, password, insecure=True, timeout=5) == DIGEST


# (repository, tag, username, password) -> words of the error
DIGEST_ERRORS = [
    ("open/app", "9.9.9", "", "", "open/app:9.9.9 does not exist in the registry 127.0.0.1:"),
    ("basic/app", "1.2.3", USER, "wrong", "refused access to basic/app (HTTP 401): check the registry username"),
    ("bearer/app", "1.2.3", USER, "wrong", "refused a token for bearer/app (HTTP 401)"),
    ("broken/app", "1.2.3", "", "", "answered HTTP 500 for broken/app:1.2.3"),
    ("nodigest/app", "1.2.3", "", "", "without a valid Docker-Content-Digest header (got none)"),
    ("baddigest/app", "1.2.3", "", "", "without a valid Docker-Content-Digest header (got 'sha256:nothex')"),
]


@pytest.mark.parametrize(("repository", "tag", "username", "password", "message"), DIGEST_ERRORS)
def test_manifest_digest_errors(registry, repository, tag, username, password, message) -> None:
    with pytest.raises(RegistryError) as raised:
        manifest_digest(f"{registry}/{repository}", tag, username, password, insecure=True, timeout=5)
    assert message in str(raised.value)


def test_manifest_digest_of_an_unreachable_registry() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(RegistryError, match=f"cannot reach the registry at http://127.0.0.1:{port}/v2/app/manifests/"):
        manifest_digest(f"127.0.0.1:{port}/app", "1.2.3", insecure=True, timeout=5)
