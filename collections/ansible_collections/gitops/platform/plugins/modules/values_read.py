#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: values_read
short_description: Read dotted keys of several YAML files from one branch of the gitops repository
description:
  - Makes one shallow clone of a branch of a gitops repository and reads each of O(keys) (dotted paths such as
    C(image.tag)) from each of O(files), for example the image tag and the promotion pin of every environment.
  - A file that is not in the repository, or a key that is not in a file, gives null for it; that is not a
    failure. A file that is there but cannot be read (not valid YAML, a symlink, a scalar where the path needs a
    mapping) gives null for its keys and the reason under RV(errors).
  - Fails, with one message, only when the repository cannot be read at all (not reachable, wrong credentials,
    no such branch, timeout) or a path in O(files) is not a plain relative path.
  - Reads only; never changes the repository.
version_added: "0.3.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - gitops.platform.gitops_repo.git
  - ansible.builtin.action_common_attributes
  - gitops.platform.gitops_repo.read_only
options:
  files:
    description:
      - Paths of the files to read, relative to the repository's root.
      - Absolute paths, C(.), C(..) and C(.git) components are refused before cloning.
    type: list
    elements: str
    required: true
  keys:
    description: Dotted paths of the keys to read from every file of O(files).
    type: list
    elements: str
    default: [image.tag]
seealso:
  - module: gitops.platform.image_tag_history
"""

EXAMPLES = r"""
- name: Read every environment's tag and pin
  gitops.platform.values_read:
    repo: https://git.example.com/platform/gitops.git
    git_username: "{{ gitops_user }}"
    git_password: "{{ gitops_token }}"
    files:
      - helm/demo-flask-app/values-dev.yaml
      - helm/demo-flask-app/values-production.yaml
    keys: [image.tag, promotion.pin]
  register: desired

- name: Show production's tag
  ansible.builtin.debug:
    msg: "{{ desired.files['helm/demo-flask-app/values-production.yaml']['image.tag'] }} at {{ desired.commit[:12] }}"
"""

RETURN = r"""
files:
  description: Each file of O(files), with each key of O(keys) and its value; null for a key or file that is not there.
  returned: success
  type: dict
  sample: {"helm/demo-flask-app/values-dev.yaml": {"image.tag": "0.2.0", "promotion.pin": ""},
           "helm/demo-flask-app/values-qa.yaml": {"image.tag": null, "promotion.pin": null}}
commit:
  description: The commit read, the head of O(branch).
  returned: success
  type: str
  sample: 5f0c2e1a9b3d7e6f0a1b2c3d4e5f60718293a4b5
missing:
  description: The files of O(files) that are not in the repository.
  returned: success
  type: list
  elements: str
  sample: [helm/demo-flask-app/values-qa.yaml]
errors:
  description: Files that are in the repository but could not be read, with the reason.
  returned: success
  type: dict
  sample: {"helm/demo-flask-app/values-dev.yaml": "the file is not valid YAML: ..."}
reason:
  description: Why the repository could not be read - the message without its leading words.
  returned: failure
  type: str
  sample: "could not clone http://127.0.0.1:8418/gitops.git (branch main): fatal: ... Check that the git server is reachable and the credentials are right"
"""

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.gitops.platform.plugins.module_utils.git_remote import (
    GitError,
    UnsafePath,
    branch_error,
    gitops_repo_argument_spec,
    module_clone,
    path_in_clone,
    repo_path_error,
)
from ansible_collections.gitops.platform.plugins.module_utils.values_file import (
    HAS_RUAMEL,
    KeyMissing,
    ValuesFileError,
    get_scalar,
)


def argument_spec() -> dict:
    """The gitops_repo options but the single values file and key, and the files and keys to read instead."""
    spec = gitops_repo_argument_spec()
    del spec["values_file"], spec["key"]
    spec.update(
        files=dict(type="list", elements="str", required=True),
        keys=dict(type="list", elements="str", default=["image.tag"], no_log=False),
    )
    return spec


def request_error(params: dict) -> str:
    """What is wrong with the options before anything is cloned, or ""."""
    if params.get("git_timeout") is not None and params["git_timeout"] <= 0:
        return "git_timeout must be a positive number of seconds"
    if not params["keys"] or any(not key or key.startswith(".") or key.endswith(".") or ".." in key
                                 for key in params["keys"]):
        return f"keys must be dotted key paths such as image.tag, got {params['keys']}"
    return branch_error(params["branch"]) or next(filter(None, map(repo_path_error, params["files"])), "")


def read_file(workdir: str, path: str, keys: list[str]) -> tuple[dict[str, Any], str | None, bool]:
    """({key: value or None}, why the file could not be read or None, whether it is missing) of one file."""
    values: dict[str, Any] = dict.fromkeys(keys)
    try:
        full = path_in_clone(workdir, path)
    except UnsafePath as exc:
        return values, str(exc), False
    if not os.path.isfile(full):
        return values, None, True
    try:
        with open(full, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return values, f"cannot read it: {exc}", False
    problem = None
    for key in keys:
        try:
            values[key] = get_scalar(text, key)
        except KeyMissing:
            continue
        except ValuesFileError as exc:
            problem = problem or str(exc)
    return values, problem, False


def read_files(workdir: str, files: list[str], keys: list[str]) -> dict:
    """{files, missing, errors} for `files` in the work tree at `workdir`."""
    out: dict = {"files": {}, "missing": [], "errors": {}}
    for path in dict.fromkeys(files):
        values, problem, missing = read_file(workdir, path, keys)
        out["files"][path] = values
        if missing:
            out["missing"].append(path)
        if problem:
            out["errors"][path] = problem
    return out


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"))
    params = module.params
    problem = request_error(params)
    if problem:
        module.fail_json(msg=f"Could not read the values files: {problem}", reason=problem)

    try:
        with module_clone(module, "gitops-values-") as git:
            git.clone(depth=1)
            commit = git.head()
            found = read_files(git.workdir, params["files"], params["keys"])
    except GitError as exc:
        module.fail_json(msg=f"Could not read the values files: {exc}", reason=str(exc))

    module.exit_json(changed=False, commit=commit, **found)


if __name__ == "__main__":
    main()
