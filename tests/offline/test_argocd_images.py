"""The Argo CD images that playbooks/argocd-images.yml (roles/argocd_images) builds offline, for real.

The tests use the cached images and the bundle in <platform cache>/bundle; they skip when the playbook
has not run yet (`ansible-playbook playbooks/argocd-images.yml`: about half an hour cold on 2 cores,
seconds when cached). Every image reference comes from the saved release manifest, so a test fails when
an image the manifest needs is missing, answers to the wrong version or cannot run as the manifest runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import yaml

from tests.docker_engine import docker, docker_unreachable

REPO = Path(__file__).resolve().parents[2]
VERSIONS = yaml.safe_load((REPO / "inventory" / "group_vars" / "all" / "versions.yml").read_text())["platform_versions"]
ARGOCD_VERSION: str = VERSIONS["argocd"]
REFS: dict[str, str] = VERSIONS["argocd_images"]
CACHE = Path(os.environ.get("GITOPS_CACHE_DIR") or Path.home() / ".cache" / "gitops-platform")
BUNDLE = CACHE / "bundle"
MANIFEST = BUNDLE / f"argocd-{ARGOCD_VERSION}-install.yaml"
INDEX = BUNDLE / "argocd-images.json"
MISSING = BUNDLE / "argocd-images-missing.json"
ARGOCD = REFS["argocd"]
REDIS = REFS["redis"]
DEX = REFS["dex"]
# The component names Argo CD's own image links to the argocd binary (its Dockerfile).
COMPONENTS = [
    "argocd-application-controller",
    "argocd-applicationset-controller",
    "argocd-cmp-server",
    "argocd-commit-server",
    "argocd-dex",
    "argocd-k8s-auth",
    "argocd-notifications",
    "argocd-repo-server",
    "argocd-server",
]


def why_not_ready() -> str | None:
    """Return why the tests cannot run here, or None when Docker answers and the bundle exists."""
    unreachable = docker_unreachable()
    if unreachable:
        return unreachable
    if not MANIFEST.exists() or not INDEX.exists():
        return f"{MANIFEST} or {INDEX} is missing: run ansible-playbook playbooks/argocd-images.yml first"
    return None


_NOT_READY = why_not_ready()
# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_NOT_READY is not None, reason=_NOT_READY or ""),
]


def workload_containers() -> list[dict[str, Any]]:
    """Every container and init container of the manifest's workloads, with the workload's name in `workload`."""
    containers: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(MANIFEST.read_text()):
        if not doc or doc.get("kind") not in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            containers.append({**container, "workload": doc["metadata"]["name"]})
    return containers


def container_named(workload: str, name: str) -> dict[str, Any]:
    matches = [c for c in workload_containers() if c["workload"] == workload and c["name"] == name]
    assert len(matches) == 1, f"the manifest has {len(matches)} containers {name} in {workload}"
    return matches[0]


def run(image: str, *command: str, entrypoint: str | None = None, timeout: float = 60) -> str:
    """Run a command in a throwaway container without network; return stdout, fail on a non-zero exit."""
    args = ["run", "--rm", "--network", "none"] + (["--entrypoint", entrypoint] if entrypoint is not None else [])
    result = docker(*args, image, *command, check=False, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} in {image} exited {result.returncode}: {result.stderr.strip()}"
    return result.stdout


def image_config(ref: str) -> dict[str, Any]:
    return json.loads(docker("image", "inspect", ref).stdout)[0]


def missing_images() -> dict[str, str]:
    return json.loads(MISSING.read_text()) if MISSING.exists() else {}


def test_pinned_references_are_the_manifests_images() -> None:
    assert sorted({c["image"] for c in workload_containers()}) == sorted(REFS.values())


def test_every_manifest_image_is_local_or_a_listed_dex_fallback() -> None:
    index = json.loads(INDEX.read_text())
    missing = missing_images()
    for ref in sorted({c["image"] for c in workload_containers()}):
        found = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
        if found.returncode == 0:
            assert index.get(ref) == found.stdout.strip(), f"{INDEX} does not record {ref} as {found.stdout.strip()}"
        else:
            # Only dex may be left out (the Go module proxy may not serve it), and then with a reason.
            assert ref == DEX, f"{ref} is not in the local Docker engine"
            assert missing.get(ref), f"{ref} is neither built nor listed with a reason in {MISSING}"


def test_argocd_reports_the_release_version() -> None:
    output = run(ARGOCD, "argocd", "version", "--client")
    assert f"argocd: {ARGOCD_VERSION}" in output
    assert "Platform: linux/" in output


def test_argocd_image_is_configured_like_upstreams() -> None:
    config = image_config(ARGOCD)["Config"]
    assert config["User"] == "999"
    assert config["WorkingDir"] == "/home/argocd"
    assert config["Entrypoint"] == ["/usr/bin/tini", "--"]
    assert image_config(ARGOCD)["Id"] == image_config(f"gitops-local/argocd:{ARGOCD_VERSION}")["Id"]


def test_argocd_image_runs_as_uid_999_in_its_home() -> None:
    assert run(ARGOCD, "sh", "-c", 'id -u; id -un; pwd; echo "$HOME"').split() == [
        "999",
        "argocd",
        "/home/argocd",
        "/home/argocd",
    ]


def test_component_links_point_at_the_argocd_binary() -> None:
    script = "; ".join(f"readlink -f /usr/local/bin/{name}" for name in COMPONENTS)
    assert run(ARGOCD, "sh", "-c", script).split() == ["/usr/local/bin/argocd"] * len(COMPONENTS)


def argocd_containers_without_command() -> list[dict[str, Any]]:
    """The manifest's argocd containers that give only args: the image's entrypoint runs them."""
    return [c for c in workload_containers() if c["image"] == ARGOCD and not c.get("command")]


def test_every_program_the_manifest_runs_in_the_argocd_image_exists() -> None:
    programs = {(c.get("command") or c["args"])[0] for c in workload_containers() if c["image"] == ARGOCD}
    assert "/usr/local/bin/argocd-server" in programs
    script = "; ".join(f"command -v {name}" for name in sorted(programs))
    assert len(run(ARGOCD, "sh", "-c", script).split()) == len(programs)


@pytest.mark.parametrize(
    "program", sorted({c["args"][0] for c in argocd_containers_without_command()}) if not _NOT_READY else []
)
def test_components_start_through_the_images_entrypoint(program: str) -> None:
    # Kubernetes appends `args` to the image's ENTRYPOINT (tini) when a container sets no command.
    assert "Usage:" in run(ARGOCD, program, "--help")


def test_redis_secret_init_command_is_available() -> None:
    init = container_named("argocd-redis", "secret-init")
    assert init["image"] == ARGOCD
    assert "redis-initial-password" in run(ARGOCD, *init["command"], "--help")


def test_dex_init_container_can_copy_the_binary_under_the_manifests_security_context() -> None:
    copyutil = container_named("argocd-dex-server", "copyutil")
    assert copyutil["image"] == ARGOCD
    copy = copyutil["command"]
    result = docker(
        "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--tmpfs", "/shared:exec,mode=1777",
        ARGOCD, "sh", "-c", " ".join(copy) + " && /shared/argocd-dex rundex --help",
    )  # fmt: skip
    assert "rundex" in result.stdout


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["helm", "version", "--short"], VERSIONS["helm"]),
        (["kustomize", "version"], VERSIONS["kustomize"]),
        (["git", "--version"], "git version 2."),
        (["git", "lfs", "version"], "git-lfs/"),
        (["gpg", "--version"], "gpg (GnuPG) 2."),
        (["sh", "-c", "ssh -V 2>&1"], "OpenSSH_"),
        (["tini", "--version"], "tini version"),
        (
            ["sh", "-c", "readlink /etc/ssh/ssh_known_hosts; stat -c '%U %a' /app/config/gpg/keys"],
            "/app/config/ssh/ssh_known_hosts\nargocd 700",
        ),
        (
            ["sh", "-c", "for f in gpg-wrapper.sh git-verify-wrapper.sh uid_entrypoint.sh; do command -v $f; done"],
            "/usr/local/bin/git-verify-wrapper.sh\n/usr/local/bin/uid_entrypoint.sh",
        ),
        (
            ["sh", "-c", "test -r /usr/share/zoneinfo/UTC && ls /etc/ssl/certs/ca-certificates.crt"],
            "ca-certificates.crt",
        ),
        # The repo server generates a GnuPG key at start; that needs gpg-agent.
        (
            [
                "sh",
                "-c",
                "export GNUPGHOME=$(mktemp -d) && gpg --batch --passphrase '' --quick-generate-key argocd@localhost"
                " ed25519 sign never 2>&1 && gpg --list-secret-keys argocd@localhost",
            ],
            "argocd@localhost",
        ),
    ],
    ids=[
        "helm",
        "kustomize",
        "git",
        "git-lfs",
        "gpg",
        "ssh",
        "tini",
        "config-dirs",
        "wrappers",
        "tzdata-ca",
        "gpg-keygen",
    ],
)
def test_argocd_image_carries_the_tools(command: list[str], expected: str) -> None:
    assert expected in run(ARGOCD, *command)


def read_reply(stream: BinaryIO) -> Any:
    """Read one RESP reply: simple strings and errors as str, bulk strings as str or None, arrays as lists."""
    line = stream.readline()
    assert line.endswith(b"\r\n"), f"incomplete reply {line!r}"
    kind, body = line[:1], line[1:-2].decode()
    if kind in (b"+", b"-"):
        return kind.decode() + body
    if kind == b":":
        return int(body)
    if kind == b"$":
        return None if int(body) < 0 else stream.read(int(body) + 2)[:-2].decode()
    if kind == b"*":
        return [read_reply(stream) for _ in range(int(body))]
    raise AssertionError(f"unexpected reply {line!r}")


def redis_command(sock: socket.socket, stream: BinaryIO, *words: str) -> Any:
    """Send one command in the Redis protocol and return its parsed reply."""
    sock.sendall(f"*{len(words)}\r\n".encode() + b"".join(f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words))
    return read_reply(stream)


def test_redis_starts_with_the_manifests_args_and_answers_ping() -> None:
    redis = container_named("argocd-redis", "redis")
    assert redis["image"] == REDIS
    assert "command" not in redis, "the manifest now sets a command; the image's entrypoint is no longer what runs"
    password = secrets.token_urlsafe(16)
    # Kubernetes expands $(REDIS_PASSWORD) from the argocd-redis secret before the container starts.
    args = [arg.replace("$(REDIS_PASSWORD)", password) for arg in redis["args"]]
    pod_user = "999"
    name = f"argocd-redis-test-{secrets.token_hex(4)}"
    docker(
        "run", "--detach", "--name", name, "--user", pod_user, "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--publish", "127.0.0.1::6379", REDIS, *args,
    )  # fmt: skip
    try:
        port = int(docker("port", name, "6379/tcp").stdout.split(":")[-1])
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, sock.makefile("rb") as stream:
                    assert redis_command(sock, stream, "PING").startswith("-NOAUTH")
                    assert redis_command(sock, stream, "AUTH", password) == "+OK"
                    assert redis_command(sock, stream, "PING") == "+PONG"
                    # The manifest's --save "" and --appendonly no took effect: no persistence.
                    assert redis_command(sock, stream, "CONFIG", "GET", "save") == ["save", ""]
                    assert redis_command(sock, stream, "CONFIG", "GET", "appendonly") == ["appendonly", "no"]
                break
            except (ConnectionError, OSError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        logs = docker("logs", name).stdout + docker("logs", name).stderr
        assert "Ready to accept connections" in logs
        # The main process is redis-server itself (the entrypoint execs it), running as the pod's user.
        pid = docker("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        status = Path(f"/proc/{pid}/status").read_text()
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "redis-server"
        assert next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:3] == [
            pod_user,
            pod_user,
        ]
    finally:
        docker("rm", "--force", name, check=False)


def test_redis_cli_answers_inside_the_image() -> None:
    assert "redis-cli 7." in run(REDIS, "redis-cli", "--version")


def test_dex_image_or_its_fallback() -> None:
    reason = missing_images().get(DEX)
    if reason:
        pytest.skip(f"{DEX} was not built: {reason}")
    tag = DEX.rsplit(":", 1)[1]
    assert tag in run(DEX, "version")
    config = image_config(DEX)["Config"]
    assert config["User"].split(":")[0].isdigit() and not config["User"].startswith(
        "0"
    ), "runAsNonRoot needs a numeric user"
    assert run(DEX, "sh", "-c", "command -v dex", entrypoint="").strip() == "/usr/local/bin/dex"
