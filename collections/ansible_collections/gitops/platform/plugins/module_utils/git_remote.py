# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""A throw-away clone of a gitops repository, driven through the git command line."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unicodedata
from typing import Callable, Mapping, Sequence

# (argv, cwd) -> (rc, stdout, stderr)
Runner = Callable[[Sequence[str], "str | None"], "tuple[int, str, str]"]

DEFAULT_GIT_TIMEOUT = 120
# A transfer slower than this many bytes per second for this many seconds is abandoned by git itself.
LOW_SPEED_LIMIT = 1000
LOW_SPEED_TIME = 30

# Given to every git command with -c, so they win over any configuration file. Together with the
# environment below, git runs as if on a fresh machine: no hooks (the clone's, a global hooksPath or
# a template's), no credential helper but our askpass, no URL rewrites, no filters, no `ext::` transport.
SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.attributesFile=/dev/null",
    "core.fsmonitor=false",
    "credential.helper=",  # an empty value empties the list of helpers
    "protocol.ext.allow=never",
    f"http.lowSpeedLimit={LOW_SPEED_LIMIT}",
    f"http.lowSpeedTime={LOW_SPEED_TIME}",
)
# The only GIT_* variables let through from the caller's environment: how to reach the server
# (ssh command, CA bundle), nothing that changes what git does once there.
_KEPT_GIT_VARIABLES = frozenset({
    "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH",
})

# Why a ref was refused, as git prints it in the push summary, porcelain ("!\tHEAD:refs/heads/main\t
# [remote rejected] (pre-receive hook declined)") or not ("! [rejected] HEAD -> main (fetch first)").
_PUSH_REFUSAL = re.compile(r"\[(?P<kind>rejected|remote rejected)\][^\n(]*\((?P<reason>[^)\n]*)\)")
# Reasons that mean the branch moved on while we were committing, or another push held the ref lock
# at that moment: both mean "fetch and try again". Any other reason (a hook declined, permission
# denied, a protected branch) is the remote's answer and the same push would get it again.
_RETRYABLE_REASON = re.compile(
    r"non-fast-forward|fetch first|stale info|failed to update ref|cannot lock ref|failed to lock|"
    r"unable to lock|incorrect old value",
    re.IGNORECASE,
)
# The same, for a failure without a push summary (a local ref lock).
_RETRYABLE_PUSH = re.compile(
    r"non-fast-forward|fetch first|cannot lock ref|failed to update ref|unable to update local ref|"
    r"incorrect old value|failed to lock",
    re.IGNORECASE,
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")

# A full commit id: SHA-1 or, in a SHA-256 repository, SHA-256.
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

_CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """Remove user:password@ from any URL in `text`."""
    return _CREDENTIALS_IN_URL.sub(r"\g<scheme>***@", text)


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return redact(" | ".join(lines[-count:]))


def has_control_character(text: str) -> bool:
    """Any ASCII or Unicode control character, or a Unicode line or paragraph separator."""
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)


def branch_error(branch: str) -> str:
    """Why `branch` is not a plain branch name (git check-ref-format --branch rules), or ""."""
    def bad(why: str) -> str:
        return f"{json.dumps(branch)} is not a valid branch name: {why}"

    if not branch:
        return bad("it is empty")
    if branch.startswith("-"):
        return bad("it starts with '-'")
    if branch in ("HEAD", "@"):
        return bad("it means HEAD")
    if _REF_FORBIDDEN.search(branch) or has_control_character(branch):
        return bad("it contains a space, a control character or one of ~ ^ : ? * [ \\")
    if ".." in branch or "@{" in branch:
        return bad("it contains '..' or '@{'")
    if branch.startswith("/") or branch.endswith("/") or "//" in branch:
        return bad("it has an empty path component")
    if branch.endswith("."):
        return bad("it ends with '.'")
    for part in branch.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return bad("a component starts with '.' or ends with '.lock'")
    return ""


def repo_path_error(path: str) -> str:
    """Why `path` is not a plain relative path to a file inside a repository's work tree, or ""."""
    shown = json.dumps(path)
    if not path:
        return "the values file path is empty"
    if has_control_character(path):
        return f"the values file path {shown} contains a control character"
    if path.startswith("/") or os.path.isabs(path):
        return f"the values file path {shown} is absolute; give it relative to the repository root"
    for part in path.split("/"):
        if part in ("..", "."):
            return f"the values file path {shown} has a '{part}' component; it must name a file inside the repository"
        if not part:
            return f"the values file path {shown} has an empty component"
        if part.lower() == ".git":
            return f"the values file path {shown} is inside .git, not the repository's files"
    return ""


