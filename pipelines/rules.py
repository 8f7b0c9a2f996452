"""The security rules every pod the charts render must keep, in a reviewer's words.

A pod runs as a non-root user, on a read-only root filesystem, without privilege, privilege escalation, added
capabilities, host namespaces or host paths, and every container declares its CPU and memory requests and limits.
Pods are found wherever the manifests carry a pod template: workloads, Argo Rollouts' Rollout, and the Jobs of an
AnalysisTemplate (the canary's traffic and judgement run as pods too).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

TEMPLATE_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Rollout"})
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
RESOURCES = ("cpu", "memory")


@dataclass(frozen=True)
class Finding:
    where: str  # Kind/name in namespace, and the container when the rule is a container's
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


def pod_specs(obj: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(label, pod spec) for every pod template of one object."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        yield "", spec
    elif kind in TEMPLATE_KINDS:
        yield "", (spec.get("template") or {}).get("spec") or {}
    elif kind == "CronJob":
        yield "", ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}
    elif kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
        for metric in spec.get("metrics") or []:
            job = ((metric.get("provider") or {}).get("job") or {}).get("spec") or {}
            if job:
                yield f" metric {metric.get('name')}", (job.get("template") or {}).get("spec") or {}


def object_ref(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    namespace = f" in {metadata['namespace']}" if metadata.get("namespace") else ""
    return f"{obj.get('kind')}/{metadata.get('name', '<unnamed>')}{namespace}"


def check_pod(where: str, pod: Mapping[str, Any]) -> Iterator[Finding]:
    pod_context = pod.get("securityContext") or {}
    for field in HOST_NAMESPACES:
        if pod.get(field):
            yield Finding(where, "host-namespaces", f"{field} is true: the pod shares the node's namespace")
    for volume in pod.get("volumes") or []:
        if "hostPath" in volume:
            yield Finding(where, "host-path", f"volume {volume.get('name')} mounts the node's {volume['hostPath'].get('path')}")
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        yield from check_container(f"{where} container {container.get('name')}", pod_context, container)


def check_container(where: str, pod_context: Mapping[str, Any], container: Mapping[str, Any]) -> Iterator[Finding]:
    context = container.get("securityContext") or {}

    def setting(name: str) -> Any:
        return context.get(name, pod_context.get(name))

    if setting("runAsNonRoot") is not True:
        yield Finding(where, "non-root", "runAsNonRoot is not true: nothing stops the image from running as root")
    if setting("runAsUser") == 0:
        yield Finding(where, "non-root", "runAsUser is 0 (root)")
    if context.get("readOnlyRootFilesystem") is not True:
        yield Finding(where, "read-only-root", "readOnlyRootFilesystem is not true: the container can change its image")
    if context.get("privileged"):
        yield Finding(where, "no-privilege", "privileged is true: the container has every capability of the node")
    if context.get("allowPrivilegeEscalation") is not False:
        yield Finding(where, "no-privilege", "allowPrivilegeEscalation is not false: setuid programs can gain privilege")
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        yield Finding(where, "no-privilege", "capabilities.drop does not name ALL")
    if capabilities.get("add"):
        yield Finding(where, "no-privilege", f"capabilities.add gives {', '.join(capabilities['add'])}")
    yield from check_resources(where, container.get("resources") or {})


def check_resources(where: str, resources: Mapping[str, Any]) -> Iterator[Finding]:
    for section in ("requests", "limits"):
        missing = [name for name in RESOURCES if name not in (resources.get(section) or {})]
        if missing:
            yield Finding(where, "resources", f"no {section} for {' and '.join(missing)}: "
                          + ("the scheduler cannot place it" if section == "requests" else "it can starve its node"))


def findings(objects: list[Mapping[str, Any]]) -> list[Finding]:
    return [finding for obj in objects for label, pod in pod_specs(obj)
            for finding in check_pod(object_ref(obj) + label, pod)]
