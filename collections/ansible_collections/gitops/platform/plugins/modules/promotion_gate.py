#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: promotion_gate
short_description: Decide whether the tag running in a source environment may be promoted
description:
  - Checks, in this order, that the source environment's Argo CD Application exists; that it is C(Synced) and
    C(Healthy); that no sync operation is running or requested; that the values file at the revision Argo CD
    synced (read from the gitops repository) carries a tag T at O(key); that every Ready pod (not being deleted)
    runs an image tagged T whose digest (from the pod's C(status.containerStatuses[].imageID)) is the one the registry names
    for O(image)C(:T); and that it has been so for at least O(soak) seconds.
  - "The first condition that does not hold fails the module with one message,
    C(Refusing to promote from <env>: <condition>. Nothing was committed.), and RV(failed_condition) says which."
  - The soak is measured from the later of C(status.operationState.finishedAt) and
    C(status.health.lastTransitionTime); C(status.reconciledAt) is not used, since Argo CD refreshes it
    on every reconciliation.
  - The revision must be on O(branch); the branch is cloned with its whole history and a revision that is
    not in it is a failure that says so.
  - Only reads, so it runs in check mode as usual and never reports a change.
version_added: "0.3.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - gitops.platform.gitops_repo.git
  - gitops.platform.gitops_repo
  - ansible.builtin.action_common_attributes
  - gitops.platform.gitops_repo.read_only
options:
  application:
    description:
      - The source environment's Argo CD Application object, as M(kubernetes.core.k8s_info) returns it in
        C(resources); the whole M(kubernetes.core.k8s_info) result is accepted too.
      - Null, an empty dict or a result without resources means the Application does not exist.
    type: dict
  pods:
    description:
      - The source environment's app pods, as M(kubernetes.core.k8s_info) returns them in C(resources).
      - Pods that are not Ready are not judged (old pods on their way out), nor pods being deleted (Ready
        through their pre-stop delay); at least one must be Ready.
    type: list
    elements: dict
    default: []
  source_environment:
    description: Name of the source environment, used in the messages and in RV(gate).
    type: str
    required: true
  image:
    description:
      - Image repository without tag, as the registry is reached from here, such as C(localhost:5001/demo-flask-app).
      - The pods may name the registry differently (an in-cluster name); they are matched by tag and digest.
    type: str
    required: true
  registry_username:
    description: Registry user, when the registry asks for one.
    type: str
    default: ""
  registry_password:
    description: Registry password or token for O(registry_username).
    type: str
    default: ""
  registry_insecure:
    description: Talk plain HTTP to the registry (a local registry without TLS).
    type: bool
    default: false
  soak:
    description: Seconds the source environment must have been Synced and Healthy; V(0) checks no soak time.
    type: int
    default: 0
  now:
    description:
      - The time to measure the soak against, as an RFC 3339 timestamp (V(2024-05-01T12:00:00Z)); for tests.
      - Empty means the controller's clock.
    type: str
    default: ""
seealso:
  - module: gitops.platform.image_tag_promote
"""

EXAMPLES = r"""
- name: Read the dev Application
  kubernetes.core.k8s_info:
    api_version: argoproj.io/v1alpha1
    kind: Application
    namespace: argocd
    name: demo-flask-app-dev
  register: dev_app

- name: Read the dev pods
  kubernetes.core.k8s_info:
    kind: Pod
    namespace: demo-dev
    label_selectors:
      - app.kubernetes.io/name=demo-flask-app
  register: dev_pods

- name: Check that dev's release may go to staging
  gitops.platform.promotion_gate:
    application: "{{ dev_app }}"
    pods: "{{ dev_pods.resources }}"
    source_environment: dev
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values-dev.yaml
    image: localhost:5001/demo-flask-app
    registry_insecure: true
    soak: 300
  register: gate

- name: Promote what passed the gate
  gitops.platform.image_tag_promote:
    repo: https://git.example.com/platform/gitops.git
    values_file: helm/demo-flask-app/values-staging.yaml
    tag: "{{ gate.tag }}"
    environment: staging
    source_environment: dev
    gate: "{{ gate.gate }}"
    respect_pin: true
"""

RETURN = r"""
tag:
  description: The tag the source environment runs (the values file's O(key) at RV(revision)).
  returned: success
  type: str
  sample: 064193f-32
revision:
  description: The gitops commit Argo CD synced in the source environment.
  returned: success
  type: str
  sample: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
digest:
  description: The manifest digest that the registry names for O(image)C(:)RV(tag) and the pods run.
  returned: success
  type: str
  sample: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
since:
  description:
    - Since when the source environment has been Synced and Healthy, in UTC.
    - Null when the Application tells no such time and no soak was asked for.
  returned: success, and with RV(failed_condition) V(soak) when the soak is not over
  type: str
  sample: "2024-05-01T12:00:00Z"
soaked_seconds:
  description: Seconds since RV(since); null when RV(since) is.
  returned: success
  type: int
  sample: 312
gate:
  description: One line saying what held, for the C(Gate) trailer of M(gitops.platform.image_tag_promote).
  returned: success
  type: str
  sample: dev Synced+Healthy at 1a2b3c4d5e6f, 2 pods run 064193f-32 sha256:0123456789ab, soaked 312s (min 300s)
failed_condition:
  description:
    - Which condition failed - V(application), V(status), V(operation), V(revision), V(pods) or V(soak).
    - V(soak) alone is a matter of waiting RV(soak_remaining) seconds.
  returned: failure
  type: str
  sample: soak
soak_remaining:
  description: Seconds until the soak is over.
  returned: failure, when RV(failed_condition) is V(soak) and the time is known
  type: int
  sample: 188
"""

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.gitops.platform.plugins.module_utils.git_remote import (
    GitClone,
    GitError,
    ansible_git_runner,
    git_request_error,
    gitops_repo_argument_spec,
    redact,
)
from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRefError, parse
from ansible_collections.gitops.platform.plugins.module_utils.promotion_gate import (
    GateRefused,
    Unavailable,
    evaluate,
    parse_time,
)
from ansible_collections.gitops.platform.plugins.module_utils.registry_v2 import RegistryError, manifest_digest
from ansible_collections.gitops.platform.plugins.module_utils.values_file import HAS_RUAMEL


def argument_error(params: dict) -> str:
    """What is wrong with the options, beyond their types, or ""."""
    problem = git_request_error(params)
    if problem:
        return problem
    if params["soak"] < 0:
        return "soak must be 0 or a positive number of seconds"
    try:
        ref = parse(params["image"])
    except ImageRefError as exc:
        return f"image: {exc}"
    if ref.tag or ref.digest:
        return f"image must be a repository without tag or digest, such as {ref.name}"
    if params["now"]:
        try:
            parse_time(params["now"])
        except ValueError as exc:
            return f"now: {exc}"
    return ""


def values_reader(module: AnsibleModule, workdir: str):
    """A reader of the values file at a revision of the branch, cloning the branch on first use."""
    params = module.params
    state: dict = {}

    def read(revision: str) -> str:
        short = revision[:12]
        try:
            if "git" not in state:
                git = GitClone(ansible_git_runner(module, workdir), params["repo"], params["branch"],
                               os.path.join(workdir, "repo"), "", "")
                git.clone(depth=None)  # the whole branch: the synced revision may be far behind its head
                state["git"] = git
            git = state["git"]
            if not git.has_commit(revision):
                raise Unavailable(
                    f"the synced revision {short} is not on branch {params['branch']} of {redact(params['repo'])}: "
                    "Argo CD deploys a commit that the branch does not hold (another branch, or rewritten history)"
                )
            try:
                return git.show(revision, params["values_file"])
            except GitError:
                raise Unavailable(f"{params['values_file']} does not exist at revision {short}") from None
        except GitError as exc:
            raise Unavailable(f"cannot read {params['values_file']} at {short}: {exc}") from None
    return read


def registry_reader(params: dict):
    def read(tag: str) -> str:
        try:
            return manifest_digest(params["image"], tag, params["registry_username"], params["registry_password"],
                                   params["registry_insecure"])
        except RegistryError as exc:
            raise Unavailable(str(exc)) from None
    return read


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **gitops_repo_argument_spec(),
            application=dict(type="dict"),
            pods=dict(type="list", elements="dict", default=[]),
            source_environment=dict(type="str", required=True),
            image=dict(type="str", required=True),
            registry_username=dict(type="str", default=""),
            registry_password=dict(type="str", default="", no_log=True),
            registry_insecure=dict(type="bool", default=False),
            soak=dict(type="int", default=0),
            now=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    if not HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"))
    params = module.params
    problem = argument_error(params)
    if problem:
        module.fail_json(
            msg=f"Refusing to promote from {params['source_environment']}: {problem}. Nothing was committed.",
            changed=False,
        )

    workdir = tempfile.mkdtemp(prefix="gitops-gate-")
    try:
        result = evaluate(
            params["application"], params["pods"], values_reader(module, workdir), registry_reader(params),
            environment=params["source_environment"], image=params["image"], key=params["key"],
            values_file=params["values_file"], soak=params["soak"], now=params["now"] or None,
        )
    except GateRefused as exc:
        module.fail_json(msg=str(exc), changed=False, failed_condition=exc.condition, **exc.details)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
