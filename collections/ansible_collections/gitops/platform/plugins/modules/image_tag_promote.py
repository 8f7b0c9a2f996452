#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_tag_promote
short_description: Set an image tag in a gitops repository's values file, commit and push
description:
  - Clones one branch of a gitops repository into a throw-away directory, sets a scalar key
    (by default C(image.tag)) in a Helm values file, commits it with an audit-trail message and
    pushes.
  - The tag is validated before anything else happens; a bad tag changes nothing anywhere.
  - Only the characters of the old value change in the file; comments, key order and formatting
    stay as they were.
  - When the push is rejected because the branch moved on (another promotion landed first), the
    module fetches the new head, applies the change again and retries, a bounded number of times.
    Concurrent promotions therefore all land, one after the other. Any other refusal by the server,
    such as a pre-receive hook or a protected branch that declines the push, fails at once with what
    the server said.
  - The branch name and the values file path are checked before anything is cloned; the values file
    must be a plain relative path, and after cloning it must not be, or lie under, a symlink.
  - Trailer values are flattened to one line each (control characters become spaces), so a value
    cannot add a trailer of its own.
  - Supports check mode and diff mode; in check mode nothing is committed or pushed.
version_added: "0.1.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - gitops.platform.gitops_repo
  - ansible.builtin.action_common_attributes
options:
  tag:
    description: The new image tag.
    type: str
    required: true
  tag_policy:
    description:
      - Regular expression the whole tag must match, on top of the OCI tag grammar.
      - The default accepts C(<short-sha>-<run>) (V(064193f-32)) and semantic versions (V(1.4.2)).
      - An empty string accepts any valid OCI tag.
    type: str
    default: '[0-9a-f]{7,40}-[0-9]+|v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?'
  environment:
    description: Environment name recorded in the commit message.
    type: str
    default: ""
  source_commit:
    description: Commit of the application source that produced the image, recorded as a trailer.
    type: str
    default: ""
  ci_run_url:
    description: URL of the CI run that promotes, recorded as a trailer.
    type: str
    default: ""
  action:
    description: Whether this is a forward promotion or a rollback; sets the commit subject and an C(Action) trailer.
    type: str
    choices: [promote, rollback]
    default: promote
  reason:
    description: Free-text line added to the commit body; line breaks become spaces.
    type: str
    default: ""
  author_name:
    description: Commit author name.
    type: str
    default: gitops-promoter
  author_email:
    description: Commit author e-mail.
    type: str
    default: gitops-promoter@localhost
  max_attempts:
    description: How many times to push before giving up when the branch keeps moving.
    type: int
    default: 20
  retry_delay:
    description: Upper bound, in seconds, of the random wait before the first retry; it grows with each attempt.
    type: float
    default: 0.2
  verify_image:
    description: Check that O(image)C(:)O(tag) exists in the registry before changing anything.
    type: bool
    default: false
  image:
    description: Image repository to check, such as C(ghcr.io/org/demo-flask-app). Needed with O(verify_image).
    type: str
    default: ""
  registry_username:
    description: Registry user for O(verify_image).
    type: str
    default: ""
  registry_password:
    description: Registry password or token for O(verify_image).
    type: str
    default: ""
  registry_insecure:
    description: Talk plain HTTP to the registry (a local registry without TLS).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Promote a CI build to staging
  gitops.platform.image_tag_promote:
    repo: https://git.example.com/platform/gitops.git
    branch: main
    values_file: helm/demo-flask-app/values-staging.yaml
    tag: 064193f-32
    environment: staging
    source_commit: 064193f2c1d
    ci_run_url: https://ci.example.com/runs/32

- name: Refuse to promote a tag that was never pushed
  gitops.platform.image_tag_promote:
    repo: /srv/git/gitops.git
    values_file: helm/demo-flask-app/values.yaml
    tag: 1.4.2
    verify_image: true
    image: ghcr.io/acme/demo-flask-app
    registry_username: "{{ lookup('env', 'REGISTRY_USERNAME') }}"
    registry_password: "{{ lookup('env', 'REGISTRY_PASSWORD') }}"
"""

RETURN = r"""
previous_tag:
  description: The value before the promotion (null when the key was empty).
  returned: success
  type: str
  sample: 0.1.0
tag:
  description: The value after the promotion.
  returned: success
  type: str
  sample: 064193f-32
commit:
  description:
    - The pushed commit.
    - When this promotion lost a race to another one that set the same tag first, the branch head that
      carries the tag (with C(changed) false).
    - Empty when the tag was already set before this promotion started, and in check mode.
  returned: success
  type: str
  sample: 5d1f0c3b9e0e4c7f8a1e2b3c4d5e6f708192a3b4
attempts:
  description: How many push attempts it took.
  returned: success
  type: int
  sample: 1
