"""Real git remotes for the promotion tests: bare repositories on disk and a smart-HTTP server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = "demo-flask-app"


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@dataclass
class Remote:
    path: Path

    def head(self, branch: str = "main") -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.path).strip()

    def show(self, file: str, rev: str = "main") -> str:
        return git("show", f"{rev}:{file}", cwd=self.path)

    def log(self, file: str | None = None, fmt: str = "%s") -> list[str]:
        args = ["log", f"--format={fmt}", "main"] + (["--", file] if file else [])
        return [line for line in git(*args, cwd=self.path).splitlines() if line]

    def message(self, rev: str = "main") -> str:
        return git("log", "-1", "--format=%B", rev, cwd=self.path)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """A bare gitops repository holding the project's real chart, branch main."""
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(seed))
    shutil.copytree(ROOT / "helm", seed / "helm")
    git("add", "-A", cwd=seed)
    git("-c", "user.name=seed", "-c", "user.email=seed@localhost", "commit", "--quiet", "-m", "Seed", cwd=seed)
    git("push", "--quiet", "origin", "HEAD:main", cwd=seed)
    return Remote(bare)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HttpServer:
    url: str
    username: str
    password: str
    process: subprocess.Popen


@pytest.fixture
def http_remote(remote: Remote, tmp_path: Path):
    """The same repository behind the project's smart-HTTP git server, with basic auth."""
    port = free_port()
    secret = tmp_path / "git-password"
    secret.write_text("promoter-s3cret\n")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "git-http-server.py"), "--root", str(remote.path.parent),
         "--port", str(port), "--user", "promoter", "--password-file", str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the git HTTP server did not start")
    yield HttpServer(f"http://127.0.0.1:{port}/{remote.path.name}", "promoter", "promoter-s3cret", process)
    process.terminate()
    process.wait(timeout=10)


@dataclass
class Run:
    rc: int
    output: str


def playbook(name: str, extra: dict, *flags: str, env: dict | None = None) -> Run:
    """Run one of the project's playbooks exactly as CI would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITOPS_GIT_"))}
    full_env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **(env or {}))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), f"playbooks/{name}", "-e", json.dumps(extra), *flags],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300,
    )
    return Run(result.returncode, result.stdout + result.stderr)
