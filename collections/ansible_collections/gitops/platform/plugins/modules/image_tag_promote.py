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
  - Besides the tag, the same commit can set a pin (O(pin), at O(pin_key)); a rollback pins the
    environment so that forward promotions that respect it (O(respect_pin)) stop until it is unpinned.
    The module reports a change, and commits, when any of the keys it sets changes.
  - The pin and the current tag are read again after every re-fetch, so the refusals of O(respect_pin)
    and O(expect_current) also hold against a promotion that lands while this one retries.
  - Supports check mode and diff mode; in check mode nothing is committed or pushed.
version_added: "0.1.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - gitops.platform.gitops_repo.git
  - gitops.platform.gitops_repo
  - ansible.builtin.action_common_attributes
options:
  tag:
    description:
      - The new image tag.
      - Required, except with O(action=unpin), where an empty tag leaves the tag as it is and only the pin changes.
    type: str
    default: ""
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
    description:
      - What this commit is; sets the commit subject and an C(Action) trailer.
      - V(promote) - C(Promote <app> to <tag> in <env>); V(rollback) - C(Roll back <app> to <tag> in <env>);
        V(auto-revert) - C(Revert <app> to <tag> in <env>) ending in "(automatic)", usually with
        O(expect_current) and O(reverts); V(unpin) - C(Unpin <app> in <env>), which clears the pin (O(pin)
        defaults to V("") and may not be anything else).
    type: str
    choices: [promote, rollback, auto-revert, unpin]
    default: promote
  reason:
    description:
      - Free-text line added to the commit body; line breaks become spaces.
      - With O(action=auto-revert) it is also recorded as a C(Reason) trailer.
    type: str
    default: ""
  approved_by:
    description: Who approved this promotion, recorded as an C(Approved-By) trailer.
    type: str
    version_added: "0.3.0"
    default: ""
  source_environment:
    description: Environment the tag is promoted from, recorded as a C(Source-Environment) trailer.
    type: str
    version_added: "0.3.0"
    default: ""
  gate:
    description:
      - One line saying which gate held, recorded as a C(Gate) trailer; for example the
        RV(gitops.platform.promotion_gate#module:gate) return value of M(gitops.platform.promotion_gate).
    type: str
    version_added: "0.3.0"
    default: ""
  reverts:
    description: Commit that this one reverts, recorded as a C(Reverts) trailer.
    type: str
    version_added: "0.3.0"
    default: ""
  analysis:
    description:
      - What the canary analysis that stopped the release found, recorded as an C(Analysis) trailer; for example the
        output of the P(gitops.platform.analysis_run_summary#filter) filter.
    type: str
    version_added: "0.4.0"
    default: ""
  pin_key:
    description: Dotted path of the pin in the values file.
    type: str
    version_added: "0.3.0"
    default: promotion.pin
  pin:
    description:
      - Text to set at O(pin_key) in the same commit as the tag; null leaves the pin as it is, V("") clears it.
      - "A rollback sets it (for example V(rolled back by alice: error rate)), an unpin clears it."
      - "The key must already be in the values file, as C(promotion: {pin: \"\"}): the module does not add keys,
        because a values schema with C(additionalProperties: false) would then reject the file. Setting a
        non-empty pin in a file without the key fails and names the file; clearing a pin the file has no key
        for leaves the file as it is."
    type: str
    version_added: "0.3.0"
  respect_pin:
    description:
      - Refuse, changing nothing, while the values file's pin is non-empty, unless this very commit clears it
        (O(pin=""), as a promotion with C(-e image_promotion_unpin=true) does).
      - A missing pin key counts as not pinned.
    type: bool
    version_added: "0.3.0"
    default: false
  expect_current:
    description:
      - When set, refuse, changing nothing, unless the values file's current tag is this value; an automatic
        revert sets it to the tag it reverts, so that it never reverts a newer promotion made by someone else.
      - When the file already carries O(tag) (and the pin is as asked) there is nothing to do, and the module
        succeeds unchanged whatever the current tag.
    type: str
    version_added: "0.3.0"
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
- name: Promote what passed the gate in staging to production
  gitops.platform.image_tag_promote:
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values-production.yaml
    tag: "{{ gate.tag }}"
    environment: production
    source_environment: staging
    gate: "{{ gate.gate }}"
    approved_by: alice
    respect_pin: true

- name: Roll production back and pin it there
  gitops.platform.image_tag_promote:
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values-production.yaml
    tag: 064193f-31
    action: rollback
    environment: production
    reason: error rate above 5 %
    pin: "rolled back by alice: error rate above 5 %"

- name: Unpin production, leaving its tag as it is
  gitops.platform.image_tag_promote:
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values-production.yaml
    action: unpin
    environment: production

- name: Revert a failed promotion, unless someone promoted after it
  gitops.platform.image_tag_promote:
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values-staging.yaml
    tag: 064193f-31
    action: auto-revert
    environment: staging
    expect_current: 064193f-32
    reverts: 5d1f0c3b9e0e4c7f8a1e2b3c4d5e6f708192a3b4
    reason: staging not Healthy 600 s after the promotion

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
  description: The value after the promotion (with O(action=unpin) and no O(tag), the unchanged current tag).
  returned: success
  type: str
  sample: 064193f-32
previous_pin:
  description: The pin before this run; null when the values file has no pin key or the pin is empty.
  returned: success
  type: str
  sample: "rolled back by alice: error rate above 5 %"
  version_added: "0.3.0"
pin:
  description: The pin after this run; null when the values file has no pin key or the pin is empty.
  returned: success
  type: str
  sample: null
  version_added: "0.3.0"
commit:
  description:
    - The pushed commit.
    - When this promotion lost a race to another one that set the same tag first, the branch head that
      carries the tag (with C(changed) false).
    - Empty when the tag (and pin) were already set before this promotion started, and in check mode.
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
    KeyMissing,
    ValuesFileError,
    get_scalar,
    set_scalars,
)

SUBJECTS = {
    "promote": "Promote {app} to {tag}{where}",
    "rollback": "Roll back {app} to {tag}{where}",
    "auto-revert": "Revert {app} to {tag}{where} (automatic)",
    "unpin": "Unpin {app}{where}",
}


def one_line(value: object) -> str:
    """`value` as a single line: control characters and line separators become spaces, runs of
    whitespace one space. A value put in a commit message this way cannot start a line of its own."""
    text = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in str(value))
    return " ".join(text.split())


