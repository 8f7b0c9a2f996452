# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""An htpasswd file of bcrypt lines, rewritten only when an account or its password changed."""

from __future__ import annotations

import re

try:
    import bcrypt

    HAS_BCRYPT = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_BCRYPT = False

# htpasswd separates name and hash with ':'; a name with ':' or white space cannot be stored.
_VALID_NAME = re.compile(r"^[^:\s]+$")
# bcrypt uses the first 72 bytes only: a longer password would verify with any suffix.
MAX_PASSWORD_BYTES = 72


class HtpasswdError(Exception):
    """An account that cannot be stored; the message names the account, never the password."""


def _matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash (another scheme, or a damaged line)
        return False


def check_accounts(accounts: list[dict]) -> None:
    names = [account.get("name") or "" for account in accounts]
    for name in names:
        if not _VALID_NAME.match(name):
            raise HtpasswdError(f"account name {name!r} is empty or has ':' or white space")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise HtpasswdError(f"account names appear twice: {', '.join(duplicates)}")
    for account in accounts:
        password = account.get("password") or ""
        if not password:
            raise HtpasswdError(f"account {account['name']} has an empty password")
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            raise HtpasswdError(f"the password of {account['name']} is longer than bcrypt's {MAX_PASSWORD_BYTES} bytes")


def parse(content: str) -> dict[str, str]:
    """Name -> hash of every `name:hash` line."""
    entries = {}
    for line in content.splitlines():
        name, sep, hashed = line.strip().partition(":")
        if sep and name:
            entries[name] = hashed
    return entries


def render(current: str, accounts: list[dict], cost: int) -> tuple[str, list[str]]:
    """The file's new content and the names whose line was (re)hashed.

    An account whose password still verifies keeps its line: bcrypt salts each hash, so hashing again
    would change the file (and restart whatever reads it) on every run. Accounts not listed are dropped.
    """
    check_accounts(accounts)
    existing = parse(current)
    lines, rehashed = [], []
    for account in accounts:
        name, password = account["name"], account["password"]
        hashed = existing.get(name, "")
        if not (hashed and _matches(password, hashed)):
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()
            rehashed.append(name)
        lines.append(f"{name}:{hashed}")
    return "".join(line + "\n" for line in lines), rehashed
