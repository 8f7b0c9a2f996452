"""The promotion modules run directly, against real git remotes, hooks and servers.

Each test runs the module's file in a fresh Python process with a JSON argument file, as Ansible does,
with a HOME of its own so that the machine's git configuration plays no part unless a test puts it there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.gitops.platform.plugins.module_utils import git_remote

from .conftest import CHART, ROOT, Remote, git, playbook

COLLECTIONS = ROOT / "collections"
VALUES = f"helm/{CHART}/values.yaml"
STAGING = f"helm/{CHART}/values-staging.yaml"


@dataclass
class Result:
    rc: int
    data: dict
    seconds: float
    output: str

    @property
    def msg(self) -> str:
        return self.data.get("msg", "")


def clean_env(home: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITOPS_", "XDG_CONFIG"))}
    env.update(HOME=str(home), PYTHONPATH=str(COLLECTIONS), **(extra or {}))
    return env


def run_module(name: str, args: dict, tmp_path: Path, env: dict | None = None, home: Path | None = None,
               timeout: float = 120) -> Result:
    """Run gitops.platform.<name> once, the way Ansible hands it its arguments."""
    home = home or tmp_path / "home"
    home.mkdir(exist_ok=True)
    args_file = tmp_path / f"{name}-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    module = f"ansible_collections.gitops.platform.plugins.modules.{name}"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", module, str(args_file)], env=clean_env(home, env),
                          capture_output=True, text=True, timeout=timeout, check=False, cwd=tmp_path)
    seconds = time.monotonic() - started
    try:
        data = json.loads(done.stdout[done.stdout.index("{"):])
    except ValueError:
        data = {}
    return Result(done.returncode, data, seconds, done.stdout + done.stderr)


def promote(tmp_path: Path, repo: str, tag: str = "1.1.0", **args) -> Result:
    env = args.pop("env", None)
    home = args.pop("home", None)
    return run_module("image_tag_promote", {
        "repo": repo, "values_file": VALUES, "tag": tag, "retry_delay": 0.01, **args}, tmp_path, env, home)


def tag_of(text: str) -> str:
    line = next(line for line in text.splitlines() if line.strip().startswith("tag:"))
    return json.loads(line.split(":", 1)[1].split("#")[0].strip())


def change_remote(remote: Remote, tmp_path: Path, change, message: str = "Change",
                  ref: str = "refs/heads/main") -> str:
    """Commit `change(worktree)` on top of main and push it to `ref`; returns the commit."""
    work = tmp_path / f"work-{time.monotonic_ns()}"
    git("clone", "--quiet", str(remote.path), str(work))
    change(work)
    git("add", "-A", cwd=work)
    git("-c", "user.name=other", "-c", "user.email=other@localhost", "commit", "--quiet", "-m", message, cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{ref}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def install_hook(repo: Path, name: str, body: str) -> None:
    hook = repo / "hooks" / name
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(0o755)


# --- 1. Timeouts -------------------------------------------------------------------------------------------------

@contextmanager
def silent_server(lifetime: float = 30.0):
    """A loopback TCP server that accepts connections and never says a word; it stops by itself."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + lifetime
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue
        for conn in held:
            conn.close()
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/gitops.git", held
    finally:
        stop.set()
        thread.join(5)


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("image_tag_promote", {"tag": "1.1.0"}),
        ("image_tag_history", {}),
    ],
)
def test_a_git_server_that_never_answers_times_out(module, args, tmp_path):
    with silent_server() as (url, held):
        result = run_module(module, {"repo": url, "values_file": VALUES, "git_timeout": 3, **args}, tmp_path)
        assert held, "git never connected"
    assert result.rc != 0, result.output
    assert result.seconds < 20, result.seconds
    assert "timed out after 3 seconds" in result.msg, result.output
    assert "git_timeout" in result.msg


