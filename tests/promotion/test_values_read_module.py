"""gitops.platform.values_read run directly against real git remotes: a bare repository and the smart-HTTP server.

Each run is the module's file in a fresh Python process with a JSON argument file, as Ansible runs it, with a HOME
of its own and a TMPDIR of its own, to see that no clone is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import CHART, ROOT, HttpServer, Remote, git

MODULE = "ansible_collections.gitops.platform.plugins.modules.values_read"
DEV, PRODUCTION = f"helm/{CHART}/values-dev.yaml", f"helm/{CHART}/values-production.yaml"
KEYS = ["image.tag", "promotion.pin"]


def read(tmp_path: Path, repo: str, *flags: str, **args: object) -> tuple[int, dict, str]:
    """(rc, result, output) of one run of the module with `args`; `--check` runs it in check mode."""
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(exist_ok=True)
    temp.mkdir(exist_ok=True)
    module_args = {"repo": repo, "files": [DEV, PRODUCTION], "keys": KEYS, **args}
    if "--check" in flags:
        module_args["_ansible_check_mode"] = True
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITOPS_", "XDG_CONFIG"))}
    env.update(HOME=str(home), TMPDIR=str(temp), PYTHONPATH=str(ROOT / "collections"))
    done = subprocess.run([sys.executable, "-m", MODULE, str(args_file)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout[done.stdout.index("{"):]), output


def pin_production(remote: Remote, tmp_path: Path, pin: str) -> str:
    work = tmp_path / "work"
    git("clone", "--quiet", str(remote.path), str(work))
    path = work / PRODUCTION
    path.write_text(path.read_text().replace('  pin: ""', f"  pin: {json.dumps(pin)}"))
    git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet", "-am", "Pin", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return remote.head()


@pytest.mark.parametrize("flags", [(), ("--check",)], ids=["run", "check-mode"])
def test_reads_the_branch_head(remote: Remote, tmp_path: Path, flags: tuple[str, ...]) -> None:
    head = pin_production(remote, tmp_path, "rolled back by alice")
    rc, result, output = read(tmp_path, str(remote.path), *flags)
    assert rc == 0, output
    assert result["changed"] is False and result["commit"] == head
    assert result["files"] == {DEV: {"image.tag": "0.1.0", "promotion.pin": ""},
                               PRODUCTION: {"image.tag": "0.1.0", "promotion.pin": "rolled back by alice"}}
    assert result["missing"] == [] and result["errors"] == {}
    assert remote.head() == head  # read only
    assert list((tmp_path / "tmp").iterdir()) == []  # no clone left behind


def test_a_missing_file_or_key_is_null(remote: Remote, tmp_path: Path) -> None:
    rc, result, output = read(tmp_path, str(remote.path), files=[DEV, f"helm/{CHART}/values-qa.yaml",
                                                                 f"helm/{CHART}/Chart.yaml"], keys=["image.tag", "appVersion"])
    assert rc == 0, output
    app_version = yaml.safe_load((ROOT / "helm" / CHART / "Chart.yaml").read_text())["appVersion"]
    assert result["files"] == {DEV: {"image.tag": "0.1.0", "appVersion": None},
                               f"helm/{CHART}/values-qa.yaml": {"image.tag": None, "appVersion": None},
                               f"helm/{CHART}/Chart.yaml": {"image.tag": None, "appVersion": app_version}}
    assert result["missing"] == [f"helm/{CHART}/values-qa.yaml"]


def test_over_http_with_credentials(http_remote: HttpServer, tmp_path: Path) -> None:
    rc, result, output = read(tmp_path, http_remote.url, git_username=http_remote.username,
                              git_password=http_remote.password)
    assert rc == 0, output
    assert result["files"][DEV]["image.tag"] == "0.1.0"
    assert http_remote.password not in output


def test_wrong_credentials_fail_with_one_message(http_remote: HttpServer, tmp_path: Path) -> None:
    rc, result, output = read(tmp_path, http_remote.url, git_username=http_remote.username, git_password="wrong-s3cret")
    assert rc == 1 and result["failed"] is True
    assert result["msg"] == f"Could not read the values files: {result['reason']}"
    assert result["reason"].startswith(f"could not clone {http_remote.url} (branch main): ")
    assert "wrong-s3cret" not in output


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"repo": "http://127.0.0.1:1/gitops.git"}, "could not clone http://127.0.0.1:1/gitops.git (branch main): "),
        ({"branch": "nope"}, "branch 'nope' does not exist in "),
        ({"files": ["../x.yaml"]}, "has a '..' component"),
        ({"git_timeout": 0}, "git_timeout must be a positive number of seconds"),
    ],
    ids=["unreachable", "no-branch", "bad-path", "bad-timeout"],
)
def test_failures(remote: Remote, tmp_path: Path, args: dict, reason: str) -> None:
    rc, result, output = read(tmp_path, args.pop("repo", str(remote.path)), **args)
    assert rc == 1, output
    assert reason in result["reason"] and result["msg"].startswith("Could not read the values files: ")
    assert list((tmp_path / "tmp").iterdir()) == []  # no clone left behind
