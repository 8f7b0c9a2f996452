# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Options shared by the modules that work on a values file in a gitops repository."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - git on the controller
  - ruamel.yaml
options:
  repo:
    description: The gitops repository, as a git URL or a local path.
    type: str
    required: true
  git_username:
    description:
      - User for an HTTP(S) gitops repository. Prefer this and O(git_password) over credentials in
        the URL, which would show up in logs.
    type: str
    default: ""
  git_password:
    description: Password or token for O(git_username); handed to git through an askpass helper, never on a command line.
    type: str
    default: ""
  branch:
    description: The branch to work on.
    type: str
    default: main
  values_file:
    description: Path of the values file inside the repository.
    type: str
    required: true
  key:
    description: Dotted path of the scalar (the image tag) in the values file.
    type: str
    default: image.tag
"""