def test_the_playbook_passes_the_git_timeout(tmp_path):
    with silent_server() as (url, _held):
        started = time.monotonic()
        run = playbook("promote.yml", {"image_tag": "1.1.0", "gitops_repo": url, "image_promotion_git_timeout": 3})
        seconds = time.monotonic() - started
    assert run.rc != 0
    assert "timed out after 3 seconds" in " ".join(run.output.split()), run.output
    assert seconds < 60


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("http.lowspeedlimit", "1000"),
        ("http.lowspeedtime", "30"),
        ("core.hookspath", "/dev/null"),
        ("credential.helper", ""),
        ("protocol.ext.allow", "never"),
    ],
)
def test_every_git_command_carries_the_safety_settings(key, value, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[http]\n\tlowSpeedLimit = 1\n[user]\n\tname = someone\n")
    env = clean_env(home)
    rc, out, err = git_remote.git_runner(10, env)(["git", "config", "--show-scope", "--get-all", key], str(tmp_path))
    assert rc == 0, err
    assert out.splitlines() == [f"command\t{value}"]
    rc, out, _ = git_remote.git_runner(10, env)(["git", "config", "--show-scope", "--list"], str(tmp_path))
    assert {line.split("\t")[0] for line in out.splitlines()} == {"command"}


# --- 2. The user's and the system's git configuration plays no part ---------------------------------------------

HOOKS = ("post-checkout", "pre-commit", "post-commit", "pre-push", "reference-transaction", "post-merge")


def hostile_hooks(where: Path, ran: Path) -> Path:
    """A hooks directory whose every hook records that it ran, then fails."""
    where.mkdir(parents=True, exist_ok=True)
    for name in HOOKS:
        hook = where / name
        hook.write_text(f'#!/bin/sh\necho "{name}" >> "{ran}"\nexit 1\n')
        hook.chmod(0o755)
    return where


def global_insteadof(home, remote, ran, url):
    (home / ".gitconfig").write_text(f'[url "{home}/elsewhere.git"]\n\tinsteadOf = {url}\n')
    return {}


def global_hooks(home, remote, ran, url):
    hooks = hostile_hooks(home / "hooks", ran)
    (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
    return {}


def xdg_hooks(home, remote, ran, url):
    hooks = hostile_hooks(home / "hooks", ran)
    (home / "xdg" / "git").mkdir(parents=True)
    (home / "xdg" / "git" / "config").write_text(f"[core]\n\thooksPath = {hooks}\n")
    return {"XDG_CONFIG_HOME": str(home / "xdg")}


def system_config(home, remote, ran, url):
    (home / "system.gitconfig").write_text(f'[url "{home}/elsewhere.git"]\n\tinsteadOf = {url}\n')
    return {"GIT_CONFIG_SYSTEM": str(home / "system.gitconfig")}


def config_in_environment(home, remote, ran, url):
    hooks = hostile_hooks(home / "hooks", ran)
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(hooks)}


def credential_helper(home, remote, ran, url):
    (home / ".gitconfig").write_text(
        f'[credential]\n\thelper = "!f() {{ echo \\"helper $1\\" >> {ran}; }}; f"\n')
    return {}


def attributes_file(home, remote, ran, url):
    (home / ".gitconfig").write_text(
        f'[core]\n\tattributesFile = {home}/attributes\n[filter "spy"]\n\tclean = "echo clean >> {ran}; cat"\n'
        f'\tsmudge = "echo smudge >> {ran}; cat"\n')
    (home / "attributes").write_text("*.yaml filter=spy\n")
    return {}


@pytest.mark.parametrize(
    ("setup", "over_http"),
    [
        (global_insteadof, False),
        (global_hooks, False),
        (xdg_hooks, False),
        (system_config, False),
        (config_in_environment, False),
        (credential_helper, True),
        (attributes_file, False),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_the_users_git_configuration_plays_no_part(setup, over_http, remote, tmp_path, request):
    home = tmp_path / "home"
    home.mkdir()
    ran = tmp_path / "ran.log"
    args = {}
    url = str(remote.path)
    if over_http:
        server = request.getfixturevalue("http_remote")
        url = server.url
        args = {"git_username": server.username, "git_password": server.password}
    env = setup(home, remote, ran, url)
    result = promote(tmp_path, url, "1.2.0", home=home, env=env, **args)
    assert result.rc == 0, result.output
    assert result.data["changed"] is True
    assert tag_of(remote.show(VALUES)) == "1.2.0"
    assert remote.head() == result.data["commit"]
    assert not ran.exists(), ran.read_text()


# --- 3. The values file stays inside the clone --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("values_file", "words"),
    [
        ("/etc/hostname", "absolute"),
        ("../gitops.git/config", "'..'"),
        ("helm/../../../x.yaml", "'..'"),
        (".git/config", ".git"),
    ],
)
def test_a_values_file_outside_the_repository_is_refused_before_cloning(values_file, words, tmp_path):
    # The repository does not exist: a refusal that names the path proves nothing was cloned first.
    result = promote(tmp_path, str(tmp_path / "missing.git"), values_file=values_file)
    assert result.rc != 0
    assert "Refusing to promote" in result.msg, result.output
    assert words in result.msg
    assert "Nothing was changed" in result.msg
    assert "could not clone" not in result.msg


def test_history_refuses_the_same_paths(tmp_path):
    result = run_module("image_tag_history", {"repo": str(tmp_path / "missing.git"), "values_file": "../x.yaml"},
                        tmp_path)
    assert result.rc != 0
    assert "'..'" in result.msg and "could not clone" not in result.msg


OUTSIDE_TEXT = 'image:\n  tag: "0.1.0"  # OUTSIDE-SENTINEL\n'


def absolute_link(work, outside):
    (work / VALUES).unlink()
    (work / VALUES).symlink_to(outside / "values.yaml")
    return VALUES


def climbing_link(work, outside):
    (work / VALUES).unlink()
    (work / VALUES).symlink_to("../" * 30 + str(outside / "values.yaml").lstrip("/"))
    return VALUES


def directory_link(work, outside):
    (work / "helm" / "linked").symlink_to(outside)
    return "helm/linked/values.yaml"


def etc_link(work, outside):
    (work / "helm" / "etc").symlink_to("/etc")
    return "helm/etc/hostname"


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("link", [absolute_link, climbing_link, directory_link, etc_link],
                         ids=lambda f: f.__name__)
def test_a_symlink_out_of_the_clone_is_refused(link, check_mode, remote, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "values.yaml").write_text(OUTSIDE_TEXT)
    chosen = []
    change_remote(remote, tmp_path, lambda work: chosen.append(link(work, outside)), "Add a symlink")
    head = remote.head()
    result = promote(tmp_path, str(remote.path), values_file=chosen[0], _ansible_check_mode=check_mode)
    assert result.rc != 0, result.output
    assert "outside the repository" in result.msg, result.output
    assert "Nothing was changed" in result.msg
    assert "OUTSIDE-SENTINEL" not in result.output
    assert (outside / "values.yaml").read_text() == OUTSIDE_TEXT
    assert remote.head() == head


def test_a_symlink_to_another_file_of_the_repository_is_refused(remote, tmp_path):
    def link(work):
        (work / STAGING).unlink()
        (work / STAGING).symlink_to("values.yaml")
    change_remote(remote, tmp_path, link, "Staging follows production")
    head = remote.head()
    result = promote(tmp_path, str(remote.path), values_file=STAGING)
    assert result.rc != 0
    assert "symlink" in result.msg and "values.yaml" in result.msg, result.output
    assert "Nothing was changed" in result.msg
    assert remote.head() == head


# --- 4. Branch and repository arguments cannot become git options ---------------------------------------------

@pytest.mark.parametrize("module", ["image_tag_promote", "image_tag_history"])
@pytest.mark.parametrize("branch", ["-x", "--upload-pack=touch x", "a..b", "main branch", "a~1", "x:y", "a\nb", "HEAD"])
def test_a_bad_branch_name_is_refused_before_cloning(module, branch, tmp_path):
    args = {"repo": str(tmp_path / "missing.git"), "values_file": VALUES, "branch": branch}
    if module == "image_tag_promote":
        args["tag"] = "1.1.0"
    result = run_module(module, args, tmp_path)
    assert result.rc != 0
    assert "not a valid branch name" in result.msg, result.output
    assert "could not clone" not in result.msg
    if module == "image_tag_promote":
        assert "Nothing was changed" in result.msg


@pytest.mark.parametrize(
    ("repo", "gitconfig", "words"),
    [
        ("--upload-pack=touch {marker}", "", "repository '--upload-pack=touch {marker}' does not exist"),
        ("-u{marker}", "", "repository '-u{marker}' does not exist"),
        ("ext::sh -c touch% {marker}", "", "transport 'ext' not allowed"),
        ("ext::sh -c touch% {marker}", '[protocol "ext"]\n\tallow = always\n', "transport 'ext' not allowed"),
    ],
)
def test_a_repository_that_looks_like_an_option_stays_a_repository(repo, gitconfig, words, tmp_path):
    marker = tmp_path / "marker"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(gitconfig)
    result = promote(tmp_path, repo.format(marker=marker), home=home)
    assert result.rc != 0
    assert words.format(marker=marker) in result.msg, result.output
    assert not marker.exists()


# --- 5. Trailer values cannot add trailers -------------------------------------------------------------------------

def test_values_cannot_add_a_trailer_to_the_real_commit(remote, tmp_path):
    result = promote(tmp_path, str(remote.path), "1.3.0",
                     environment="staging\nApproved-By: mallory",
                     source_commit="064193f\nApproved-By: mallory",
                     ci_run_url="https://ci.example.com/runs/1\r\nApproved-By: mallory",
                     reason="urgent\n\nApproved-By: mallory")
    assert result.rc == 0, result.output
    message = remote.message()
    parsed = subprocess.run(["git", "interpret-trailers", "--parse"], input=message, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    keys = [line.split(":", 1)[0] for line in parsed]
    assert "Approved-By" not in keys, parsed
    assert keys == ["Action", "Promoted-From", "Promoted-To", "Values-File", "Environment", "Source-Commit", "CI-Run"]
    assert git("log", "-1", "--format=%(trailers:key=Approved-By)", "main", cwd=remote.path).strip() == ""
    assert not any(line.startswith("Approved-By") for line in message.splitlines())


# --- 6. A hook that declines the push is the answer, not a race -------------------------------------------------

@pytest.mark.parametrize(
    ("hook", "declined"),
    [
        ("pre-receive", "pre-receive hook declined"),
        ("update", "hook declined"),
    ],
)
def test_a_declining_hook_fails_at_once_with_its_words(hook, declined, remote, tmp_path):
    calls = tmp_path / "hook-calls"
    install_hook(remote.path, hook,
                 f'echo call >> "{calls}"\n'
                 'echo "policy: promotions to main need an approved change request" >&2\n'
                 'echo "see https://wiki.example.com/promote" >&2\nexit 1\n')
    head = remote.head()
    result = promote(tmp_path, str(remote.path), max_attempts=20, retry_delay=0.5)
    assert result.rc != 0
    assert calls.read_text().count("call") == 1
    assert declined in result.msg, result.output
    assert "remote: policy: promotions to main need an approved change request" in result.msg
    assert "remote: see https://wiki.example.com/promote" in result.msg
    assert "not retried" in result.msg
    assert "kept moving" not in result.msg
    assert remote.head() == head


# --- 7. Losing a race to the same tag reports the commit that landed ------------------------------------------

def test_losing_a_race_to_the_same_tag_returns_the_commit_that_landed(remote, tmp_path):
    def same_tag(work):
        path = work / VALUES
        path.write_text(path.read_text().replace('tag: "0.1.0"', 'tag: "7.7.7"'))
    theirs = change_remote(remote, tmp_path, same_tag, "Promote demo-flask-app to 7.7.7", "refs/other/concurrent")
    # Moves main to their commit while our push is being received, exactly once: our push then loses.
    install_hook(remote.path, "update",
                 'if [ ! -e "$GIT_DIR/raced" ]; then\n  touch "$GIT_DIR/raced"\n'
                 "  git update-ref refs/heads/main refs/other/concurrent\nfi\nexit 0\n")
    result = promote(tmp_path, str(remote.path), "7.7.7")
    assert result.rc == 0, result.output
    assert (remote.path / "raced").exists()
    assert result.data["attempts"] == 2
    assert result.data["changed"] is False
    assert result.data["commit"] == theirs == remote.head()
    git("merge-base", "--is-ancestor", result.data["commit"], "main", cwd=remote.path)
    assert tag_of(remote.show(VALUES)) == "7.7.7"
    assert "diff" not in result.data
