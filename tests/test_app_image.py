"""Build the demo app image for real (playbooks/build-app-image.yml) and exercise a container of it.

Needs a reachable Docker daemon; the first run also builds the Debian base image (about a minute
and a half), later runs reuse it. Wheels are downloaded on the controller, so the build itself
needs no network inside containers.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.docker_engine import docker, docker_unreachable

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "build-app-image.yml"
IMAGE_NAME = "gitops-local/demo-flask-app-test"
BUILD_TIMEOUT = 1200
START_TIMEOUT = 30


_DOCKER_UNREACHABLE = docker_unreachable()
# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_DOCKER_UNREACHABLE is not None, reason=_DOCKER_UNREACHABLE or ""),
]


def http_get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def wait_until_healthy(base_url: str, container: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if http_get(f"{base_url}/healthz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    logs = docker("logs", container, check=False)
    pytest.fail(f"{container} did not answer /healthz within {START_TIMEOUT} s:\n{logs.stdout}{logs.stderr}")


def build_image(version: str, *extra_vars: str) -> str:
    """Build <IMAGE_NAME>:<version> with the playbook; return its reference."""
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    command = [
        str(ansible_playbook) if ansible_playbook.exists() else "ansible-playbook",
        str(PLAYBOOK),
        "-e", "app_image_offline=true",
        "-e", f"app_image_name={IMAGE_NAME}",
        "-e", f"app_image_tag={version}",
        "-e", f"app_image_version={version}",
        *(arg for extra in extra_vars for arg in ("-e", extra)),
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, f"build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    print(f"image built by the playbook in {time.monotonic() - started:.1f} s")
    return f"{IMAGE_NAME}:{version}"


@contextmanager
def running(reference: str) -> Iterator[dict[str, str]]:
    """Run an image on a loopback port that Docker picks; remove the container afterwards."""
    name = f"demo-flask-app-test-{secrets.token_hex(4)}"
    docker("run", "--detach", "--name", name, "--publish", "127.0.0.1::8000", reference)
    try:
        host_port = docker("port", name, "8000/tcp").stdout.split()[0]
        base_url = f"http://{host_port}"
        wait_until_healthy(base_url, name)
        yield {"name": name, "url": base_url}
    finally:
        docker("rm", "--force", name, check=False)


@pytest.fixture(scope="module")
def image() -> Iterator[dict[str, str]]:
    """Build the image with the playbook; yield its reference and baked-in version; remove the tag."""
    version = f"0.0.0-test.{secrets.token_hex(4)}"
    reference = build_image(version)
    try:
        yield {"reference": reference, "version": version}
    finally:
        docker("rmi", reference, check=False)


@pytest.fixture(scope="module")
def container(image: dict[str, str]) -> Iterator[dict[str, str]]:
    with running(image["reference"]) as started:
        yield {**started, **image}


def test_healthz(container: dict[str, str]) -> None:
    status, content_type, body = http_get(f"{container['url']}/healthz")
    assert status == 200
    assert content_type.startswith("application/json")
    assert json.loads(body) == {"status": "ok"}


def test_index_shows_the_baked_in_version(container: dict[str, str]) -> None:
    status, content_type, html = http_get(f"{container['url']}/")
    assert status == 200
    assert content_type.startswith("text/html")
    assert f'<code id="version">{container["version"]}</code>' in html
    status, _, body = http_get(f"{container['url']}/", accept="application/json")
    assert json.loads(body)["version"] == container["version"]


def test_version_and_readiness(container: dict[str, str]) -> None:
    assert json.loads(http_get(f"{container['url']}/version")[2]) == {
        "name": "demo-flask-app",
        "version": container["version"],
        "environment": "local",
        # No SESSION_KEY given: the app makes a key of its own and has no fingerprint of a sealed one to report.
        "session_key": None,
    }
    assert http_get(f"{container['url']}/readyz")[0] == 200


def test_metrics(container: dict[str, str]) -> None:
    http_get(f"{container['url']}/version")
    status, content_type, text = http_get(f"{container['url']}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    assert f'app_build_info{{name="demo-flask-app",version="{container["version"]}"}} 1.0' in text
    assert 'http_requests_total{endpoint="/version",method="GET",status="200"}' in text
    assert "# TYPE http_request_duration_seconds histogram" in text


def test_runs_as_uid_10001(container: dict[str, str]) -> None:
    assert docker("exec", container["name"], "id", "-u").stdout.strip() == "10001"
    assert docker("exec", container["name"], "id", "-g").stdout.strip() == "10001"
    # The main process too, not only what `docker exec` starts.
    status = docker("exec", container["name"], "cat", "/proc/1/status").stdout
    assert any(line.split()[1:2] == ["10001"] for line in status.splitlines() if line.startswith("Uid:"))


def test_logs_are_json(container: dict[str, str]) -> None:
    http_get(f"{container['url']}/")
    lines = [line for line in docker("logs", container["name"]).stdout.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert any(r["logger"] == "gunicorn.error" for r in records)
    requests = [r for r in records if r["message"] == "request handled" and r.get("path") == "/"]
    assert requests and {"method", "path", "status", "duration_ms"} <= requests[-1].keys()


def test_image_metadata(image: dict[str, str]) -> None:
    (info,) = json.loads(docker("image", "inspect", image["reference"]).stdout)
    config = info["Config"]
    assert config["User"] == "10001:10001"
    assert "8000/tcp" in config["ExposedPorts"]
    assert f"APP_VERSION={image['version']}" in config["Env"]
    assert config["Labels"]["org.opencontainers.image.version"] == image["version"]
    assert config["Labels"]["org.opencontainers.image.title"] == "demo-flask-app"
    assert config["Healthcheck"]["Test"][0] == "CMD"


def test_graceful_stop(image: dict[str, str]) -> None:
    name = f"demo-flask-app-stop-{secrets.token_hex(4)}"
    docker("run", "--detach", "--name", name, "--publish", "127.0.0.1::8000", image["reference"])
    try:
        wait_until_healthy(f"http://{docker('port', name, '8000/tcp').stdout.split()[0]}", name)
        started = time.monotonic()
        docker("stop", "--time", "20", name)
        assert time.monotonic() - started < 15, "gunicorn did not stop on SIGTERM before the grace period"
        assert docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
        assert "marked not ready" in docker("logs", name).stdout
    finally:
        docker("rm", "--force", name, check=False)


def test_a_bad_release_built_with_faults_is_healthy_to_its_probes_and_bad_to_its_users(image: dict[str, str]) -> None:
    version = f"{image['version']}-bad"
    reference = build_image(version, "app_image_fault_error_rate=0.5", "app_image_fault_latency_ms=300")
    try:
        (info,) = json.loads(docker("image", "inspect", reference).stdout)
        assert {"FAULT_ERROR_RATE=0.5", "FAULT_LATENCY_MS=300"} <= set(info["Config"]["Env"])
        with running(reference) as bad:
            assert http_get(f"{bad['url']}/readyz")[0] == 200
            assert json.loads(http_get(f"{bad['url']}/version")[2])["version"] == version
            statuses, slowest = [], 0.0
            for _ in range(6):
                started = time.monotonic()
                try:
                    statuses.append(http_get(f"{bad['url']}/")[0])
                except urllib.error.HTTPError as error:
                    statuses.append(error.code)
                slowest = max(slowest, time.monotonic() - started)
            assert sorted(statuses) == [200, 200, 200, 500, 500, 500] and slowest >= 0.3
            metrics = http_get(f"{bad['url']}/metrics")[2]
            assert 'http_requests_total{endpoint="/",method="GET",status="500"} 3.0' in metrics
    finally:
        docker("rmi", reference, check=False)
