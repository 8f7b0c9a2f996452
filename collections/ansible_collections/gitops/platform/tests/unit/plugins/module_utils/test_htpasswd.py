from __future__ import annotations

import bcrypt
import pytest

from ansible_collections.gitops.platform.plugins.module_utils.htpasswd import HtpasswdError, parse, render

COST = 4  # the lowest bcrypt allows: these tests check lines, not strength


def _line(name: str, password: str) -> str:
    return f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=COST)).decode()}\n"


def test_new_file_gets_a_verifiable_line_per_account() -> None:
    content, rehashed = render("", [{"name": "push", "password": "p1"}, {"name": "pull", "password": "p2"}], COST)
    entries = parse(content)
    assert list(entries) == ["push", "pull"] and rehashed == ["push", "pull"]
    assert bcrypt.checkpw(b"p1", entries["push"].encode())
    assert bcrypt.checkpw(b"p2", entries["pull"].encode())
    assert entries["push"].startswith("$2b$04$")


def test_unchanged_accounts_keep_their_lines_byte_for_byte() -> None:
    current = _line("push", "p1") + _line("pull", "p2")
    content, rehashed = render(current, [{"name": "push", "password": "p1"}, {"name": "pull", "password": "p2"}], COST)
    assert content == current and rehashed == []


@pytest.mark.parametrize(
    ("accounts", "expected_names", "expected_rehashed"),
    [
        ([{"name": "push", "password": "other"}], ["push"], ["push"]),  # changed password
        ([{"name": "push", "password": "p1"}], ["push"], []),  # pull removed
        ([{"name": "push", "password": "p1"}, {"name": "ro", "password": "x"}], ["push", "ro"], ["ro"]),
    ],
)
def test_changes(accounts: list[dict], expected_names: list[str], expected_rehashed: list[str]) -> None:
    content, rehashed = render(_line("push", "p1") + _line("pull", "p2"), accounts, COST)
    assert list(parse(content)) == expected_names and rehashed == expected_rehashed


@pytest.mark.parametrize("damaged", ["push:not-a-hash\n", "push:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "push\n"])
def test_a_line_that_is_not_bcrypt_is_rewritten(damaged: str) -> None:
    content, rehashed = render(damaged, [{"name": "push", "password": "p1"}], COST)
    assert rehashed == ["push"] and bcrypt.checkpw(b"p1", parse(content)["push"].encode())


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ([{"name": "a:b", "password": "x"}], "has ':' or white space"),
        ([{"name": "a b", "password": "x"}], "has ':' or white space"),
        ([{"name": "", "password": "x"}], "is empty"),
        ([{"name": "a", "password": ""}], "empty password"),
        ([{"name": "a", "password": "x"}, {"name": "a", "password": "y"}], "appear twice: a"),
        ([{"name": "a", "password": "x" * 73}], "longer than bcrypt's 72 bytes"),
    ],
)
def test_refused_accounts_name_the_problem_not_the_password(accounts: list[dict], message: str) -> None:
    with pytest.raises(HtpasswdError, match=message) as raised:
        render("", accounts, COST)
    assert "x" * 5 not in str(raised.value)
