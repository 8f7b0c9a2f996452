"""Vulnerability scans for real: grype (built from its Go module) over the SBOMs of tests/offline/test_image_sbom.py's
images. Offline without a database the scan stops with one message; given the database `make scan-db` builds from the
Go vulnerability database the Go module proxy serves, it finds the advisories that apply to the images' Go modules
and toolchain; a finding at the threshold fails the scan, naming it and the version that fixes it. That last one
uses a database written by the same writer from one OSV record of the test's own (GO-TEST-0001, rated critical):
the Go vulnerability database rates no severity, so no real record of it can cross a threshold.
Needs the Docker engine and what `make bundle` and `make sbom` build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.docker_engine import docker_unreachable

REPO = Path(__file__).resolve().parents[2]
VERSIONS = yaml.safe_load((REPO / "inventory" / "group_vars" / "all" / "versions.yml").read_text())["platform_versions"]
CACHE_DIR = Path(os.environ.get("GITOPS_CACHE_DIR") or Path.home() / ".cache" / "gitops-platform")
ARCHIVE = CACHE_DIR / "scan-db" / f"govulndb-{VERSIONS['govulndb']}.tar.gz"
WRITER = CACHE_DIR / "scan-db" / "osv-grype-db" / "bin" / "osv-grype-db"
KUBE_ROUTER = VERSIONS["kube_router_image"]
PAUSE = f"registry.k8s.io/pause:{VERSIONS['pause']}"

_DOCKER_UNREACHABLE = docker_unreachable()
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_DOCKER_UNREACHABLE is not None, reason=_DOCKER_UNREACHABLE or ""),
]

# A test advisory, not a real one: kube-router v2.1.0 "affected", fixed in 2.1.1, rated critical (CVSS 9.8).
TEST_ADVISORY = {
    "schema_version": "1.3.1",
    "id": "GO-TEST-0001",
    "modified": "2026-12-01T00:00:00Z",
    "published": "2026-12-01T00:00:00Z",
    "summary": "Test advisory of the gitops platform's suite",
    "details": "Written by tests/offline/test_image_scan.py to prove that a critical finding fails the scan.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [{
        "package": {"name": "github.com/cloudnativelabs/kube-router/v2", "ecosystem": "Go"},
        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.1.1"}]}],
    }],
}


def playbook(name: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    sibling = Path(sys.executable).with_name("ansible-playbook")
    done = subprocess.run(
        [str(sibling) if sibling.exists() else "ansible-playbook", f"playbooks/{name}",
         "-e", f"image_scan_db_dir={tmp_path / 'grype-db'}", "-e", f"image_scan_report_dir={tmp_path / 'reports'}", *args],
        cwd=REPO, capture_output=True, text=True, timeout=1800, check=False,
        env=os.environ | {"ANSIBLE_FORCE_COLOR": "0", "GITOPS_OFFLINE": "true"})
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def images(*refs: str) -> str:
    return json.dumps({"scan_images": list(refs)})


def test_offline_without_a_database_the_scan_says_what_it_needs(tmp_path: Path) -> None:
    rc, output = playbook("scan.yml", tmp_path, "-e", images(PAUSE))
    assert rc != 0
    assert ("The scan needs a vulnerability database and this machine is offline, so grype cannot download one. "
            "Give it a database: GRYPE_DB=<archive or vulnerability.db>") in output, output[-3000:]
    assert output.count("fatal:") == 1
    assert not (tmp_path / "grype-db").exists() and not (tmp_path / "reports").exists(), "nothing half-done"


def test_the_go_vulnerability_database_finds_what_applies_to_the_images(tmp_path: Path) -> None:
    rc, output = playbook("scan-db.yml", tmp_path)
    assert rc == 0 and ARCHIVE.is_file(), output[-3000:]
    rc, output = playbook("scan.yml", tmp_path, "-e", f"scan_db={ARCHIVE}", "-e", images(PAUSE, KUBE_ROUTER))
    assert rc == 0, output[-3000:]
    assert "grype's database (schema v6." in output and "No finding at critical or worse in 2 image(s)." in output

    report = json.loads((tmp_path / "reports" / "registry.k8s.io_pause_3.10.grype.json").read_text())
    findings = {(match["vulnerability"]["id"], match["artifact"]["name"]) for match in report["matches"]}
    # Every finding is a Go advisory against what the SBOM lists, and says which version fixes it.
    assert findings and all(ident.startswith("GO-") for ident, _ in findings)
    sbom = json.loads((CACHE_DIR / "sbom" / "registry.k8s.io_pause_3.10.syft-json.json").read_text())
    assert {name for _, name in findings} <= {artifact["name"] for artifact in sbom["artifacts"]}
    assert all(match["vulnerability"]["fix"]["versions"] for match in report["matches"])
    # The Go vulnerability database rates no severity.
    assert {match["vulnerability"]["severity"] for match in report["matches"]} == {"Unknown"}
    # kube-router's x/net was raised past the HTTP/2 CONTINUATION flood (GO-2024-2687); the database knows it.
    router = json.loads((tmp_path / "reports" / "docker.io_cloudnativelabs_kube-router_v2.1.0.grype.json").read_text())
    assert ("GO-2024-2687", "golang.org/x/net") not in {(m["vulnerability"]["id"], m["artifact"]["name"])
                                                         for m in router["matches"]}

    again = playbook("scan.yml", tmp_path, "-e", f"scan_db={ARCHIVE}", "-e", images(PAUSE))
    # The same file is imported once: nothing changes the second time.
    assert again[0] == 0 and "changed=0" in again[1], again[1][-3000:]


def test_a_critical_finding_fails_the_scan_naming_it_and_its_fix(tmp_path: Path) -> None:
    assert WRITER.is_file(), "make scan-db (playbooks/scan-db.yml) builds the writer"
    records = tmp_path / "osv"
    records.mkdir()
    (records / "GO-TEST-0001.json").write_text(json.dumps(TEST_ADVISORY))
    subprocess.run([str(WRITER), f"-out={tmp_path / 'db'}", "-source=test", str(records)], check=True, timeout=120)
    database = tmp_path / "db" / "vulnerability.db"

    rc, output = playbook("scan.yml", tmp_path, "-e", f"scan_db={database}", "-e", images(KUBE_ROUTER, PAUSE))
    assert rc != 0
    assert (f"1 image(s) have critical findings or worse: {KUBE_ROUTER} (1: GO-TEST-0001 in "
            "github.com/cloudnativelabs/kube-router/v2 v2.1.0 (fixed in 2.1.1))") in output, output[-3000:]
    assert f"{KUBE_ROUTER}: 1 critical" in output and f"{PAUSE}: no finding" in output

    rc, output = playbook("scan.yml", tmp_path, "-e", f"scan_db={database}", "-e", images(PAUSE))
    assert rc == 0 and "No finding at critical or worse in 1 image(s)." in output, output[-3000:]


def test_a_file_that_is_no_database_is_refused_with_what_to_give(tmp_path: Path) -> None:
    not_a_database = tmp_path / "db.tar.gz"
    not_a_database.write_bytes(b"not an archive")
    rc, output = playbook("scan.yml", tmp_path, "-e", f"scan_db={not_a_database}", "-e", images(PAUSE))
    assert rc != 0
    assert f"grype could not import {not_a_database}:" in output, output[-3000:]
    assert "Give a grype database archive" in output


def test_a_directory_is_refused_and_a_path_from_home_is_expanded(tmp_path: Path) -> None:
    rc, output = playbook("scan.yml", tmp_path, "-e", f"scan_db={tmp_path}", "-e", images(PAUSE))
    assert rc != 0 and f"The vulnerability database {tmp_path} is not a file" in output, output[-3000:]

    assert ARCHIVE.is_file(), "make scan-db (playbooks/scan-db.yml) builds the archive"
    from_home = f"~/{ARCHIVE.relative_to(Path.home())}"
    rc, output = playbook("scan.yml", tmp_path, "-e", f"scan_db={from_home}", "-e", images(PAUSE))
    assert rc == 0 and "No finding at critical or worse in 1 image(s)." in output, output[-3000:]
    # A given database is kept apart from the one grype downloads online, so neither is taken for the other.
    assert (tmp_path / "grype-db" / "imported" / "imported.sha256").is_file()
    assert not (tmp_path / "grype-db" / "downloaded").exists()