"""

import os
import random
import shutil
import tempfile
import time
import unicodedata

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.gitops.platform.plugins.module_utils.git_remote import (
    GitClone,
    GitError,
    PushRejected,
    UnsafePath,
    ansible_git_runner,
    git_request_error,
    gitops_repo_argument_spec,
    path_in_clone,
    redact,
)
from ansible_collections.gitops.platform.plugins.module_utils.image_tag import DEFAULT_TAG_POLICY, tag_error
from ansible_collections.gitops.platform.plugins.module_utils.registry_v2 import RegistryError, tag_exists
from ansible_collections.gitops.platform.plugins.module_utils.values_file import (
    HAS_RUAMEL,
    ValuesFileError,
    set_scalar,
)


def one_line(value: object) -> str:
    """`value` as a single line: control characters and line separators become spaces, runs of
    whitespace one space. A value put in a commit message this way cannot start a line of its own."""
    text = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in str(value))
    return " ".join(text.split())


def commit_message(params: dict, previous: object) -> str:
    """Subject line plus trailers, so `git log` is the promotion audit trail."""
    values = {key: one_line(params[key]) for key in
              ("action", "tag", "values_file", "environment", "source_commit", "ci_run_url", "reason")}
    where = f" in {values['environment']}" if values["environment"] else ""
    app = one_line(os.path.basename(os.path.dirname(params["values_file"]))) or "image"
    verb = "Roll back" if values["action"] == "rollback" else "Promote"
    subject = f"{verb} {app} to {values['tag']}{where}"
    body = []
    if values["reason"]:
        body.append(values["reason"])
    trailers = [
        f"Action: {values['action']}",
        f"Promoted-From: {one_line(previous) if previous is not None else '(none)'}",
        f"Promoted-To: {values['tag']}",
        f"Values-File: {values['values_file']}",
    ]
    if values["environment"]:
        trailers.append(f"Environment: {values['environment']}")
    if values["source_commit"]:
        trailers.append(f"Source-Commit: {values['source_commit']}")
    if values["ci_run_url"]:
        trailers.append(f"CI-Run: {values['ci_run_url']}")
    parts = [subject] + (["\n".join(body)] if body else []) + ["\n".join(trailers)]
    return "\n\n".join(parts) + "\n"


def _read(path: str, values_file: str, repo: str) -> str:
    if not os.path.isfile(path):
        raise ValuesFileError(f"{values_file} does not exist in {redact(repo)}")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def promote(module: AnsibleModule, workdir: str) -> dict:
    params = module.params
    git = GitClone(ansible_git_runner(module, os.path.dirname(workdir)), params["repo"], params["branch"], workdir,
                   params["author_name"], params["author_email"])
    git.clone()
    result: dict = {"changed": False, "tag": params["tag"], "commit": "", "attempts": 0}

    for attempt in range(1, params["max_attempts"] + 1):
        result["attempts"] = attempt
        # Checked on every attempt: the new head of a retry may have turned the file into a symlink.
        target = path_in_clone(workdir, params["values_file"])
        before = _read(target, params["values_file"], params["repo"])
        after, previous = set_scalar(before, params["key"], params["tag"])
        result["previous_tag"] = previous
        if previous == params["tag"]:
            result["changed"] = False
            result.pop("diff", None)
            # On a retry the clone is at the remote head, which another promotion of the same tag
            # just moved: that commit is the one that landed, our own was dropped.
            result["commit"] = git.head() if attempt > 1 else ""
            return result
        result["changed"] = True
        result["diff"] = {
            "before": before, "after": after,
            "before_header": params["values_file"], "after_header": params["values_file"],
        }
        if module.check_mode:
            return result
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(after)
        result["commit"] = git.commit(params["values_file"], commit_message(params, previous))
        try:
            git.push()
            return result
        except PushRejected:
            if attempt == params["max_attempts"]:
                break
            # Jittered, growing back-off so racing promotions stop colliding.
            time.sleep(random.uniform(0, params["retry_delay"] * attempt))
            git.reset_to_remote()
    raise GitError(
        f"the push to {redact(params['repo'])} was rejected {params['max_attempts']} times because "
        f"branch {params['branch']} kept moving; nothing was pushed, run the promotion again"
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **gitops_repo_argument_spec(),
            tag=dict(type="str", required=True),
            tag_policy=dict(type="str", default=DEFAULT_TAG_POLICY),
            environment=dict(type="str", default=""),
            source_commit=dict(type="str", default=""),
            ci_run_url=dict(type="str", default=""),
            action=dict(type="str", default="promote", choices=["promote", "rollback"]),
            reason=dict(type="str", default=""),
            author_name=dict(type="str", default="gitops-promoter"),
            author_email=dict(type="str", default="gitops-promoter@localhost"),
            max_attempts=dict(type="int", default=20),
            retry_delay=dict(type="float", default=0.2),
            verify_image=dict(type="bool", default=False),
            image=dict(type="str", default=""),
            registry_username=dict(type="str", default=""),
            registry_password=dict(type="str", default="", no_log=True),
            registry_insecure=dict(type="bool", default=False),
        ),
        required_if=[("verify_image", True, ("image",))],
        supports_check_mode=True,
    )
    if not HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"))
    params = module.params

    problem = tag_error(params["tag"], params["tag_policy"]) or git_request_error(params)
    if problem:
        module.fail_json(msg=f"Refusing to promote: {problem}. Nothing was changed.", changed=False)
    if params["max_attempts"] < 1:
        module.fail_json(msg="max_attempts must be at least 1")

    if params["verify_image"]:
        try:
            found = tag_exists(params["image"], params["tag"], params["registry_username"],
                               params["registry_password"], params["registry_insecure"])
        except RegistryError as exc:
            module.fail_json(msg=f"Refusing to promote: {exc}. Nothing was changed.", changed=False)
        if not found:
            module.fail_json(
                msg=(f"Refusing to promote: {params['image']}:{params['tag']} does not exist in the registry; "
                     "build and push it first. Nothing was changed."),
                changed=False,
            )

    workdir = tempfile.mkdtemp(prefix="gitops-promote-")
    try:
        result = promote(module, os.path.join(workdir, "repo"))
    except UnsafePath as exc:
        module.fail_json(msg=f"Refusing to promote: {exc}. Nothing was changed.", changed=False)
    except (GitError, ValuesFileError) as exc:
        module.fail_json(msg=f"Promotion failed: {exc}", changed=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