def git_request_error(params: Mapping) -> str:
    """What is wrong with the gitops_repo options before anything is cloned, or ""."""
    if params.get("git_timeout") is not None and params["git_timeout"] <= 0:
        return "git_timeout must be a positive number of seconds"
    return branch_error(params["branch"]) or repo_path_error(params["values_file"])


class UnsafePath(ValueError):
    """The values file is not a regular path inside the clone; the message says why."""


def path_in_clone(workdir: str, path: str) -> str:
    """The absolute path of `path` in the clone at `workdir`; refuses anything that leaves it."""
    problem = repo_path_error(path)
    if problem:
        raise UnsafePath(problem)
    root = os.path.realpath(workdir)
    lexical = os.path.join(root, *path.split("/"))
    resolved = os.path.realpath(lexical)
    inside = os.path.relpath(resolved, root)
    if resolved == root or os.path.commonpath([root, resolved]) != root or inside.split(os.sep)[0] == ".git":
        raise UnsafePath(f"{path} resolves through a symlink to {resolved}, outside the repository's files")
    if resolved != lexical:
        raise UnsafePath(f"{path} is a symlink, or lies under one, to {inside}; name that file instead")
    return lexical


class GitError(Exception):
    """A git command failed; the message is safe to show (credentials redacted)."""


class GitTimeout(GitError):
    """A git command ran longer than git_timeout and was stopped."""

    def __init__(self, verb: str, seconds: float, repo: str = "") -> None:
        self.verb, self.seconds = verb, seconds
        where = f" on {redact(repo)}" if repo else ""
        super().__init__(
            f"git {verb}{where} timed out after {seconds:g} seconds (git_timeout) and was stopped: the git "
            "server did not answer in time. Check that it is up, or raise git_timeout for a slow one"
        )


class PushRejected(GitError):
    """The remote refused the push because its branch moved on; fetch and re-apply."""


class PushRefused(GitError):
    """The remote refused the push for another reason (a hook, permissions); retrying would not help."""


def _remote_lines(text: str, count: int = 20) -> str:
    """What the server itself said (its hooks' output), as git relays it on lines starting "remote:"."""
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    said = [line for line in lines if line.startswith("remote:") and line[len("remote:"):].strip()]
    return redact(" | ".join(said[-count:]))