def commit_message(params: dict, previous: object, tag: "str | None" = None) -> str:
    """Subject line plus trailers, so `git log` is the promotion audit trail.

    `tag` is the tag after the commit when it is not params["tag"] (an unpin that leaves the tag as it is)."""
    values = {key: one_line(params.get(key) or "") for key in
              ("action", "tag", "values_file", "environment", "source_commit", "ci_run_url", "reason",
               "source_environment", "approved_by", "gate", "reverts", "analysis")}
    if tag is not None:
        values["tag"] = one_line(tag)
    where = f" in {values['environment']}" if values["environment"] else ""
    app = one_line(os.path.basename(os.path.dirname(params["values_file"]))) or "image"
    subject = SUBJECTS.get(values["action"], SUBJECTS["promote"]).format(app=app, tag=values["tag"], where=where)
    body = []
    if values["reason"]:
        body.append(values["reason"])
    trailers = [
        f"Action: {values['action']}",
        f"Promoted-From: {one_line(previous) if previous is not None else '(none)'}",
        f"Promoted-To: {values['tag']}",
        f"Values-File: {values['values_file']}",
    ]
    optional = (
        ("Environment", "environment"),
        ("Source-Commit", "source_commit"),
        ("CI-Run", "ci_run_url"),
        ("Source-Environment", "source_environment"),
        ("Approved-By", "approved_by"),
        ("Gate", "gate"),
        ("Reverts", "reverts"),
        ("Analysis", "analysis"),
    )
    trailers += [f"{name}: {values[key]}" for name, key in optional if values[key]]
    if values["action"] == "auto-revert" and values["reason"]:
        trailers.append(f"Reason: {values['reason']}")
    parts = [subject] + (["\n".join(body)] if body else []) + ["\n".join(trailers)]
    return "\n\n".join(parts) + "\n"


class Refused(Exception):
    """The values file's state forbids this change; the message is the module's whole failure message."""


def _text(value: object) -> str:
    """A scalar read from the values file as the text a user wrote: "" for null."""
    return "" if value is None else str(value)


def _read_pin(text: str, pin_key: str) -> "str | None":
    """The pin at `pin_key`, "" when empty, None when the key is not in the file."""
    try:
        return _text(get_scalar(text, pin_key))
    except KeyMissing:
        return None


