# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Options shared by the modules that work on a gitops repository (GIT) and on one values file in it (the default)."""

from __future__ import annotations


class ModuleDocFragment:
    # gitops.platform.gitops_repo.git: the repository, its credentials and branch.
    GIT = r"""
requirements:
  - git 2.32 or later on the controller
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
    description: The branch to work on; must be a valid git branch name (checked before cloning).
    type: str
    default: main
  git_timeout:
    description:
      - Seconds any one git command may run before it is stopped and the module fails, so that a server
        that accepts the connection and then hangs cannot block the run.
      - Independently, git abandons a transfer slower than 1000 bytes per second for 30 seconds.
    type: int
    default: 120
notes:
  - Git runs without the user's and the system's git configuration (no global hooks, credential helpers,
    URL rewrites or filters) and without any hooks; HTTP credentials come only from O(git_username) and
    O(git_password). Of the C(GIT_*) environment variables only C(GIT_SSH), C(GIT_SSH_COMMAND),
    C(GIT_SSH_VARIANT), C(GIT_SSL_CAINFO) and C(GIT_SSL_CAPATH) are passed on to git.
"""

    # gitops.platform.gitops_repo.read_only: the attributes of a module that only reads.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs it as usual.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

    # gitops.platform.gitops_repo: the one values file and key, on top of GIT.
    DOCUMENTATION = r"""
options:
  values_file:
    description:
      - Path of the values file inside the repository, relative to its root.
      - Absolute paths, C(.), C(..) and C(.git) components are refused before cloning; a path that is, or
        lies under, a symlink in the repository is refused after cloning.
    type: str
    required: true
  key:
    description: Dotted path of the scalar (the image tag) in the values file.
    type: str
    default: image.tag
"""
