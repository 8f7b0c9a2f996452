# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""A throw-away clone of a gitops repository, driven through the git command line."""

from __future__ import annotations

import os
import re
from typing import Callable, Sequence

# (argv, cwd) -> (rc, stdout, stderr)
Runner = Callable[[Sequence[str], "str | None"], "tuple[int, str, str]"]

# What git prints when the remote moved on while we were committing, or when another push holds
# the ref lock at that moment: both mean "fetch and try again", never "give up".
_RETRYABLE_PUSH = re.compile(
    r"non-fast-forward|fetch first|\[rejected\]|\[remote rejected\]|cannot lock ref|"
    r"failed to update ref|unable to update local ref|incorrect old value|failed to lock",
    re.IGNORECASE,
)

_CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """Remove user:password@ from any URL in `text`."""
    return _CREDENTIALS_IN_URL.sub(r"\g<scheme>***@", text)


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return redact(" | ".join(lines[-count:]))


class GitError(Exception):
    """A git command failed; the message is safe to show (credentials redacted)."""


class PushRejected(GitError):
    """The remote refused the push because its branch moved on; fetch and re-apply."""


class GitClone:
    """A shallow clone of one branch, with the few operations promotion needs."""

    def __init__(self, run: Runner, repo: str, branch: str, workdir: str,
                 author_name: str, author_email: str) -> None:
        self._run = run
        self.repo = repo
        self.branch = branch
        self.workdir = workdir
        self._identity = ["-c", f"user.name={author_name}", "-c", f"user.email={author_email}"]

    def _git(self, *args: str, cwd: "str | None" = None) -> str:
        rc, out, err = self._run(["git", *args], self.workdir if cwd is None else cwd)
        if rc != 0:
            verb = next(a for a in args if not a.startswith("-") and "=" not in a)
            raise GitError(f"git {verb} failed: {last_lines(err or out)}")
        return out

    def clone(self, depth: int | None = 1) -> None:
        argv = ["clone", "--quiet", "--single-branch", "--branch", self.branch]
        if depth:
            argv += ["--depth", str(depth)]
        rc, out, err = self._run(["git", *argv, self.repo, self.workdir], None)
        if rc != 0:
            detail = last_lines(err or out)
            if "Remote branch" in detail and "not found" in detail:
                raise GitError(f"branch '{self.branch}' does not exist in {redact(self.repo)}")
            raise GitError(
                f"could not clone {redact(self.repo)} (branch {self.branch}): {detail}. "
                "Check that the git server is reachable and the credentials are right"
            )

    def head(self) -> str:
        return self._git("rev-parse", "HEAD").strip()

    def reset_to_remote(self) -> None:
        """Move to the remote branch's current head, dropping our unpushed commit."""
        self._git("fetch", "--quiet", "--depth", "1", "origin", self.branch)
        self._git("reset", "--quiet", "--hard", "FETCH_HEAD")

    def commit(self, path: str, message: str) -> str:
        """Commit `path` alone with `message`; returns the new commit's id."""
        self._git(*self._identity, "commit", "--quiet", "--no-verify", "-m", message, "--", path)
        return self.head()

    def push(self) -> None:
        rc, out, err = self._run(
            ["git", "push", "--quiet", "--porcelain", "origin", f"HEAD:refs/heads/{self.branch}"],
            self.workdir,
        )
        if rc == 0:
            return
        detail = f"{out}\n{err}"
        if _RETRYABLE_PUSH.search(detail):
            raise PushRejected(f"push rejected: {last_lines(detail)}")
        raise GitError(
            f"could not push to {redact(self.repo)} (branch {self.branch}): {last_lines(detail)}. "
            "Check that the git server is reachable and the credentials allow pushing"
        )

    def log_file(self, path: str) -> list[str]:
        """Commits that touched `path`, newest first."""
        return self._git("log", "--format=%H", "--", path).split()

    def show(self, commit: str, path: str) -> str:
        return self._git("show", f"{commit}:{path}")


_ASKPASS = '#!/bin/sh\ncase "$1" in Username*) echo "$GITOPS_GIT_USERNAME";; *) echo "$GITOPS_GIT_PASSWORD";; esac\n'


def ansible_git_runner(module, workdir: str) -> Runner:
    """A Runner for AnsibleModule: no prompts; HTTP credentials from the module's git_username and
    git_password options through an askpass helper in `workdir`, never on a command line or in a URL."""
    env = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_ASKPASS": "/bin/false"}
    if module.params.get("git_password"):
        helper = os.path.join(workdir, "askpass")
        with open(helper, "w", encoding="utf-8") as handle:
            handle.write(_ASKPASS)
        os.chmod(helper, 0o700)
        env.update(GIT_ASKPASS=helper, GITOPS_GIT_USERNAME=module.params.get("git_username") or "",
                   GITOPS_GIT_PASSWORD=module.params["git_password"])

    def run(argv, cwd):
        return module.run_command(list(argv), cwd=cwd, environ_update=env)
    return run


def gitops_repo_argument_spec() -> dict:
    """Arguments of the gitops.platform.gitops_repo documentation fragment."""
    return dict(
        repo=dict(type="str", required=True),
        git_username=dict(type="str", default=""),
        git_password=dict(type="str", default="", no_log=True),
        branch=dict(type="str", default="main"),
        values_file=dict(type="str", required=True),
        key=dict(type="str", default="image.tag", no_log=False),
    )
