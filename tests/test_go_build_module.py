"""gitops.platform.go_build through real ansible-playbook runs and real builds through the Go module proxy.

The module built is github.com/yannh/kubeconform v0.8.0 (one small binary; `kubeconform -v` prints the
main.version the linker sets). The Go module and build caches are the user's own, so after the first
build every build here is mostly linking; only each test's dest is temporary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ansible_run import module_command, run_module

PROJECT = Path(__file__).resolve().parents[1]
GO = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
MODULE = "github.com/yannh/kubeconform"
VERSION = "v0.8.0"
STAMP = ".go-build.json"

pytestmark = pytest.mark.skipif(GO is None, reason="Go is not installed (the module builds with it)")

OPTIONS = ("name", "mode", "module", "version", "source", "requires", "binaries", "package_prefix", "packages", "tags",
           "ldflags_x", "replace_local_with", "commit_fallback", "cgo", "overlay", "prebuild", "module_files", "extra_recipe", "checks", "dest",
           "env", "jobs", "timeout", "force")

def kubeconform(dest: Path, **changes) -> dict:
    build = {
        "name": "kubeconform",
        "module": MODULE,
        "version": VERSION,
        "packages": {"kubeconform": f"{MODULE}/cmd/kubeconform"},
        "ldflags_x": {"main.version": "{version}"},
        "checks": {"default": {"args": ["-v"], "expect": "{version}", "rc": 0}},
        "dest": str(dest),
        "jobs": 1,
    }
    build.update(changes)
    return build


def run(tmp_path: Path, build: dict, *extra: str) -> dict:
    return run_module(tmp_path, "gitops.platform.go_build", OPTIONS, build, *extra)


def version_of(binary: Path) -> str:
    return subprocess.run([str(binary), "-v"], capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def test_build_then_cached_then_rebuilt_when_the_ldflags_change(tmp_path: Path) -> None:
    dest = tmp_path / "kubeconform"
    binary = dest / "bin" / "kubeconform"

    first = run(tmp_path, kubeconform(dest))
    assert first["changed"] and not first["cached"] and not first.get("failed"), first
    assert first["binaries"] == {"kubeconform": str(binary)}
    assert version_of(binary) == VERSION
    assert first["checks"] == [{"binary": "kubeconform", "output": VERSION}]
    assert first["ldflags"] == f"-s -w -X main.version={VERSION}"
    assert first["msg"].startswith(f"Built kubeconform {VERSION} (1 binary, ")
    assert {"download", "go get", "kubeconform", "checks"} <= set(first["durations"])
    stamp = json.loads((dest / STAMP).read_text())
    assert stamp["recipe"] == first["recipe"] and stamp["version"] == VERSION and stamp["module"] == MODULE
    assert stamp["go"] == first["go_version"] and stamp["go"].startswith("go1.")
    assert stamp["sizes"] == {"kubeconform": binary.stat().st_size}
    assert set(stamp["durations"]) >= {"go get", "kubeconform"} and stamp["built_at"].endswith("Z")
    gomod = (dest / "src" / "go.mod").read_text()
    assert f"require {MODULE} {VERSION}" in gomod or f"\t{MODULE} {VERSION}" in gomod
    assert "\ngo 1.26\n" in gomod and "godebug default=go1.26" in gomod  # upstream's go line, pinned defaults
    built_at = binary.stat().st_mtime_ns

    second = run(tmp_path, kubeconform(dest))
    assert not second["changed"] and second["cached"], second
    assert second["recipe"] == first["recipe"] and second["reason"] == ""
    assert "is cached" in second["msg"] and first["recipe"][:12] in second["msg"]
    assert second["seconds"] < 10 and set(second["durations"]) == {"checks"}
    assert binary.stat().st_mtime_ns == built_at

    changed = run(tmp_path, kubeconform(dest, ldflags_x={"main.version": "{version}+offline"},
                                        checks={"default": {"args": ["-v"], "expect": "{version}+offline"}}))
    assert changed["changed"] and not changed["cached"], changed
    assert changed["reason"] == "the recipe changed (ldflags_x)"
    assert version_of(binary) == f"{VERSION}+offline"
    assert json.loads((dest / STAMP).read_text())["recipe"] == changed["recipe"] != first["recipe"]


def test_module_files_are_copied_beside_the_binaries_and_a_missing_copy_is_rebuilt(tmp_path: Path) -> None:
    dest = tmp_path / "kubeconform"
    copy = dest / "files" / "fixtures" / "valid.yaml"

    tree = dest / "files" / "cmd" / "kubeconform"
    files = ["fixtures/valid.yaml", "LICENSE", "cmd/kubeconform"]  # the last a directory, copied whole

    first = run(tmp_path, kubeconform(dest, module_files=files))
    assert first["changed"] and not first.get("failed"), first
    assert first["files"] == {"fixtures/valid.yaml": str(copy), "LICENSE": str(dest / "files" / "LICENSE"),
                              "cmd/kubeconform": str(tree)}
    assert "kind:" in copy.read_text() and "Apache License" in (dest / "files" / "LICENSE").read_text()
    assert "package main" in (tree / "main.go").read_text()
    (tree / "main.go").write_text("writable, unlike the module cache")

    copy.unlink()
    again = run(tmp_path, kubeconform(dest, module_files=files))
    assert again["changed"] and again["reason"] == "files/fixtures/valid.yaml is missing", again
    assert copy.is_file() and "package main" in (tree / "main.go").read_text()

    shutil.rmtree(tree)
    tree_again = run(tmp_path, kubeconform(dest, module_files=files))
    assert tree_again["changed"] and tree_again["reason"] == "files/cmd/kubeconform is missing", tree_again
    assert (tree / "main.go").is_file()

    missing = run(tmp_path, kubeconform(tmp_path / "other", module_files=["deploy/nothing.yaml"]))
    assert missing.get("failed") and missing["msg"] == (
        f"kubeconform {VERSION}: module_files names deploy/nothing.yaml, which {MODULE}@{VERSION} does not have")
    assert not (tmp_path / "other" / "bin" / "kubeconform").exists()  # refused before the build
    assert not (tmp_path / "other" / STAMP).exists()


def test_interrupted_build_is_rebuilt(tmp_path: Path) -> None:
    dest = tmp_path / "kubeconform"
    run(tmp_path, kubeconform(dest))
    # What an interrupted build leaves: the stamp was removed first, a binary is there.
    (dest / STAMP).unlink()
    assert (dest / "bin" / "kubeconform").exists()

    again = run(tmp_path, kubeconform(dest))
    assert again["changed"] and not again["cached"], again
    assert again["reason"].startswith("no stamp")
    assert (dest / STAMP).exists() and version_of(dest / "bin" / "kubeconform") == VERSION

    # A binary that is not the one the stamp recorded is rebuilt too.
    (dest / "bin" / "kubeconform").write_bytes(b"#!/bin/sh\necho v0.8.0\n")
    replaced = run(tmp_path, kubeconform(dest))
    assert replaced["changed"] and "is not the binary the stamp recorded" in replaced["reason"], replaced


def test_check_mode_reports_a_build_and_builds_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "fresh"
    checked = run(tmp_path, kubeconform(dest), "--check")
    assert checked["changed"] and not checked["cached"] and not checked.get("failed"), checked
    assert checked["msg"].startswith(f"Would build kubeconform {VERSION}")
    assert not dest.exists()

    run(tmp_path, kubeconform(dest))
    cached = run(tmp_path, kubeconform(dest), "--check", "--diff")
    assert not cached["changed"] and cached["cached"], cached

    diff = run(tmp_path, kubeconform(dest, tags=["netgo"]), "--check", "--diff")
    assert diff["changed"] and diff["reason"] == "the recipe changed (tags)"
    assert '"netgo"' in diff["diff"]["after"] and '"netgo"' not in diff["diff"]["before"]
    assert json.loads((dest / STAMP).read_text())["tags"] == []  # check mode left the build alone


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_version_the_proxy_does_not_serve_fails_with_one_clear_message(tmp_path: Path, check_mode: bool) -> None:
    dest = tmp_path / "missing"
    result = run(tmp_path, kubeconform(dest, version="v0.0.99"), *(["--check"] if check_mode else []))
    assert result.get("failed"), result
    message = result["msg"]
    assert f"does not serve {MODULE}@v0.0.99" in message or f"go mod download {MODULE}@v0.0.99 failed" in message
    assert "GOPROXY=" in message and "\n" not in message
    assert not (dest / STAMP).exists()


def test_tree_mode_builds_a_copy_of_the_module_with_dependency_versions_in_ldflags(tmp_path: Path) -> None:
    dest = tmp_path / "tree"
    build = kubeconform(dest, mode="tree", packages={"kubeconform": "./cmd/kubeconform"},
                        ldflags_x={"main.version": "{version}/yaml-{dep:sigs.k8s.io/yaml}/{module_time}"},
                        checks={"kubeconform": {"args": ["-v"], "expect": "/yaml-v1.6.0/20", "rc": 0}})
    result = run(tmp_path, build)
    assert result["changed"] and not result.get("failed"), result
    assert version_of(dest / "bin" / "kubeconform") == f"{VERSION}/yaml-v1.6.0/2026-06-04T20:02:50Z"
    assert "copy" in result["durations"] and "go get" not in result["durations"]
    assert result["module_dir"].endswith(f"{MODULE}@{VERSION}")
    assert not (dest / "src").exists()  # the writable copy is removed after a successful build
    assert run(tmp_path, build)["cached"]


MAIN_GO = """package main

