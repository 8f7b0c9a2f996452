"""gitops.platform.values_read's reading of a work tree, and its checks before cloning (tables)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ansible_collections.gitops.platform.plugins.modules.values_read import argument_spec, read_files, request_error

KEYS = ["image.tag", "promotion.pin"]

# (what a test calls it, the file's text or None when absent, expected values, expected problem)
FILES = [
    ("both", 'image:\n  tag: "0.2.0"\npromotion:\n  pin: "alice: broke"\n', {"image.tag": "0.2.0", "promotion.pin": "alice: broke"},
     None),
    ("key-missing", 'image:\n  tag: "0.2.0"\n', {"image.tag": "0.2.0", "promotion.pin": None}, None),
    ("parent-missing", "replicaCount: 1\n", {"image.tag": None, "promotion.pin": None}, None),
    ("null-and-empty", "image:\n  tag:\npromotion:\n  pin: ''\n", {"image.tag": None, "promotion.pin": ""}, None),
    ("number", "image:\n  tag: 2\n", {"image.tag": 2, "promotion.pin": None}, None),
    ("not-a-mapping", "image: ghcr.io/acme/demo:0.2.0\n", {"image.tag": None, "promotion.pin": None},
     "'image' is not a mapping, so it has no key 'tag'"),
    ("empty-file", "", {"image.tag": None, "promotion.pin": None}, "'the document' is not a mapping"),
    ("not-yaml", "image: [\n", {"image.tag": None, "promotion.pin": None}, "the file is not valid YAML"),
]


@pytest.mark.parametrize(("text", "expected", "problem"), [case[1:] for case in FILES], ids=[case[0] for case in FILES])
def test_read_one_file(tmp_path: Path, text: str, expected: dict, problem: str | None) -> None:
    (tmp_path / "values.yaml").write_text(text)
    found = read_files(str(tmp_path), ["values.yaml"], KEYS)
    assert found["files"] == {"values.yaml": expected} and found["missing"] == []
    if problem:
        assert problem in found["errors"]["values.yaml"]
    else:
        assert found["errors"] == {}


def test_a_missing_file_gives_nulls(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("image:\n  tag: x\n")
    found = read_files(str(tmp_path), ["a.yaml", "b/c.yaml", "a.yaml"], ["image.tag"])
    assert found == {"files": {"a.yaml": {"image.tag": "x"}, "b/c.yaml": {"image.tag": None}}, "missing": ["b/c.yaml"],
                     "errors": {}}


def test_a_directory_is_missing_and_a_symlink_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "real.yaml").write_text("image:\n  tag: x\n")
    os.symlink("real.yaml", tmp_path / "link.yaml")
    found = read_files(str(tmp_path), ["dir.yaml", "link.yaml"], ["image.tag"])
    assert found["files"] == {"dir.yaml": {"image.tag": None}, "link.yaml": {"image.tag": None}}
    assert found["missing"] == ["dir.yaml"]
    assert "link.yaml is a symlink" in found["errors"]["link.yaml"]


PARAMS = {"branch": "main", "files": ["helm/demo/values.yaml"], "keys": ["image.tag"], "git_timeout": 120}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ""),
        ({"git_timeout": 0}, "git_timeout must be a positive number of seconds"),
        ({"keys": []}, "keys must be dotted key paths such as image.tag, got []"),
        ({"keys": ["image..tag"]}, "keys must be dotted key paths"),
        ({"keys": [".image"]}, "keys must be dotted key paths"),
        ({"branch": "-x"}, '"-x" is not a valid branch name'),
        ({"files": ["ok.yaml", "../outside.yaml"]}, "has a '..' component"),
        ({"files": ["/etc/passwd"]}, "is absolute"),
        ({"files": [".git/config"]}, "is inside .git"),
    ],
)
def test_request_error(changes: dict, expected: str) -> None:
    problem = request_error(PARAMS | changes)
    assert (problem == "") if not expected else (expected in problem), problem


def test_argument_spec_is_the_gitops_repo_one_with_files_and_keys() -> None:
    spec = argument_spec()
    assert set(spec) == {"repo", "git_username", "git_password", "branch", "git_timeout", "files", "keys"}
    assert spec["git_password"]["no_log"] is True and spec["files"]["required"] is True
    assert spec["keys"]["default"] == ["image.tag"]
