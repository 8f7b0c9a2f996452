"""What the git wrapper refuses before running git, and how it reads a refused push.

Branch names are checked against real `git check-ref-format --branch`; everything else is a table.
"""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.gitops.platform.plugins.module_utils import git_remote
from ansible_collections.gitops.platform.plugins.module_utils.git_remote import GitClone, GitError, PushRejected

# name, accepted by us. Every row but the marked ones must agree with git itself.
BRANCHES = [
    ("main", True),
    ("release/1.2", True),
    ("feature/x-y_z", True),
    ("v1.0", True),
    ("x/-y", True),
    ("a@b", True),
    ("-x", False),
    ("--upload-pack=touch", False),
    ("a..b", False),
    ("a b", False),
    ("a~1", False),
    ("a^", False),
    ("a:b", False),
    ("a?", False),
    ("a*", False),
    ("a[b", False),
    ("a\\b", False),
    (".hidden", False),
    ("a/.b", False),
    ("a.lock", False),
    ("a/b.lock/c", False),
    ("a/", False),
    ("/a", False),
    ("a//b", False),
    ("a.", False),
    ("a@{1}", False),
    ("@{-1}", False),
    ("HEAD", False),
    ("", False),
    ("a\tb", False),
    ("a\nb", False),
    ("a\x7fb", False),
]
STRICTER_THAN_GIT = {"@"}  # git takes "@" as a branch name; it also means HEAD, so we refuse it


@pytest.mark.parametrize(("name", "accepted"), BRANCHES + [("@", False)])
def test_branch_names_follow_git_rules(name, accepted, tmp_path):
    problem = git_remote.branch_error(name)
    assert (problem == "") is accepted, problem
    if not accepted:
        assert "branch" in problem
    if name not in STRICTER_THAN_GIT:
        # Outside any repository, so that git does not expand @{-1} to a branch of ours.
        git = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True, check=False,
                             cwd=tmp_path)
        assert (git.returncode == 0) is accepted


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("helm/demo-flask-app/values.yaml", ""),
        ("values.yaml", ""),
        ("helm/app/values-staging.yaml", ""),
        ("", "is empty"),
        ("/etc/passwd", "absolute"),
        ("//etc/passwd", "absolute"),
        ("../values.yaml", "'..'"),
        ("helm/../../x.yaml", "'..'"),
        ("helm/..", "'..'"),
        ("helm/./values.yaml", "'.'"),
        ("helm//values.yaml", "empty component"),
        ("helm/values.yaml/", "empty component"),
        (".git/config", ".git"),
        ("helm/.GIT/x", ".git"),
        ("helm/val\nues.yaml", "control character"),
        ("helm/val\x00ues.yaml", "control character"),
    ],
)
def test_values_file_must_be_a_plain_path_inside_the_repository(path, problem):
    found = git_remote.repo_path_error(path)
    if problem:
        assert problem in found
    else:
        assert found == ""


class FakeGit:
    """Feeds one push outcome, as git prints it, to GitClone.push."""

    def __init__(self, rc, out="", err=""):
        self.answer = (rc, out, err)

    def __call__(self, argv, cwd):
        return self.answer


PORCELAIN = "To /srv/git/gitops.git\n!\tHEAD:refs/heads/main\t{summary}\nDone\n"


@pytest.mark.parametrize(
    ("summary", "err", "error", "words"),
    [
        ("[rejected] (fetch first)", "error: failed to push some refs", PushRejected, ["fetch first"]),
        ("[rejected] (non-fast-forward)", "", PushRejected, ["non-fast-forward"]),
        ("[remote rejected] (failed to update ref)",
         "remote: error: cannot lock ref 'refs/heads/main': is at 1 but expected 2", PushRejected,
         ["failed to update ref"]),
        ("[remote rejected] (pre-receive hook declined)",
         "remote: policy: main needs an approved review        \nremote: ask #platform\n"
         "error: failed to push some refs to '/srv/git/gitops.git'",
         "PushRefused",
         ["pre-receive hook declined", "remote: policy: main needs an approved review", "remote: ask #platform",
          "not retried"]),
        ("[remote rejected] (update hook declined)", "remote: no", "PushRefused",
         ["update hook declined", "remote: no"]),
        ("[remote rejected] (protected branch hook declined)", "", "PushRefused", ["protected branch hook declined"]),
        ("[remote rejected] (permission denied)", "", "PushRefused", ["permission denied"]),
        ("[remote rejected] (shallow update not allowed)", "", "PushRefused", ["shallow update not allowed"]),
    ],
)
def test_porcelain_push_failures_are_classified(summary, err, error, words):
    clone = GitClone(FakeGit(1, PORCELAIN.format(summary=summary), err), "/srv/git/gitops.git", "main", "/tmp/x",
                     "n", "e")
    with pytest.raises(GitError) as raised:
        clone.push()
    assert raised.type is (getattr(git_remote, error) if isinstance(error, str) else error)
    for word in words:
        assert word in str(raised.value)


def test_hook_message_keeps_many_lines_but_not_secrets():
    remote_lines = "".join(f"remote: line {n}\n" for n in range(12))
    err = remote_lines + "error: failed to push some refs to 'https://u:tok@git.example.com/a.git'"
    clone = GitClone(FakeGit(1, PORCELAIN.format(summary="[remote rejected] (pre-receive hook declined)"), err),
                     "https://u:tok@git.example.com/a.git", "main", "/tmp/x", "n", "e")
    with pytest.raises(GitError) as raised:
        clone.push()
    assert type(raised.value).__name__ == "PushRefused"
    message = str(raised.value)
    assert "remote: line 0" in message and "remote: line 11" in message
    assert "tok" not in message
