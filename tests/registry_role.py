"""Runs roles/image_registry (the platform's registry) for tests: a container pair of its own, on a Docker
network of its own, published on a loopback port of its own, so the platform's registry is left alone."""

from __future__ import annotations

import base64
import io
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.ansible_run import Run, run_role
from tests.docker_engine import docker


@dataclass
class RegistryUnderTest:
    """One test registry: `name` is its front container, the rest is derived the way the role derives it."""

    workdir: Path
    name: str
    port: int
    push: tuple[str, str]
    pull: tuple[str, str]
    anonymous: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config_dir(self) -> Path:
        return self.workdir / "config"

    def apply(self, *flags: str, state: str = "present", push: tuple[str, str] | None = None,
              pull: tuple[str, str] | None = None) -> Run:
        push, pull = push or self.push, pull or self.pull
        return run_role(self.workdir, "image_registry", {
            "image_registry_state": state,
            "image_registry_name": self.name,
            "image_registry_network": self.name,
            "image_registry_host_port": self.port,
            "image_registry_config_dir": str(self.config_dir),
            "image_registry_push_account": {"name": push[0], "password": push[1]},
            "image_registry_pull_accounts": [{"name": pull[0], "password": pull[1]}],
            "image_registry_anonymous_repositories": self.anonymous,
        }, *flags)

    def status(self, path: str = "/v2/", account: tuple[str, str] | None = None, method: str = "GET") -> int:
        request = urllib.request.Request(f"http://{self.host}{path}", method=method)
        if account is not None:
            token = base64.b64encode(f"{account[0]}:{account[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def tiny_image(ref: str, env: dict, content: bytes | None = None) -> None:
    """Import a one-file image as `ref` into the Docker engine (no base image needed)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = ref.encode() if content is None else content
        info = tarfile.TarInfo("ref.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    docker("import", "-", ref, input_bytes=layer.getvalue(), env=env)