import (
\t"fmt"
\t"os"
)

var version = "development"

func main() {
\tif len(os.Args) > 1 && os.Args[1] == "-v" {
\t\tfmt.Println("tiny " + version)
\t}
}
"""


def test_tree_mode_builds_a_local_source_and_rebuilds_when_it_changes(tmp_path: Path) -> None:
    source = tmp_path / "tiny-src"
    source.mkdir()
    (source / "go.mod").write_text("module example.local/tiny\n\ngo 1.22\n")
    (source / "main.go").write_text(MAIN_GO)
    dest = tmp_path / "tiny"
    build = {"name": "tiny", "mode": "tree", "source": str(source), "version": "3.10", "packages": {"tiny": "."},
             "ldflags_x": {"main.version": "{version}"},
             "checks": {"tiny": {"args": ["-v"], "expect": "tiny {version}", "rc": 0}}, "dest": str(dest), "jobs": 1}

    first = run(tmp_path, build)
    assert first["changed"] and not first.get("failed"), first
    assert subprocess.run([str(dest / "bin" / "tiny"), "-v"], capture_output=True, text=True,
                          check=True).stdout == "tiny 3.10\n"
    assert run(tmp_path, build)["cached"]

    (source / "main.go").write_text(MAIN_GO.replace('"tiny "', '"tiny v"'))
    changed = run(tmp_path, dict(build, checks={"tiny": {"args": ["-v"], "expect": "tiny v3.10"}}))
    assert changed["changed"] and changed["reason"] == "the recipe changed (source)", changed


EMBED_GO = """package main

