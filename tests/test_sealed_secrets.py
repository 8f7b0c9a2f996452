"""Sealed Secrets for real: the platform's sealing key made once, backed up, restored into a cluster whose controller
lost it, and what was sealed before decrypted again (tests/playbooks/sealing-key-roundtrip.yml, on an ephemeral kind
cluster of its own), with the value in no output. Needs the Docker engine and what `make bundle` builds (the node
image, the controller's image and chart) and `make prerequisites` (kubeseal, helm, kind).
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.docker_engine import docker, docker_unreachable

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "tests" / "playbooks" / "sealing-key-roundtrip.yml"
CLUSTER = "gitops-sealed-test"
LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"

_DOCKER_UNREACHABLE = docker_unreachable()
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_DOCKER_UNREACHABLE is not None, reason=_DOCKER_UNREACHABLE or ""),
]


def test_a_restored_key_decrypts_what_was_sealed_before_and_the_value_is_never_shown(tmp_path: Path) -> None:
    value = f"session-{secrets.token_hex(16)}"
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    done = subprocess.run(
        [str(ansible_playbook) if ansible_playbook.exists() else "ansible-playbook", str(PLAYBOOK),
         "-e", f"roundtrip_dir={tmp_path}", "-e", f"platform_secrets_dir={secrets_dir}", "-e", f"roundtrip_cluster={CLUSTER}"],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
        env=os.environ | {"SEAL_TEST_VALUE": value},
    )
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, output[-6000:]
    assert "decrypted what was sealed before, with the restored key" in output, output[-3000:]
    assert value not in output

    # The backup: one key, active, readable by its owner only; the certificate kubeseal sealed with beside it.
    backup = secrets_dir / "sealed-secrets-keys.yaml"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    keys = [doc for doc in yaml.safe_load_all(backup.read_text()) if doc]
    assert [key["metadata"]["labels"] for key in keys] == [{LABEL: "active"}]
    assert set(keys[0]["data"]) == {"tls.crt", "tls.key"} and "uid" not in keys[0]["metadata"]
    assert "BEGIN CERTIFICATE" in (secrets_dir / "sealed-secrets.crt").read_text()

    nodes = docker("ps", "--all", "--filter", f"label=io.x-k8s.kind.cluster={CLUSTER}", "--format", "{{.Names}}")
    assert nodes.stdout.split() == [], "the test's cluster was left behind"
