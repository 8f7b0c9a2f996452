#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: platform_probe
short_description: Read, in one call, whether a bootstrapped platform is healthy and what it consists of
description:
  - Lists, through the Kubernetes API of O(context), the Deployments, StatefulSets, DaemonSets and Argo Rollouts'
    Rollouts, the image pull and Argo CD repository secrets of O(namespaces), the Argo CD Applications of
    O(applications_namespace)
    and every APIService; and asks each of O(urls) for an answer.
  - Returns the platform's RV(state) (the cluster's identity, which objects exist, the secrets' revisions), which
    C(site.yml) records after a complete run, and RV(problems), every reason it is not healthy now (a workload
    not rolled out, an Application not Synced and Healthy, an API service not Available, a URL that does not
    answer).
  - A cluster that does not answer is a problem, not a failure; the module fails only on bad arguments or when
    the Kubernetes client is missing.
  - Only reads, so it runs in check mode as usual and never reports a change.
version_added: "0.4.0"
author: gitops platform maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - gitops.platform.gitops_repo.read_only
requirements:
  - kubernetes (the Python client)
options:
  kubeconfig:
    description: Path of the kubeconfig file; empty uses the client's default (C(KUBECONFIG), C(~/.kube/config)).
    type: path
    default: ""
  context:
    description: The kubeconfig context of the cluster; empty uses the current context.
    type: str
    default: ""
  namespaces:
    description: Namespaces whose workloads must have rolled out and whose pull and repository secrets are recorded.
    type: list
    elements: str
    default: []
  applications_namespace:
    description: Namespace of the Argo CD Applications, which must all be Synced and Healthy.
    type: str
    default: argocd
  urls:
    description: Addresses that must answer.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The address.
        type: str
        required: true
      status:
        description: The HTTP status it must answer with.
        type: int
        default: 200
      username:
        description: User for basic authentication; empty sends none.
        type: str
        default: ""
      password:
        description: Password for basic authentication (never logged).
        type: str
        default: ""
      contains:
        description: Text the answer must contain; empty accepts any.
        type: str
        default: ""
  timeout:
    description: Seconds each request to the API server or to a URL may take.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Read the platform
  gitops.platform.platform_probe:
    context: kind-gitops-demo
    namespaces: [argocd, kube-system, demo-dev]
    urls:
      - url: http://localhost:30082/healthz
  register: platform

- name: Say what is wrong
  ansible.builtin.debug:
    msg: "{{ platform.problems }}"
"""

RETURN = r"""
state:
  description:
    - What the platform consists of, C({}) when the cluster did not answer.
    - C(cluster) is the C(kube-system) namespace's uid (another cluster behind the same context differs);
      C(workloads) is C(namespace/Kind/name) of each workload, C(applications) each Application's name,
      C(apiservices) each APIService's name, C(secrets) C(namespace/name@resourceVersion) of each pull or
      repository secret.
  returned: always
  type: dict
  sample: {"cluster": "6f1c...", "workloads": ["argocd/Deployment/argocd-server"], "applications": ["demo-dev"],
           "apiservices": ["v1.apps"], "secrets": ["demo-dev/regcred@1234"]}
problems:
  description: Why the platform is not healthy now, one line each; empty when it is.
  returned: always
  type: list
  elements: str
  sample: ["argocd/Deployment/argocd-server: 0/1 ready", "Application demo-dev: OutOfSync, Healthy"]
healthy:
  description: Whether RV(problems) is empty.
  returned: always
  type: bool