def _verb(args: Sequence[str]) -> str:
    """The git subcommand in `args` (the arguments after "git")."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-c", "-C"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return "command"


class GitClone:
    """A shallow clone of one branch, with the few operations promotion needs."""

    def __init__(self, run: Runner, repo: str, branch: str, workdir: str,
                 author_name: str, author_email: str) -> None:
        self._run = run
        self.repo = repo
        self.branch = branch
        self.workdir = workdir
        self._identity = ["-c", f"user.name={author_name}", "-c", f"user.email={author_email}"]

    def _call(self, args: Sequence[str], cwd: "str | None") -> "tuple[int, str, str]":
        try:
            return self._run(["git", *args], cwd)
        except GitTimeout as exc:
            raise GitTimeout(exc.verb, exc.seconds, self.repo) from None

    def _git(self, *args: str, cwd: "str | None" = None) -> str:
        rc, out, err = self._call(args, self.workdir if cwd is None else cwd)
        if rc != 0:
            raise GitError(f"git {_verb(args)} failed: {last_lines(err or out)}")
        return out

    def clone(self, depth: int | None = 1) -> None:
        problem = branch_error(self.branch)
        if problem:
            raise GitError(problem)
        argv = ["clone", "--quiet", "--single-branch", "--branch", self.branch]
        if depth:
            argv += ["--depth", str(depth)]
        # "--": a repository that starts with "-" is a path, never an option.
        rc, out, err = self._call([*argv, "--", self.repo, self.workdir], None)
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
        rc, out, err = self._call(
            ["push", "--quiet", "--porcelain", "origin", f"HEAD:refs/heads/{self.branch}"], self.workdir)
        if rc == 0:
            return
        detail = f"{out}\n{err}"
        refusal = _PUSH_REFUSAL.search(detail)
        if refusal and not _RETRYABLE_REASON.search(refusal["reason"]):
            said = _remote_lines(detail)
            raise PushRefused(
                f"{redact(self.repo)} refused the push to branch {self.branch} ({refusal['reason']}). "
                "That is the server's answer, not a race with another promotion, so it was not retried and "
                "nothing was pushed. "
                + (f"The server said: {said}" if said else "The server gave no reason beyond that.")
            )
        if refusal or _RETRYABLE_PUSH.search(detail):
            raise PushRejected(f"push rejected: {last_lines(detail)}")
        raise GitError(
            f"could not push to {redact(self.repo)} (branch {self.branch}): {last_lines(detail)}. "
            "Check that the git server is reachable and the credentials allow pushing"
        )

    def log_file(self, path: str) -> list[str]:
        """Commits that touched `path`, newest first."""
        return self._git("log", "--format=%H", "--", path).split()

    def reverted_commits(self, path: str) -> set:
        """Commits that a later commit touching `path` reverted, by its `Reverts:` trailer (an automatic revert)."""
        out = self._git("log", "--format=%(trailers:key=Reverts,valueonly,separator=%x20)", "--", path)
        return set(out.split())

    def show(self, commit: str, path: str) -> str:
        return self._git("show", f"{commit}:{path}")

    def has_commit(self, commit: str) -> bool:
        """Whether the commit id `commit` is in the cloned branch's history (its head or an ancestor).

        Only a full commit id counts (never a ref, a range or anything git could read as an option); a
        clone with a depth sees only that much history."""
        if not _COMMIT_ID.fullmatch(commit):
            return False
        rc, _out, _err = self._call(["cat-file", "-e", f"{commit}^{{commit}}"], self.workdir)
        if rc != 0:
            return False
        rc, out, err = self._call(["merge-base", "--is-ancestor", commit, "HEAD"], self.workdir)
        if rc in (0, 1):
            return rc == 0
        raise GitError(f"git merge-base failed: {last_lines(err or out)}")


_ASKPASS = '#!/bin/sh\ncase "$1" in Username*) echo "$GITOPS_GIT_USERNAME";; *) echo "$GITOPS_GIT_PASSWORD";; esac\n'


def git_environment(base: "Mapping[str, str] | None" = None, extra: "Mapping[str, str] | None" = None) -> dict:
    """`base` (the process environment by default) without the GIT_* variables that could change what
    git does, with the user's and the system's git configuration switched off and no prompts."""
    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if not k.startswith("GIT_") or k in _KEPT_GIT_VARIABLES}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,  # git >= 2.32; also hides $XDG_CONFIG_HOME/git/config
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="/bin/false",
        LC_ALL="C",
    )
    env.update(extra or {})
    return env


def _stop(process: subprocess.Popen) -> None:
    """Kill `process` and everything it started (git's transport helpers share its process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a grandchild left the group and holds a pipe
        pass


def git_runner(timeout: float, base_env: "Mapping[str, str] | None" = None,
               extra_env: "Mapping[str, str] | None" = None) -> Runner:
    """A Runner that starts git with SAFE_CONFIG, the environment of git_environment(), no stdin, and
    stops it, with its children, after `timeout` seconds (raising GitTimeout).

    Not AnsibleModule.run_command: it has no timeout, and killing git alone would leave its transport
    helper (git-remote-http) holding the output pipes, so the whole process group is killed."""
    env = git_environment(base_env, extra_env)
    safe = [option for setting in SAFE_CONFIG for option in ("-c", setting)]

    def run(argv, cwd):
        argv = list(argv)
        args = argv[1:]
        if argv[:1] == ["git"]:
            argv[1:1] = safe
        try:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            return 127, "", f"cannot run {argv[0]}: {exc}"
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise GitTimeout(_verb(args), timeout) from None
        return process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    return run


def ansible_git_runner(module, workdir: str) -> Runner:
    """A git_runner for AnsibleModule, stopped after the git_timeout option. HTTP credentials come from
    the module's git_username and git_password options through an askpass helper in `workdir`, never
    on a command line or in a URL; no credential helper of the user's is asked."""
    extra = {}
    if module.params.get("git_password"):
        helper = os.path.join(workdir, "askpass")
        with open(helper, "w", encoding="utf-8") as handle:
            handle.write(_ASKPASS)
        os.chmod(helper, 0o700)
        extra = {"GIT_ASKPASS": helper, "GITOPS_GIT_USERNAME": module.params.get("git_username") or "",
                 "GITOPS_GIT_PASSWORD": module.params["git_password"]}
    return git_runner(module.params.get("git_timeout") or DEFAULT_GIT_TIMEOUT, extra_env=extra)


@contextlib.contextmanager
def module_clone(module, prefix: str):
    """A GitClone (not cloned yet) of the module's repo and branch in a new temporary directory, which goes,
    askpass helper and all, when the block ends."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    try:
        yield GitClone(ansible_git_runner(module, workdir), module.params["repo"], module.params["branch"],
                       os.path.join(workdir, "repo"), "", "")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def gitops_repo_argument_spec() -> dict:
    """Arguments of the gitops.platform.gitops_repo documentation fragment."""
    return dict(
        repo=dict(type="str", required=True),
        git_username=dict(type="str", default=""),
        git_password=dict(type="str", default="", no_log=True),
        branch=dict(type="str", default="main"),
        values_file=dict(type="str", required=True),
        key=dict(type="str", default="image.tag", no_log=False),
        git_timeout=dict(type="int", default=DEFAULT_GIT_TIMEOUT),
    )
