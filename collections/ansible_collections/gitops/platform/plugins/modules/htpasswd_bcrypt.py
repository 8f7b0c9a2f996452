#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: htpasswd_bcrypt
short_description: Keep an htpasswd file of bcrypt accounts, as registries and web servers read it
description:
  - Writes one C(name:bcrypt-hash) line per account and nothing else; accounts not listed are removed.
  - An account whose password still verifies against its line keeps that line, so an unchanged run
    changes nothing (bcrypt salts each hash; hashing again would change the file every time).
  - Needs no C(htpasswd) binary on the host, only the C(bcrypt) Python package of the controller.
  - The bcrypt cost is a setting because a registry verifies the hash on every request; the
    C(htpasswd) tool's and passlib's defaults make each request slow.
  - Passwords are never logged or shown in diffs; the diff names the accounts whose line changed.
version_added: "0.2.0"
author: gitops platform maintainers (!UNKNOWN)
requirements:
  - bcrypt
options:
  path:
    description: The password file.
    type: path
    required: true
  accounts:
    description: Every account the file holds, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Account name, without C(:) or white space.
        type: str
        required: true
      password:
        description: Its password, at most 72 bytes (bcrypt ignores what follows).
        type: str
        required: true
  cost:
    description: bcrypt cost (log2 of the rounds) of new hashes.
    type: int
    default: 10
extends_documentation_fragment:
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff names the accounts whose line changes, never a password or hash.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Accounts of the local registry
  gitops.platform.htpasswd_bcrypt:
    path: /etc/registry/htpasswd
    accounts:
      - name: pusher
        password: "{{ registry_push_password }}"
      - name: puller
        password: "{{ registry_pull_password }}"
    cost: 10
    mode: "0600"
"""

RETURN = r"""
rehashed:
  description: Accounts whose line was written anew (new account or changed password).
  returned: success
  type: list
  elements: str
  sample: [puller]
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.gitops.platform.plugins.module_utils.htpasswd import (
    HAS_BCRYPT,
    HtpasswdError,
    parse,
    render,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            accounts=dict(
                type="list", elements="dict", required=True,
                options=dict(name=dict(type="str", required=True),
                             password=dict(type="str", required=True, no_log=True)),
            ),
            cost=dict(type="int", default=10),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    if not HAS_BCRYPT:
        module.fail_json(msg=missing_required_lib("bcrypt"))
    params = module.params
    if not 4 <= params["cost"] <= 17:
        module.fail_json(msg=f"cost must be 4-17 (a registry checks the hash on every request), not {params['cost']}")

    path = params["path"]
    current = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    try:
        content, rehashed = render(current, params["accounts"], params["cost"])
    except HtpasswdError as exc:
        module.fail_json(msg=f"Cannot write {path}: {exc}")

    changed = content != current
    result = {"changed": changed, "rehashed": rehashed}
    if changed:
        result["diff"] = {
            "before": "".join(f"{name}\n" for name in parse(current)),
            "after": "".join(f"{name}{' (new password)' if name in rehashed else ''}\n" for name in parse(content)),
            "before_header": f"{path} (accounts)", "after_header": f"{path} (accounts)",
        }
    if changed and not module.check_mode:
        directory = os.path.dirname(path) or "."
        temp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        # Created 0600 so that no moment exists when other accounts could read the hashes.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        # Not atomic_move: it would give a new file the umask's permissions before mode applies.
        os.replace(temp, path)
    file_args = module.load_file_common_arguments(params)
    if not module.check_mode or os.path.exists(path):
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
