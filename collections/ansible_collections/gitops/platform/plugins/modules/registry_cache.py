#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: registry_cache
short_description: Keep pushed images in a directory as the registry stores them, and put them back without docker push
description:
  - With O(state=save), reads each image of O(images) from the registry (its manifest, its config and its
    compressed layers) into O(cache_dir), keyed by the image ID. An image whose entry is complete is not read again.
  - With O(state=restore), puts each image that O(cache_dir) holds back into the registry under its repository
    and tag, uploading only the blobs the registry lacks. Layers are uploaded as they were stored, so nothing is
    compressed again (C(docker push) compresses every layer, which is most of its time). Images the cache does
    not hold are returned in RV(missing), for C(docker push).
  - The registry checks each uploaded blob against its digest; the cache checks each blob it reads.
  - Speaks the distribution API v2 with HTTP basic auth, or anonymously.
version_added: "0.4.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description: C(save) copies from the registry into the cache, C(restore) from the cache into the registry.
    type: str
    choices: [save, restore]
    required: true
  registry_url:
    description: The registry's address, such as C(http://127.0.0.1:5001).
    type: str
    required: true
  username:
    description: Account for HTTP basic auth; empty asks anonymously.
    type: str
    default: ""
  password:
    description: Its password.
    type: str
    default: ""
  cache_dir:
    description: The cache directory (created when missing).
    type: path
    required: true
  images:
    description: The images.
    type: list
    elements: dict
    required: true
    suboptions:
      repository:
        description: Path in the registry, such as C(argoproj/argocd).
        type: str
        required: true
      tag:
        description: Tag in the registry.
        type: str
        required: true
      id:
        description: The image ID (C(sha256:...), its config's digest), which keys the cache.
        type: str
        required: true
  timeout:
    description: Seconds each request may take.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Put the images back that the cache holds
  gitops.platform.registry_cache:
    state: restore
    registry_url: http://127.0.0.1:5001
    username: gitops
    password: "{{ registry_password }}"
    cache_dir: ~/.cache/gitops-platform/registry-cache
    images:
      - {repository: argoproj/argocd, tag: v3.1.9, id: "sha256:0f1e..."}
  register: restored

- name: Push the others
  ansible.builtin.command:
    argv: [docker, push, "127.0.0.1:5001/{{ item.repository }}:{{ item.tag }}"]
  loop: "{{ restored.missing }}"
  changed_when: true
"""

RETURN = r"""
done:
  description: C(repository:tag) of each image saved into the cache, or restored into the registry.
  returned: always
  type: list
  elements: str
missing:
  description: With O(state=restore), the images of O(images) (as given) that the cache does not hold.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gitops.platform.plugins.module_utils.registry_cache import CacheError, Registry, restore, save


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["save", "restore"], "required": True},
            "registry_url": {"type": "str", "required": True},
            "username": {"type": "str", "default": ""},
            "password": {"type": "str", "default": "", "no_log": True},
            "cache_dir": {"type": "path", "required": True},
            "images": {"type": "list", "elements": "dict", "required": True, "options": {
                "repository": {"type": "str", "required": True},
                "tag": {"type": "str", "required": True},
                "id": {"type": "str", "required": True},
            }},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    params = module.params
    registry = Registry(params["registry_url"], params["username"], params["password"], params["timeout"])
    copy = save if params["state"] == "save" else restore
    done, missing = [], []
    for image in params["images"]:
        name = f"{image['repository']}:{image['tag']}"
        try:
            if copy(registry, params["cache_dir"], image["repository"], image["tag"], image["id"], module.check_mode):
                done.append(name)
            elif params["state"] == "restore":
                missing.append(image)
        except (CacheError, OSError) as error:
            module.fail_json(msg=f"Could not {params['state']} {name}: {error}", done=done)
    module.exit_json(changed=bool(done), done=done, missing=missing)


if __name__ == "__main__":
    main()
