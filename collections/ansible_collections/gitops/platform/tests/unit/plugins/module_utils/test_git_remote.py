from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.git_remote import (
    GitClone,
    GitError,
    PushRejected,
    last_lines,
    redact,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:tok@git.example.com/a.git", "https://***@git.example.com/a.git"),
        ("http://tok@127.0.0.1:8418/a.git", "http://***@127.0.0.1:8418/a.git"),
        ("ssh://git@host/a.git", "ssh://***@host/a.git"),
        ("git@host:a.git", "git@host:a.git"),
        ("/srv/git/a.git", "/srv/git/a.git"),
        ("fatal: could not read from 'https://u:p@h/x'", "fatal: could not read from 'https://***@h/x'"),
    ],
)
def test_redact_removes_credentials(text, expected):
    assert redact(text) == expected


def test_last_lines_keeps_the_end():
    assert last_lines("a\n\nb\nc\nd\n", 2) == "c | d"


class FakeGit:
    """Stands in for the git CLI only to feed push outcomes; real git is tested in tests/."""

    def __init__(self, rc, out="", err=""):
        self.answer = (rc, out, err)

    def __call__(self, argv, cwd):
        return self.answer


@pytest.mark.parametrize(
    ("err", "error"),
    [
        (" ! [rejected]        HEAD -> main (fetch first)", PushRejected),
        (" ! [remote rejected] HEAD -> main (failed to update ref)", PushRejected),
        ("error: cannot lock ref 'refs/heads/main': is at 1 but expected 2", PushRejected),
        ("fatal: unable to access 'http://h/': Failed to connect", GitError),
        ("fatal: Authentication failed for 'http://h/'", GitError),
    ],
)
def test_push_failures_are_classified(err, error):
    clone = GitClone(FakeGit(1, "", err), "http://h/a.git", "main", "/tmp/x", "n", "e")
    with pytest.raises(error) as raised:
        clone.push()
    assert raised.type is error