import (
\t_ "embed"
\t"fmt"
)

//go:embed static/index.html
var index string

func main() {
\tfmt.Print(index)
}
"""


def test_prebuild_generates_what_the_build_embeds_and_its_failure_is_reported(tmp_path: Path) -> None:
    """The shape of a web UI built with npm before `go build` embeds it (Prometheus), with sh for npm."""
    source = tmp_path / "embed-src"
    source.mkdir()
    (source / "go.mod").write_text("module example.local/embed\n\ngo 1.22\n")
    (source / "main.go").write_text(EMBED_GO)
    (source / "web").mkdir()
    dest = tmp_path / "embed"
    generate = {"name": "assets", "chdir": "web", "argv": ["sh", "-c", "mkdir -p ../static && echo ui-$PWD > ../static/index.html"]}
    build = {"name": "embed", "mode": "tree", "source": str(source), "version": "1", "packages": {"embed": "."},
             "prebuild": [generate], "dest": str(dest), "jobs": 1}

    first = run(tmp_path, build)
    assert first["changed"] and not first.get("failed"), first
    output = subprocess.run([str(dest / "bin" / "embed")], capture_output=True, text=True, check=True).stdout
    assert output == f"ui-{dest / 'src' / 'web'}\n"  # ran in chdir of the copy, not of the source
    assert "assets" in first["durations"] and not (source / "static").exists()
    assert run(tmp_path, build)["cached"]

    failing = dict(generate, argv=["sh", "-c", "echo 'npm ERR! code E404' >&2; exit 3"])
    failed = run(tmp_path, dict(build, prebuild=[failing]))
    assert failed.get("failed") and failed["msg"].startswith("assets of embed 1 failed (exit 3)"), failed
    assert "npm ERR! code E404" in failed["msg"] and not (dest / STAMP).exists()


def test_compile_error_and_failed_check_fail_clearly_and_leave_no_stamp(tmp_path: Path) -> None:
    source = tmp_path / "broken-src"
    source.mkdir()
    (source / "go.mod").write_text("module example.local/broken\n\ngo 1.22\n")
    (source / "main.go").write_text("package main\n\nfunc main() {\n\tundefinedThing()\n}\n")
    dest = tmp_path / "broken"
    build = {"name": "broken", "mode": "tree", "source": str(source), "version": "1", "packages": {"broken": "."},
             "dest": str(dest), "jobs": 1}

    failed = run(tmp_path, build)
    assert failed.get("failed") and "failed (exit 1)" in failed["msg"], failed
    assert "undefined: undefinedThing" in failed["msg"]
    assert any("undefined: undefinedThing" in line for line in failed["output_tail"])
    assert not (dest / STAMP).exists() and not (dest / "bin" / "broken").exists()

    (source / "main.go").write_text(MAIN_GO)
    wrong = run(tmp_path, dict(build, checks={"broken": {"args": ["-v"], "expect": "tiny v9"}}))
    assert wrong.get("failed"), wrong
    assert "a check failed" in wrong["msg"] and "'tiny development'" in wrong["msg"] and "'tiny v9'" in wrong["msg"]
    assert not (dest / STAMP).exists()


def test_two_runs_on_one_dest_build_once(tmp_path: Path) -> None:
    dest = tmp_path / "shared"
    build = kubeconform(dest)
    runs = []
    for index in range(2):
        work = tmp_path / f"run{index}"
        work.mkdir()
        command, out = module_command(work, "gitops.platform.go_build", OPTIONS, build)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(PROJECT / "collections"))
        runs.append((out, subprocess.Popen(  # pylint: disable=consider-using-with
            command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    results = []
    for out, process in runs:
        output, _ = process.communicate(timeout=1800)
        assert process.returncode == 0, output
        results.append(json.loads(out.read_text()))
    assert sorted(result["cached"] for result in results) == [False, True], results
    assert not any(result.get("failed") for result in results)