"""

import json
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import open_url
from ansible.module_utils.six.moves.urllib.error import HTTPError

from ansible_collections.gitops.platform.plugins.module_utils.platform_probe import probe

try:
    from kubernetes import config as kube_config
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_ERROR = traceback.format_exc()
else:
    HAS_KUBERNETES = True
    KUBERNETES_ERROR = None

WORKLOAD_KINDS = [("deployments", "Deployment"), ("statefulsets", "StatefulSet"), ("daemonsets", "DaemonSet")]


class Cluster:
    """GET requests to one API server, answered as plain JSON."""

    def __init__(self, kubeconfig: str, context: str, timeout: int) -> None:
        self._client = kube_config.new_client_from_config(config_file=kubeconfig or None, context=context or None)
        self._timeout = timeout

    def get(self, path: str, missing_ok: bool = False) -> dict | None:
        request = self._client.param_serialize("GET", path, auth_settings=["BearerToken"])
        answer = self._client.call_api(*request, _request_timeout=self._timeout)
        if missing_ok and answer.status == 404:
            return None
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {answer.status} {body[:200].decode('utf-8', 'replace')}")
        return json.loads(body)

    def items(self, path: str, kind: str) -> list[dict]:
        listed = self.get(path) or {}
        return [dict(item, kind=kind) for item in listed.get("items") or []]


def read_cluster(params: dict) -> tuple[dict, list[str]]:
    cluster = Cluster(params["kubeconfig"], params["context"], params["timeout"])
    kube_system = cluster.get("/api/v1/namespaces/kube-system") or {}
    workloads = []
    for plural, kind in WORKLOAD_KINDS:
        workloads += cluster.items(f"/apis/apps/v1/{plural}", kind)
    # The canaries' Rollouts, where Argo Rollouts' CRDs are installed.
    rollouts = cluster.get("/apis/argoproj.io/v1alpha1/rollouts", missing_ok=True)
    workloads += [dict(item, kind="Rollout") for item in (rollouts or {}).get("items") or []]
    listed = cluster.get(f"/apis/argoproj.io/v1alpha1/namespaces/{params['applications_namespace']}/applications",
                         missing_ok=True)
    applications = None if listed is None else [dict(item, kind="Application") for item in listed.get("items") or []]
    apiservices = cluster.items("/apis/apiregistration.k8s.io/v1/apiservices", "APIService")
    secrets = cluster.items("/api/v1/secrets", "Secret")
    return probe(kube_system, workloads, applications, apiservices, secrets, params["namespaces"])


def url_problem(check: dict, timeout: int) -> str:
    """Why `check["url"]` did not answer as expected, or ""."""
    auth = {"url_username": check["username"], "url_password": check["password"], "force_basic_auth": True} \
        if check["username"] else {}
    try:
        answer = open_url(check["url"], timeout=timeout, **auth)
        status, body = answer.getcode(), answer.read().decode("utf-8", "replace")
    except HTTPError as error:
        status, body = error.code, ""
    except Exception as error:  # refused, reset, timed out, bad address
        return f"{check['url']} does not answer ({error})"
    if status != check["status"]:
        return f"{check['url']} answers HTTP {status}, not {check['status']}"
    if check["contains"] and check["contains"] not in body:
        return f"{check['url']} does not show {check['contains']!r}"
    return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kubeconfig": {"type": "path", "default": ""},
            "context": {"type": "str", "default": ""},
            "namespaces": {"type": "list", "elements": "str", "default": []},
            "applications_namespace": {"type": "str", "default": "argocd"},
            "urls": {"type": "list", "elements": "dict", "default": [], "options": {
                "url": {"type": "str", "required": True},
                "status": {"type": "int", "default": 200},
                "username": {"type": "str", "default": ""},
                "password": {"type": "str", "default": "", "no_log": True},
                "contains": {"type": "str", "default": ""},
            }},
            "timeout": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_ERROR)
    try:
        state, problems = read_cluster(module.params)
    except Exception as error:  # no kubeconfig, no context, refused, unauthorised: all mean "not this platform"
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        state, problems = {}, [f"the cluster of context {module.params['context'] or '(current)'} does not answer: "
                               f"{first_line}"]
    problems += [problem for problem in (url_problem(check, module.params["timeout"])
                                         for check in module.params["urls"]) if problem]
    module.exit_json(changed=False, state=state, problems=problems, healthy=not problems)


if __name__ == "__main__":
    main()