def plan(params: dict, text: str) -> dict:
    """What to change in the values file `text`, or why not to; raises Refused or ValuesFileError.

    Returns changes (key path -> new value, only the keys whose value differs), previous_tag, tag (the tag
    after), previous_pin and pin (each None when the file has no pin key). Pure: the module calls it on
    every attempt with the file as the (re-)fetched branch has it."""
    key, pin_key = params["key"], params["pin_key"]
    current = get_scalar(text, key)
    current_pin = _read_pin(text, pin_key)
    wanted_pin = params.get("pin")
    environment = params.get("environment") or params["values_file"]

    if params.get("respect_pin") and current_pin and wanted_pin != "":
        raise Refused(
            f"Refusing to promote: environment {one_line(environment)} is pinned ({one_line(current_pin)}) by a "
            f"rollback; promote with -e image_promotion_unpin=true or run playbooks/unpin.yml "
            f"-e environment={one_line(environment)}. Nothing was changed."
        )

    changes: dict = {}
    tag = params.get("tag") or ""
    if tag and current != tag:
        changes[key] = tag
    if wanted_pin is not None:
        if current_pin is None:
            if wanted_pin:
                raise ValuesFileError(
                    f"{params['values_file']} has no '{pin_key}' key to record the pin in; add "
                    f'`{_nested(pin_key)}` to {params["values_file"]} (and to the chart\'s values schema) first'
                )
        elif current_pin != wanted_pin:
            changes[pin_key] = wanted_pin

    if changes and params.get("expect_current") and _text(current) != params["expect_current"]:
        raise Refused(
            f"Refusing to revert: {params['values_file']} now carries {one_line(_text(current)) or '(none)'}, not "
            f"{one_line(params['expect_current'])}: someone promoted after it; nothing was changed."
        )
    return {
        "changes": changes,
        "previous_tag": None if current is None else _text(current),
        "tag": tag or _text(current),
        "previous_pin": current_pin or None,
        "pin": (changes.get(pin_key, current_pin) or None) if current_pin is not None else None,
    }


def _nested(key_path: str) -> str:
    """`promotion.pin` as the flow mapping `promotion: {pin: ""}`."""
    keys = key_path.split(".")
    text = f'{keys[-1]}: ""'
    for key in reversed(keys[:-1]):
        text = f"{key}: {{{text}}}"
    return text


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
        # So are the pin and the current tag: a promotion or rollback may have landed in between.
        change = plan(params, before)
        for name in ("previous_tag", "tag", "previous_pin", "pin"):
            result[name] = change[name]
        if not change["changes"]:
            result["changed"] = False
            result.pop("diff", None)
            # On a retry the clone is at the remote head, which another promotion of the same tag
            # just moved: that commit is the one that landed, our own was dropped.
            result["commit"] = git.head() if attempt > 1 else ""
            return result
        after = set_scalars(before, change["changes"])[0]
        result["changed"] = True
        result["diff"] = {
            "before": before, "after": after,
            "before_header": params["values_file"], "after_header": params["values_file"],
        }
        if module.check_mode:
            return result
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(after)
        result["commit"] = git.commit(params["values_file"],
                                      commit_message(params, change["previous_tag"], change["tag"]))
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


def argument_error(params: dict) -> str:
    """What is wrong with the options, beyond their types, or ""."""
    if params["action"] == "unpin":
        if params["pin"]:
            return "action unpin clears the pin, so pin must be empty or left out"
        if not params["tag"]:
            return git_request_error(params)
    return tag_error(params["tag"], params["tag_policy"]) or git_request_error(params)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **gitops_repo_argument_spec(),
            tag=dict(type="str", default=""),
            tag_policy=dict(type="str", default=DEFAULT_TAG_POLICY),
            environment=dict(type="str", default=""),
            source_commit=dict(type="str", default=""),
            ci_run_url=dict(type="str", default=""),
            action=dict(type="str", default="promote", choices=["promote", "rollback", "auto-revert", "unpin"]),
            reason=dict(type="str", default=""),
            approved_by=dict(type="str", default=""),
            source_environment=dict(type="str", default=""),
            gate=dict(type="str", default=""),
            analysis=dict(type="str", default=""),
            reverts=dict(type="str", default=""),
            pin_key=dict(type="str", default="promotion.pin", no_log=False),
            pin=dict(type="str"),
            respect_pin=dict(type="bool", default=False),
            expect_current=dict(type="str", default=""),
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
    if params["action"] == "unpin" and params["pin"] is None:
        params["pin"] = ""

    problem = argument_error(params)
    if problem:
        module.fail_json(msg=f"Refusing to promote: {problem}. Nothing was changed.", changed=False)
    if params["max_attempts"] < 1:
        module.fail_json(msg="max_attempts must be at least 1")

    if params["verify_image"] and params["tag"]:
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
    except Refused as exc:
        module.fail_json(msg=str(exc), changed=False)
    except (GitError, ValuesFileError) as exc:
        module.fail_json(msg=f"Promotion failed: {exc}", changed=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
