"""roles/host_prereqs' tools in release mode: checked against the SHA-256 pinned in the repository, or refused.

Each run applies the role (Docker part off) with its own cache and bin directories under the test's temporary
directory, and host_prereqs_go_tools replaced by entries whose `release` points at a local HTTP server. The
"release binaries" are small shell scripts that print a version, so the role's version check runs on them.
Source builds (gitops.platform.go_build) are covered by tests/test_go_build_module.py and by running the role.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
ROLE = PROJECT / "roles" / "host_prereqs"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

PLAYBOOK = """\
---
- name: Apply host_prereqs' tools with the test's paths
  hosts: localhost
  gather_facts: true
  gather_subset: ["!all", "!min", distribution]
  tasks:
    - name: Apply the role under test
      ansible.builtin.include_role:
        name: host_prereqs
"""

SCRIPT = "#!/bin/sh\necho 'demo v1.2.3 linux/amd64'\n"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def archive(member: str, content: bytes) -> bytes:
    """A .tar.gz with one executable file at `member`, as helm's release archives hold linux-<arch>/helm."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size, info.mode = len(content), 0o755
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class Server:
    """Serves a directory over HTTP on 127.0.0.1 and records the paths asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, name: str, content: bytes) -> str:
        (self.root / name).write_bytes(content)
        return f"{self.url}/{name}"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    served = Server(root)
    yield served
    served.httpd.shutdown()


def apply(tmp_path: Path, tools: dict, *flags: str) -> tuple[int, str]:
    variables = {
        "host_prereqs_docker_install": False,
        "host_prereqs_tools_source": "release",
        "host_prereqs_cache_dir": str(tmp_path / "cache"),
        "host_prereqs_bin_dir": str(tmp_path / "cache" / "bin"),
        "host_prereqs_go_tools": tools,
        "host_prereqs_tools": list(tools),
    }
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ANSIBLE_ROLES_PATH": str(PROJECT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
        "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
    }
    argv = [str(ANSIBLE_PLAYBOOK), str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'vars.json'}", *flags]
    proc = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def changed(output: str) -> int:
    match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", output)
    assert match, output[-3000:]
    return int(match.group(1))


def entry(url: str, digest: str, member: str = "") -> dict:
    release = {"url": url, "sha256": digest} | ({"archive_member": member} if member else {})
    return {"module": "example.com/demo", "version": "v1.2.3", "packages": {"demo": "example.com/demo"},
            "checks": {"demo": {"args": ["--version"], "expect": "demo {version} "}}, "release": release}


@pytest.mark.parametrize("member", ["", "linux-amd64/demo"], ids=["binary", "archive"])
def test_a_pinned_release_is_downloaded_checked_linked_and_then_left_alone(tmp_path: Path, server: Server,
                                                                           member: str) -> None:
    content = archive(member, SCRIPT.encode()) if member else SCRIPT.encode()
    url = server.publish("demo.tar.gz" if member else "demo-linux-amd64", content)
    extra = tmp_path / "elsewhere" / "demo"
    tools = {"demo": entry(url, sha256(content), member) | {"links": [str(extra)]}}

    rc, output = apply(tmp_path, tools, "--check")
    assert rc == 0, output[-3000:]
    assert not (tmp_path / "cache" / "bin" / "demo").exists()

    rc, output = apply(tmp_path, tools)
    assert rc == 0, output[-3000:]
    link = tmp_path / "cache" / "bin" / "demo"
    assert link.resolve() == tmp_path / "cache" / "tools" / "demo" / "v1.2.3-release" / "demo"
    assert subprocess.run([str(link)], capture_output=True, text=True, check=True).stdout.startswith("demo v1.2.3")
    assert not any(path.endswith(".sha256sum") for path in server.requests), server.requests
    # The entry's further paths get the binary itself (a hard link), a regular file to whoever reads it.
    assert not extra.is_symlink() and extra.stat().st_ino == link.resolve().stat().st_ino

    rc, output = apply(tmp_path, tools)
    assert rc == 0, output[-3000:]
    assert changed(output) == 0, output[-3000:]


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("", "pin the checksum in versions.yml"),
        ("0" * 63, "pin the checksum in versions.yml"),
        ("0" * 64, "did not match"),
    ],
    ids=["empty", "malformed", "wrong"],
)
def test_a_release_without_its_pinned_checksum_is_refused(tmp_path: Path, server: Server, digest: str,
                                                          message: str) -> None:
    url = server.publish("demo-linux-amd64", SCRIPT.encode())
    rc, output = apply(tmp_path, {"demo": entry(url, digest)})
    assert rc != 0
    assert message in " ".join(output.split()), output[-3000:]
    assert not (tmp_path / "cache" / "bin" / "demo").exists()
    if "pin the checksum" in message:
        assert server.requests == [], "nothing is downloaded before the checksum is pinned"


def test_a_release_that_reports_another_version_fails(tmp_path: Path, server: Server) -> None:
    content = b"#!/bin/sh\necho 'demo v9.9.9'\n"
    url = server.publish("demo-linux-amd64", content)
    rc, output = apply(tmp_path, {"demo": entry(url, sha256(content))})
    assert rc != 0
    assert "reports the pinned version" in output, output[-3000:]


def test_every_default_tool_is_data_with_its_version_pinned() -> None:
    """Each entry names its module, a version from versions.yml and its packages; releases carry a pinned sha256."""
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    versions = yaml.safe_load((PROJECT / "inventory" / "group_vars" / "all" / "versions.yml").read_text())
    pins = versions["platform_versions"]
    tools = defaults["host_prereqs_go_tools"]
    # The platform's own tools by default; make prerequisites adds the test tools.
    assert defaults["host_prereqs_tools"] == ["helm", "kind", "kubeseal"]
    makefile = (PROJECT / "Makefile").read_text()
    assert '"host_prereqs_tools": ["helm", "kind", "kubeseal", "kubeconform", "kube-score", "actionlint"]' in makefile
    assert {"helm", "kind", "kubeconform", "kube-score", "actionlint"} <= set(tools)
    for name, recipe in tools.items():
        assert {"module", "version", "packages"} <= set(recipe), name
        assert name in recipe["packages"], name
        assert name in recipe.get("checks", {}), f"{name} has no version check"
        assert re.search(r"platform_versions\.|host_prereqs_\w+_version", recipe["version"]), name
        if "release" in recipe:
            assert f"platform_versions.{name}_sha256" in recipe["release"].get("sha256", ""), name
            table = pins[f"{name}_sha256"][pins[name]]
            assert set(table) == {"linux-amd64", "linux-arm64"}, name
            assert all(value == "" or re.fullmatch(r"[0-9a-f]{64}", value) for value in table.values()), name
