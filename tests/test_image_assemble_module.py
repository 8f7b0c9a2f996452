"""gitops.platform.image_assemble through real ansible-playbook runs against the real Docker engine.

The image holds a tiny static Go program built here (`probe`): it prints its arguments and the
effective capabilities of its process, so a test can see that a file capability written into the
layer reaches a non-root process, on scratch (`docker import`) and on a base (`ADD layer.tar`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ansible_run import run_module
from tests.docker_engine import docker, docker_unreachable

GO = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
REPO = "gitops-test/image-assemble"
CAP_NET_BIND_SERVICE = 1 << 10

# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(GO is None, reason="Go is not installed (the probe program is built with it)"),
    pytest.mark.skipif(docker_unreachable() is not None, reason=f"Docker: {docker_unreachable()}"),
]

PROBE = """package main

import (
\t"fmt"
\t"os"
\t"strings"
)

func main() {
\tstatus, _ := os.ReadFile("/proc/self/status")
\tcapEff := ""
\tfor _, line := range strings.Split(string(status), "\\n") {
\t\tif strings.HasPrefix(line, "CapEff:") {
\t\t\tcapEff = strings.TrimSpace(strings.TrimPrefix(line, "CapEff:"))
\t\t}
\t}
\tfmt.Printf("probe %s uid=%d capeff=%s\\n", strings.Join(os.Args[1:], " "), os.Getuid(), capEff)
\tif len(os.Args) > 1 && os.Args[1] == "fail" {
\t\tos.Exit(3)
\t}
}
"""

OPTIONS = ("name", "refs", "base", "files", "texts", "dirs", "symlinks", "run", "config", "labels", "smoke",
           "extra_recipe", "recipe_label", "force", "work_dir")

@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("probe")
    (source / "go.mod").write_text("module example.invalid/probe\n\ngo 1.24\n")
    (source / "main.go").write_text(PROBE)
    subprocess.run([GO, "build", "-trimpath", "-o", "probe", "."], cwd=source, check=True, timeout=300,
                   env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local"})
    return source / "probe"


@pytest.fixture
def refs(request):
    names = [f"{REPO}:{request.node.name[:40].replace('[', '-').replace(']', '')}-{n}" for n in ("a", "b", "base")]
    yield names
    for ref in names:
        docker("image", "rm", "-f", ref, check=False)


def run(tmp_path: Path, image: dict, *extra: str) -> dict:
    return run_module(tmp_path, "gitops.platform.image_assemble", OPTIONS, image, *extra, timeout=600)


def scratch_image(probe: Path, ref: str, motd: str = "hello\n") -> dict:
    return {
        "name": "probe",
        "refs": [ref],
        "files": [{"src": str(probe), "dest": "/probe", "capabilities": ["cap_net_bind_service"]}],
        "texts": [{"dest": "etc/motd", "content": motd}],
        "dirs": [{"path": "tmp", "mode": "1777"}],
        "config": ["USER 65532:65532", 'ENTRYPOINT ["/probe"]'],
        "labels": {"org.opencontainers.image.source": "tests/test_image_assemble_module.py"},
        "smoke": [{"args": ["hello"], "expect": "probe hello uid=65532"}],
    }


def image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def capeff(ref: str, *args: str) -> int:
    output = docker("run", "--rm", "--network", "none", *args, ref, "caps").stdout
    return int(output.split("capeff=")[1].split()[0], 16)


def test_scratch_image_is_built_cached_and_rebuilt_when_its_recipe_changes(tmp_path: Path, probe: Path, refs) -> None:
    ref = refs[0]
    first = run(tmp_path, scratch_image(probe, ref))
    assert first["changed"] and not first.get("failed"), first
    assert first["reason"] == "no such image" and first["id"] == image_id(ref)
    assert first["smoke"] == [{"args": ["hello"], "output": "probe hello uid=65532 capeff=0000000000000400"}]
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref).stdout)
    assert labels["io.gitops-platform.image.recipe-sha256"] == first["recipe"]
    assert labels["org.opencontainers.image.title"] == "probe"
    # A non-root process gets the file capability, and nothing else.
    assert capeff(ref) == CAP_NET_BIND_SERVICE
    assert docker("run", "--rm", "--entrypoint", "/probe", "--user", "0", ref).returncode == 0

    second = run(tmp_path, scratch_image(probe, ref))
    assert not second["changed"] and second["id"] == first["id"] and second["recipe"] == first["recipe"], second
    assert "is up to date" in second["msg"]

    check = run(tmp_path, scratch_image(probe, ref, motd="changed\n"), "--check")
    assert check["changed"] and check["reason"] == "its recipe changed" and "Would build" in check["msg"], check
    assert image_id(ref) == first["id"]

    third = run(tmp_path, scratch_image(probe, ref, motd="changed\n"))
    assert third["changed"] and third["id"] != first["id"] and third["reason"] == "its recipe changed", third
    cat = docker("run", "--rm", "--network", "none", "--entrypoint", "/probe", ref, "x").stdout
    assert cat.startswith("probe x uid=65532")


def test_image_on_a_base_adds_files_and_follows_its_base(tmp_path: Path, probe: Path, refs) -> None:
    derived, other_tag, base = refs
    run(tmp_path, scratch_image(probe, base))
    image = {
        "name": "probe-on-base",
        "refs": [derived, other_tag],
        "base": base,
        "files": [{"src": str(probe), "dest": "usr/local/bin/probe2", "mode": "0750", "uid": 65532, "gid": 65532,
                   "capabilities": ["cap_net_bind_service"]}],
        "symlinks": [{"path": "usr/bin/probe-link", "target": "../local/bin/probe2"}],
        "config": ["STOPSIGNAL SIGQUIT", 'ENTRYPOINT ["/usr/bin/probe-link"]'],
        "smoke": [{"args": ["on-base"], "expect": "probe on-base uid=65532"},
                  {"entrypoint": "/probe", "args": ["from-base"], "expect": "probe from-base"}],
    }
    first = run(tmp_path, image)
    assert first["changed"] and not first.get("failed"), first
    assert image_id(derived) == image_id(other_tag) == first["id"]
    # ADD applied the owner, the mode and the capability of the file.
    listing = docker("run", "--rm", "--entrypoint", "/probe", derived, "x").stdout
    assert listing.startswith("probe x uid=65532")
    assert capeff(derived) == CAP_NET_BIND_SERVICE
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", derived).stdout)
    assert config["StopSignal"] == "SIGQUIT" and config["User"] == "65532:65532"

    assert not run(tmp_path, image)["changed"]
    run(tmp_path, scratch_image(probe, base, motd="new base\n"))
    rebuilt = run(tmp_path, image)
    assert rebuilt["changed"] and rebuilt["reason"] == "its recipe changed" and rebuilt["id"] != first["id"], rebuilt

    docker("image", "rm", other_tag)
    healed = run(tmp_path, image)
    assert healed["changed"] and healed["reason"] == "a reference is missing", healed
    assert image_id(other_tag) == image_id(derived)


def test_a_failed_smoke_test_fails_once_and_leaves_no_image(tmp_path: Path, probe: Path, refs) -> None:
    image = scratch_image(probe, refs[0])
    image["smoke"] = [{"args": ["fail"], "expect": "probe fail"}]
    result = run(tmp_path, image)
    assert result.get("failed"), result
    assert "its smoke test failed" in result["msg"] and "exited 3 (expected 0)" in result["msg"], result["msg"]
    assert "probe fail uid=65532" in result["msg"] and "next run builds it again" in result["msg"]
    assert docker("image", "inspect", refs[0], check=False).returncode != 0


def test_a_missing_base_or_file_is_one_clear_message(tmp_path: Path, probe: Path, refs) -> None:
    image = scratch_image(probe, refs[0])
    result = run(tmp_path, {**image, "base": f"{REPO}:no-such-base"})
    assert result.get("failed") and "is not in the local Docker engine (it is never pulled)" in result["msg"], result

    result = run(tmp_path, {**image, "files": [{"src": str(tmp_path / "gone"), "dest": "gone"}]})
    assert result.get("failed") and f"needs files that are missing: {tmp_path / 'gone'}" in result["msg"], result
    assert docker("image", "inspect", refs[0], check=False).returncode != 0
