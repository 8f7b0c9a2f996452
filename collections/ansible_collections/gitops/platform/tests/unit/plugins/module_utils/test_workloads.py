from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.workloads import not_ready, rollout_problem


def workload(kind: str = "Deployment", generation: int = 1, replicas: int | None = 1, **status) -> dict:
    spec = {} if replicas is None else {"replicas": replicas}
    return {"kind": kind, "metadata": {"name": "w", "generation": generation}, "spec": spec, "status": status}


ROLLED_OUT = dict(observedGeneration=1, updatedReplicas=1, availableReplicas=1, readyReplicas=1)

CASES = [
    (workload(**ROLLED_OUT), ""),
    (workload(replicas=0, observedGeneration=1), ""),
    (workload(replicas=None, **ROLLED_OUT), ""),  # replicas defaults to 1
    (workload(generation=2, **ROLLED_OUT), "its new spec is not observed yet"),
    (workload(), "its new spec is not observed yet"),  # no status at all
    (workload(replicas=2, **ROLLED_OUT), "1/2 ready"),
    (workload(observedGeneration=1, updatedReplicas=0, availableReplicas=1), "1/1 ready"),  # old pods only
    (workload(observedGeneration=1, updatedReplicas=1, readyReplicas=1, availableReplicas=0), "0/1 ready"),
    (workload("StatefulSet", observedGeneration=1, updatedReplicas=1, readyReplicas=1), ""),
    (workload("StatefulSet", observedGeneration=1, updatedReplicas=1, availableReplicas=1), "0/1 ready"),
    (workload("DaemonSet", replicas=None, observedGeneration=1, desiredNumberScheduled=2,
              updatedNumberScheduled=2, numberAvailable=2), ""),
    (workload("DaemonSet", replicas=None, observedGeneration=1, desiredNumberScheduled=2,
              updatedNumberScheduled=2, numberAvailable=1), "1/2 ready"),
    # Argo Rollouts reports observedGeneration as a string, and a phase.
    (workload("Rollout", observedGeneration="1", updatedReplicas=1, availableReplicas=1, phase="Healthy"), ""),
    (workload("Rollout", observedGeneration="1", updatedReplicas=1, availableReplicas=1, phase="Paused",
              message="CanaryPauseStep"), "Paused: CanaryPauseStep"),
    (workload("Rollout", observedGeneration="1", updatedReplicas=1, availableReplicas=1, phase="Degraded",
              message="RolloutAborted: metric error-rate assessed Failed"), "Degraded: RolloutAborted: metric error-rate assessed Failed"),
    (workload("Rollout", observedGeneration="1", updatedReplicas=1, availableReplicas=0, phase="Healthy"), "0/1 ready"),
]


@pytest.mark.parametrize(("item", "problem"), CASES)
def test_rollout_problem(item: dict, problem: str) -> None:
    assert rollout_problem(item) == problem


def test_not_ready_names_each_workload_with_kind_and_counts() -> None:
    ready = workload(**ROLLED_OUT)
    dex = workload(replicas=1, observedGeneration=1) | {"metadata": {"name": "argocd-dex-server", "generation": 1}}
    redis = workload("StatefulSet", generation=3, **ROLLED_OUT) | {"metadata": {"name": "redis", "generation": 3}}
    assert not_ready([ready, dex, redis]) == [
        "argocd-dex-server (Deployment, 0/1 ready)",
        "redis (StatefulSet, its new spec is not observed yet)",
    ]
    assert not_ready([]) == [] and not_ready(None) == []
