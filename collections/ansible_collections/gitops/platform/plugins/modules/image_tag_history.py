#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_tag_history
short_description: List the image tags a values file has had, from the gitops repository's history
description:
  - Clones one branch of a gitops repository and reads a scalar key (by default C(image.tag)) of a
    values file at every commit that touched the file.
  - Returns the distinct successive values, newest first, and the value before the current one,
    which is what a rollback sets again.
  - Reads only; never changes the repository.
version_added: "0.1.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - gitops.platform.gitops_repo.git
  - gitops.platform.gitops_repo
  - ansible.builtin.action_common_attributes
  - gitops.platform.gitops_repo.read_only
options:
  max_commits:
    description: How many commits that touched the file to read, newest first.
    type: int
    default: 100
"""

EXAMPLES = r"""
- name: Find the tag to roll back to
  gitops.platform.image_tag_history:
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values.yaml
  register: history

- name: Show it
  ansible.builtin.debug:
    msg: "current {{ history.current }}, previous {{ history.previous }}"
"""

RETURN = r"""
current:
  description: The value at the branch head.
  returned: success
  type: str
  sample: 064193f-33
previous:
  description:
    - The most recent value different from RV(current); null when there is none.
    - Values set by a commit that an automatic revert undid (its C(Reverts) trailer) are skipped.
  returned: success
  type: str
  sample: 064193f-32
history:
  description: Distinct successive values, newest first, each with the commit that set it.
  returned: success
  type: list
  elements: dict
  sample: [{"tag": "064193f-33", "commit": "5d1f0c3"}, {"tag": "064193f-32", "commit": "a1b2c3d"}]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.gitops.platform.plugins.module_utils.git_remote import (
    GitClone,
    GitError,
    git_request_error,
    gitops_repo_argument_spec,
    module_clone,
)
from ansible_collections.gitops.platform.plugins.module_utils.values_file import (
    HAS_RUAMEL,
    ValuesFileError,
    get_scalar,
)


def read_history(git: GitClone, values_file: str, key: str, max_commits: int) -> list[dict]:
    """Distinct successive values of `key`, newest first; commits where the key is absent are skipped, and so are
    commits an automatic revert undid (a release that never became healthy is not one to go back to)."""
    history: list[dict] = []
    reverted = git.reverted_commits(values_file)
    for commit in git.log_file(values_file)[:max_commits]:
        if commit in reverted:
            continue
        try:
            value = get_scalar(git.show(commit, values_file), key)
        except (GitError, ValuesFileError):
            continue  # the file was deleted or broken in that commit; not a tag to go back to
        if value is None:
            continue
        value = str(value)
        if history and history[-1]["tag"] == value:
            history[-1]["commit"] = commit  # the oldest commit of a run set the value
            continue
        history.append({"tag": value, "commit": commit})
    return history


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **gitops_repo_argument_spec(),
            max_commits=dict(type="int", default=100),
        ),
        supports_check_mode=True,
    )
    if not HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"))
    params = module.params
    problem = git_request_error(params)
    if problem:
        module.fail_json(msg=f"Could not read the tag history: {problem}")

    try:
        with module_clone(module, "gitops-history-") as git:
            git.clone(depth=params["max_commits"] * 4)
            history = read_history(git, params["values_file"], params["key"], params["max_commits"])
    except GitError as exc:
        module.fail_json(msg=f"Could not read the tag history: {exc}")

    if not history:
        module.fail_json(msg=f"{params['values_file']} has no '{params['key']}' in the history of {params['branch']}")
    module.exit_json(
        changed=False,
        current=history[0]["tag"],
        previous=history[1]["tag"] if len(history) > 1 else None,
        history=history,
    )


if __name__ == "__main__":
    main()
