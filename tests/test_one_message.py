"""One message per failure: a run that fails prints one fatal record, the role's clear message.

Ansible prints a record for every failed task, rescued or not: a probe that fails inside a
block/rescue, or an `until:` loop that runs out of attempts ("Unknown error": ansible-core marks the
result failed without a msg), shows its raw error first and the role's explanation second. The
roles avoid both: probes never fail (failed_when: false), until-loops stop on their last attempt
(`<register>.attempts | default(1) > <retries>`), and one assert/fail then explains the result.

The behaviour tests run the real playbooks (the project's ansible.cfg, inventory and roles) against
failures that need no cluster and no Docker:
  - a kubeconfig whose context points at a closed loopback port (connection refused at once);
  - tests/fake_kube_api.py, an API server in a thread that keeps objects but never reconciles them:
    a Deployment is never rolled out, an Application never syncs, a finalizer never completes, so
    every wait runs into its timeout, the path that printed "Unknown error".
Each asserts rc != 0, exactly one fatal record (a `fatal:`/`FAILED!` line, or a loop item's
`failed:` line; a failure that ignore_errors turns into "...ignoring" still prints one, so it counts
too), one [ERROR] line, the message naming the cause and what to do, and no "Unknown error"
anywhere in the output. The same playbooks on the happy path, and in check mode, must print no
fatal record at all.

The static tests read every task file under roles/ and playbooks/ and fail on an `until:` loop that
can run out of attempts, or on a `rescue:` (a rescued failure has printed its record already). The
until check reads the Jinja syntax tree, not the text: the escape must be a top-level `or` operand
comparing the task's own registered `.attempts` with the task's own `retries` expression, node for
node, the task must not fail on its last attempt (`failed_when: false`), and an assert or fail in
the same file must read the register, so that a wait that timed out cannot pass silently. Neither a
comment, nor an escape on another variable, nor a different bound passes (CHECKER_TABLE below).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import jinja2.nodes as jn
import pytest
import yaml

from tests.fake_kube_api import FakeKubeAPI, write_kubeconfig

PROJECT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
CLOSED = "https://127.0.0.1:1"
CONTEXT = "test"
APP = "demo-flask-app-dev"  # <platform_chart>-<first environment>: the dev Application's name
DEV = ("-e", "environment=dev")  # argocd-refresh.yml for dev alone
FINALIZER = "resources-finalizer.argocd.argoproj.io"

# A failed task prints `fatal: [host]: FAILED! => ...`; a failed loop item `failed: [host] (item=...) => ...`.
FATAL = re.compile(r"^(fatal|failed): |FAILED!")
ERROR = re.compile(r"^\[ERROR\]: ")

# Variables from the environment that the platform reads (inventory/group_vars/all/platform.yml):
# a developer's shell must not change what the tests run.
_ENV_DROP = ("GITOPS_OFFLINE", "GITOPS_GIT_USERNAME", "GITOPS_GIT_PASSWORD", "REGISTRY_USERNAME",
             "REGISTRY_PASSWORD", "DOCKER_HOST", "KUBECONFIG", "GITOPS_CACHE_DIR", "ANSIBLE_CONFIG")


# Objects for the fake API server, and what its "controllers" do when an object is written.

def _namespace(name: str, **meta: object) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, **meta}}


def _crd(name: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name}, "status": {"conditions": [{"type": "Established", "status": "True"}]}}


def _application(**meta: object) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": APP, "namespace": "argocd",
                         "labels": {"app.kubernetes.io/managed-by": "gitops-platform", "app.kubernetes.io/part-of": "demo-flask-app"},
                         **meta},
            "spec": {"source": {"repoURL": "http://example.invalid/x.git"}},
            "status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Progressing"}}}


def _workload(kind: str, name: str) -> dict:
    container = {"name": name, "image": "quay.io/argoproj/argocd:v0"}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [container]}}}}


KUBE_SYSTEM = _namespace("kube-system")
ARGO_CRDS = [_crd(f"{plural}.argoproj.io") for plural in ("applications", "applicationsets", "appprojects")]
ADMIN_SECRET = {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "argocd-initial-admin-secret", "namespace": "argocd"},
                "data": {"password": "bm90LWEtcmVhbC1wYXNzd29yZA=="}}
# The smallest manifest the argocd role accepts as Argo CD's: its three CRDs and two workloads.
MANIFEST = [
    *({key: value for key, value in crd.items() if key != "status"} for crd in ARGO_CRDS),
    _workload("Deployment", "argocd-server"),
    _workload("StatefulSet", "argocd-application-controller"),
]


def _establish_crds(obj: dict) -> None:
    """What the API server does for a new CRD; all this fake does unless told otherwise."""
    if obj["kind"] == "CustomResourceDefinition":
        obj["status"] = {"conditions": [{"type": "Established", "status": "True"}]}


def _workload_status(obj: dict, ready: int) -> None:
    if obj["kind"] in ("Deployment", "StatefulSet"):
        obj["status"] = {"observedGeneration": obj["metadata"]["generation"], "replicas": 1, "updatedReplicas": 1,
                         "readyReplicas": ready, "availableReplicas": ready}


def _pods_never_start(obj: dict) -> None:
    """Argo CD's workloads are accepted but their pods never become ready (say, images not pulled)."""
    _establish_crds(obj)
    _workload_status(obj, ready=0)


def _roll_out(obj: dict) -> None:
    """Argo CD's workloads come up at once."""
    _establish_crds(obj)
    _workload_status(obj, ready=1)


def _argo_cd_syncs(obj: dict) -> None:
    """Argo CD syncs every Application at once and has already honoured the refresh annotation."""
    _establish_crds(obj)
    if obj["kind"] == "Application":
        spec = obj.get("spec", {})
        obj["metadata"].get("annotations", {}).pop("argocd.argoproj.io/refresh", None)
        compared = {"source": spec.get("source", {}), "destination": spec.get("destination", {})}
        obj["status"] = {"sync": {"status": "Synced", "revision": "0123456789abcdef", "comparedTo": compared},
                         "health": {"status": "Healthy"}, "operationState": {"phase": "Succeeded", "message": "ok"}}


@dataclass(frozen=True)
class Case:
    """One run: the playbook and its -e arguments, and what its single message must say.

    `api` is "closed" (the context's server refuses connections) or "fake" (tests/fake_kube_api.py
    seeded with `seed`, `on_store` applied to every object written). `says` are case-insensitive
    substrings of the fatal message: the cause first, then what to do. In `args`, {manifest} and
    {bad_manifest} name files the test writes.
    """

    id: str
    playbook: str
    args: tuple[str, ...]
    says: tuple[str, ...] = ()
    api: str = "closed"
    seed: tuple[dict, ...] = ()
    on_store: Callable[[dict], None] | None = field(default=_establish_crds, compare=False)


# The test's small manifest is not Argo CD's release file, so the pinned checksum is switched off.
MANIFEST_ARG = ("-e", "argocd_manifest_path={manifest}", "-e", "argocd_manifest_checksum=")
STUCK_APP = _application(finalizers=[FINALIZER])

FAILURES = [
    # The cluster does not answer: each role's first call to the API server, or the refresh's.
    Case("app-cluster-down", "playbooks/app.yml", (),
         ("does not answer", "connection refused", "create it first")),
    Case("argocd-cluster-down", "playbooks/argocd.yml", MANIFEST_ARG,
         ("does not answer", "connection refused", "create it first")),
    Case("refresh-cluster-down", "playbooks/argocd-refresh.yml", DEV,
         (f"could not refresh application argocd/{APP}", "connection refused", "playbooks/cluster.yml")),
    Case("refresh-wait-cluster-down", "playbooks/argocd-refresh.yml",
         (*DEV, "-e", "argocd_app_refresh=false", "-e", "argocd_refresh_timeout=2"),
         (f"application argocd/{APP} was not synced and healthy after 2s", "connection refused",
          "playbooks/cluster.yml")),
    Case("cluster-existing-down", "playbooks/cluster.yml", ("-e", "platform_cluster_provider=existing"),
         ("does not answer", "connection refused", "fix kind_cluster_kube_context")),
    Case("cluster-existing-no-context", "playbooks/cluster.yml",
         ("-e", "platform_cluster_provider=existing", "-e", "kind_cluster_kube_context=nosuch"),
         ("context nosuch", "expected object with name nosuch", "fix kind_cluster_kube_context")),
    Case("teardown-existing-down", "playbooks/teardown.yml", ("-e", "platform_cluster_provider=existing"),
         ("does not answer", "fix the context")),
    Case("teardown-keep-not-boolean", "playbooks/teardown.yml", ("-e", "teardown_keep_services=maybe"),
         ("teardown_keep_services is maybe", "give true")),
    # Failures before any cluster: the manifest, Docker, the app's NodePort.
    Case("argocd-download-fails", "playbooks/argocd.yml",
         ("-e", "argocd_manifest_url=http://127.0.0.1:1/install.yaml"),
         ("could not download the argo cd", "connection refused", "set argocd_manifest_path")),
    Case("argocd-manifest-not-pinned", "playbooks/argocd.yml", ("-e", "argocd_manifest_path={manifest}"),
         ("does not match the sha256 pinned for argo cd", "replace it with the release's file")),
    Case("argocd-manifest-not-yaml", "playbooks/argocd.yml",
         ("-e", "argocd_manifest_path={bad_manifest}", "-e", "argocd_manifest_checksum="),
         ("is not valid yaml", "line 2", "replace it with argo cd")),
    Case("registry-docker-down", "playbooks/registry.yml",
         ("-e", "platform_registry_username=someone", "-e", "platform_registry_password=something",
          "-e", "registry_login_docker_host=tcp://127.0.0.1:1"),
         ("docker daemon at tcp://127.0.0.1:1 does not answer", "start docker")),
    Case("smoke-app-down", "playbooks/smoke.yml",
         ("-e", '{"platform_environments": [{"name": "dev", "nodeport": 1}]}', "-e", "smoke_wait_timeout=2"),
         ("http://localhost:1/healthz did not answer 200 within 2s", "connection refused", "playbooks/status.yml")),
    # Waits that run out of time against an API server that never reconciles ("Unknown error").
    Case("refresh-never-syncs", "playbooks/argocd-refresh.yml", (*DEV, "-e", "argocd_refresh_timeout=2"),
         (f"application argocd/{APP} was not synced and healthy after 2s", "sync=outofsync", "kubectl -n argocd"),
         api="fake", seed=(_application(),)),
    Case("app-never-syncs", "playbooks/app.yml", ("-e", "argocd_app_wait_timeout=2"),
         (f"application argocd/{APP}, demo-flask-app-staging, demo-flask-app-production was not synced and healthy after 2s",
          f"{APP}: sync=unknown", "kubectl -n argocd"),
         api="fake", seed=(KUBE_SYSTEM, *ARGO_CRDS)),
    Case("argocd-crds-never-established", "playbooks/argocd.yml", (*MANIFEST_ARG, "-e", "argocd_wait_timeout=1"),
         ("argo cd crds were not established within 1s: applications.argoproj.io", "kubectl get crd"),
         api="fake", seed=(KUBE_SYSTEM,), on_store=None),
    Case("argocd-never-ready", "playbooks/argocd.yml", (*MANIFEST_ARG, "-e", "argocd_wait_timeout=1"),
         ("argo cd components did not become ready within 1s: argocd-server (deployment, 0/1 ready)",
          "kubectl -n argocd get pods"),
         api="fake", seed=(KUBE_SYSTEM,), on_store=_pods_never_start),
    Case("argocd-no-admin-secret", "playbooks/argocd.yml", (*MANIFEST_ARG, "-e", "argocd_wait_timeout=1"),
         ("secret argocd/argocd-initial-admin-secret did not appear within 1s", "kubectl -n argocd logs"),
         api="fake", seed=(KUBE_SYSTEM,), on_store=_roll_out),
    Case("argocd-absent-app-stuck", "playbooks/argocd.yml",
         ("-e", "argocd_state=absent", "-e", "argocd_wait_timeout=1"),
         ("still being deleted after 1s", "argocd_strip_finalizers=true"),
         api="fake", seed=(KUBE_SYSTEM, *ARGO_CRDS, _namespace("argocd"), STUCK_APP)),
    Case("argocd-absent-namespace-stuck", "playbooks/argocd.yml",
         ("-e", "argocd_state=absent", "-e", "argocd_wait_timeout=1"),
         ("namespace argocd was still terminating after 1s", "argocd_strip_finalizers=true"),
         api="fake", seed=(KUBE_SYSTEM, _namespace("argocd", finalizers=["kubernetes"]))),
    Case("app-absent-stuck", "playbooks/app.yml",
         ("-e", "argocd_app_state=absent", "-e", "argocd_app_delete_timeout=1"),
         (f"application argocd/{APP} was still being deleted after 1s",
          "logs statefulset/argocd-application-controller"),
         api="fake", seed=(KUBE_SYSTEM, *ARGO_CRDS, STUCK_APP)),
]

# The same playbooks when nothing fails: no fatal record at all (a rescued probe printed one even
# then), and check mode still runs through.
SUCCESSES = [
    Case("argocd-installs", "playbooks/argocd.yml", (*MANIFEST_ARG, "-e", "argocd_wait_timeout=1"),
         api="fake", seed=(KUBE_SYSTEM, ADMIN_SECRET), on_store=_roll_out),
    Case("argocd-check-mode", "playbooks/argocd.yml", (*MANIFEST_ARG, "--check", "--diff"),
         api="fake", seed=(KUBE_SYSTEM,)),
    Case("app-syncs", "playbooks/app.yml", ("-e", "argocd_app_wait_timeout=2"),
         api="fake", seed=(KUBE_SYSTEM, *ARGO_CRDS), on_store=_argo_cd_syncs),
    Case("app-check-mode", "playbooks/app.yml", ("--check", "--diff"),
         api="fake", seed=(KUBE_SYSTEM, *ARGO_CRDS)),
    Case("refresh-syncs", "playbooks/argocd-refresh.yml", (*DEV, "-e", "argocd_refresh_timeout=2"),
         api="fake", seed=(_application(),), on_store=_argo_cd_syncs),
    Case("app-absent", "playbooks/app.yml", ("-e", "argocd_app_state=absent", "-e", "argocd_app_delete_timeout=1"),
         api="fake", seed=(KUBE_SYSTEM, *ARGO_CRDS, _application())),
]


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def fatal_lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if FATAL.search(line)]

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if ERROR.search(line)]

    @property
    def message(self) -> str:
        """The msg of the first fatal record, whitespace folded."""
        payload = self.fatal_lines[0].split(" => ", 1)[-1]
        try:
            msg = json.loads(payload).get("msg", "")
        except json.JSONDecodeError:
            msg = payload
        return " ".join(str(msg).split())

    def tail(self) -> str:
        return "\n".join((self.stdout + self.stderr).splitlines()[-60:])


def _run(case: Case, tmp_path: Path, server: str) -> Run:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server, CONTEXT)
    files = {"manifest": tmp_path / "manifest.yaml", "bad_manifest": tmp_path / "bad-manifest.yaml"}
    files["manifest"].write_text(yaml.safe_dump_all(MANIFEST))
    files["bad_manifest"].write_text("kind: [Deployment\n  metadata: : :\n")
    args = list(case.args)
    for name, path in files.items():
        args = [arg.replace("{" + name + "}", str(path)) for arg in args]
    env = {key: value for key, value in os.environ.items() if key not in _ENV_DROP}
    env.update({
        "HOME": str(home),  # the admin password file and ~/.ansible
        "TMPDIR": str(tmp_path / "tmp"),  # the kubernetes client's discovery cache
        "GITOPS_CACHE_DIR": str(tmp_path / "cache"),
        "KUBECONFIG": str(kubeconfig),
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    })
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), case.playbook,
         "-e", f"platform_kubeconfig={kubeconfig}", "-e", f"platform_kube_context={CONTEXT}",
         "-e", "platform_gitops_repo=http://example.invalid/x.git", *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _run_against_api(case: Case, tmp_path: Path) -> Run:
    if case.api == "closed":
        return _run(case, tmp_path, CLOSED)
    with FakeKubeAPI(on_store=case.on_store) as api:
        api.seed(*case.seed)
        return _run(case, tmp_path, api.url)


def _assert_one_clear_message(case: Case, run: Run) -> None:
    assert run.rc != 0, f"{case.playbook} succeeded:\n{run.tail()}"
    assert "Unknown error" not in run.stdout + run.stderr, run.tail()
    assert len(run.fatal_lines) == 1, (
        f"{len(run.fatal_lines)} fatal records instead of one:\n" + "\n".join(line[:400] for line in run.fatal_lines))
    assert len(run.error_lines) == 1, "\n".join(run.error_lines)
    assert "...ignoring" not in run.stdout, run.tail()
    missing = [text for text in case.says if text.lower() not in run.message.lower()]
    assert not missing, f"the message does not say {missing}: {run.message}"


@pytest.mark.parametrize("case", FAILURES, ids=[case.id for case in FAILURES])
def test_a_failure_prints_one_clear_message(case: Case, tmp_path: Path) -> None:
    _assert_one_clear_message(case, _run_against_api(case, tmp_path))


def test_a_host_port_in_use_is_reported_once(tmp_path: Path) -> None:
    """kind_cluster's check that the ports to publish are free, which ran in a block/rescue.

    Its preflight needs kind and a Docker daemon, so the run starts at tasks/present.yml with the
    two facts the preflight would have set: no cluster yet, no oom_score_adj restriction.
    """
    playbook = tmp_path / "present.yml"
    include = {"name": "kind_cluster", "tasks_from": "present"}
    playbook.write_text(yaml.safe_dump([{
        "name": "Run kind_cluster from its present step", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Create the cluster", "ansible.builtin.include_role": include}],
    }], sort_keys=False))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # Only the busy port: the other environments' and the components' ports may be taken by a platform that
        # runs meanwhile (make test runs these tests beside Molecule's clusters).
        variables = {"kind_cluster_app_host_port": port, "kind_cluster_app_listen_address": "127.0.0.1",
                     "kind_cluster_environment_ports": [], "kind_cluster_extra_port_mappings": [],
                     "__kind_cluster_exists": False, "__kind_cluster_restrict_oom": False}
        case = Case("kind-port-in-use", str(playbook), ("-e", json.dumps(variables)),
                    (f"host port {port} is already in use", "stop what listens there",
                     "set kind_cluster_app_host_port"))
        run = _run(case, tmp_path, CLOSED)
    _assert_one_clear_message(case, run)


@pytest.mark.parametrize("case", SUCCESSES, ids=[case.id for case in SUCCESSES])
def test_a_run_that_succeeds_prints_no_fatal_record(case: Case, tmp_path: Path) -> None:
    run = _run_against_api(case, tmp_path)
    assert run.rc == 0, run.tail()
    assert not run.fatal_lines and not run.error_lines, run.tail()
    assert "rescued=0" in run.stdout and "ignored=0" in run.stdout, run.tail()


# The static checks.

_TASK_LISTS = ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
_JINJA = jinja2.Environment()


@dataclass(frozen=True)
class Task:
    path: str  # relative to the project
    task: dict

    @property
    def id(self) -> str:
        return f"{self.path}::{self.task.get('name', '?')}"


def _walk(node: object) -> Iterator[dict]:
    """Every task and block of a task file or playbook, blocks and plays opened."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        if "hosts" not in node and "import_playbook" not in node:
            yield node
        for key in _TASK_LISTS:
            if key in node:
                yield from _walk(node[key])


def _task_files() -> list[Path]:
    roles, playbooks = PROJECT / "roles", PROJECT / "playbooks"
    return sorted({*roles.glob("*/tasks/**/*.yml"), *roles.glob("*/handlers/**/*.yml"),
                   *playbooks.glob("*.yml"), *playbooks.glob("tasks/**/*.yml")})


def _tasks() -> list[Task]:
    return [Task(str(path.relative_to(PROJECT)), task)
            for path in _task_files() for task in _walk(yaml.safe_load(path.read_text()))]


def _expression(value: object) -> jn.Node:
    """The Jinja expression of a conditional (bare) or of a templated value ("{{ ... }}")."""
    if isinstance(value, (bool, int)):
        return jn.Const(value)
    text = str(value).strip()
    match = re.fullmatch(r"\{\{(.*)\}\}", text, re.S)
    source = match.group(1) if match else text
    if not match and re.fullmatch(r"\d+", source):
        return jn.Const(int(source))
    return _JINJA.parse("{{ (" + source + ") }}").body[0].nodes[0]


def _strip(node: jn.Node) -> jn.Node:
    """`x | default(...)` and `x | int` are `x` for this check."""
    while isinstance(node, jn.Filter) and node.name.split(".")[-1] in ("default", "d", "int"):
        node = node.node
    return node


def _disjuncts(node: jn.Node) -> list[jn.Node]:
    if isinstance(node, jn.Or):
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]


def _is_attempts_of(node: jn.Node, register: str) -> bool:
    node = _strip(node)
    if isinstance(node, jn.Getattr):
        attr, base = node.attr, node.node
    elif isinstance(node, jn.Getitem) and isinstance(node.arg, jn.Const):
        attr, base = node.arg.value, node.node
    else:
        return False
    return attr == "attempts" and isinstance(base, jn.Name) and base.name == register


def until_problems(task: dict) -> list[str]:
    """Why this until-loop can end in a failed result (ansible-core's "ran out of attempts"), or []."""
    until = task["until"]
    if isinstance(until, list):  # every item must hold, so no item can be an escape
        until = " and ".join(f"({item})" for item in until)
    register, retries = task.get("register"), task.get("retries")
    problems = []
    if not register:
        problems.append("no register: nothing can count its attempts or explain its result")
    if retries is None:
        problems.append("no retries: the bound must be explicit")
    if task.get("failed_when") is not False:
        problems.append("no `failed_when: false`: a probe failing on its last attempt prints its raw error")
    if register and retries is not None:
        bound = _strip(_expression(retries))
        escapes = [
            node for node in _disjuncts(_expression(until))
            if isinstance(node, jn.Compare) and len(node.ops) == 1 and node.ops[0].op in ("gt", "gteq")
            and _is_attempts_of(node.expr, register) and _strip(node.ops[0].expr) == bound
        ]
        if not escapes:
            problems.append(f"until has no top-level `or {register}.attempts | default(1) > <retries>` escape")
    return problems


def _verdict_problems(task: Task, tasks: list[Task]) -> list[str]:
    """The loop's result must be judged: an assert or fail in the same file reads the register."""
    register = task.task.get("register", "")
    for other in tasks:
        judges = any(key.split(".")[-1] in ("assert", "fail") for key in other.task)
        if other.path == task.path and judges and register and register in json.dumps(other.task, default=str):
            return []
    return [f"no assert or fail in {task.path} reads {register}: a wait that timed out would pass silently"]


# Files that others own (edited in parallel, or outside this change): strict xfails, so that the
# suite fails as soon as one of them is fixed and the entry can go.
NOT_YET: dict[str, str] = {}

ALL_TASKS = _tasks()
UNTIL_TASKS = [task for task in ALL_TASKS if "until" in task.task]
RESCUE_TASKS = [task for task in ALL_TASKS if "rescue" in task.task]


def _params(tasks: list[Task]) -> list:
    return [pytest.param(task, id=task.id, marks=[pytest.mark.xfail(strict=True, reason=NOT_YET[task.path])]
                         if task.path in NOT_YET else []) for task in tasks]


def test_the_static_checks_see_the_task_files() -> None:
    """Guards the walker: a check over nothing would pass."""
    assert len(_task_files()) > 50
    assert len(UNTIL_TASKS) >= 5, [task.id for task in UNTIL_TASKS]
    assert "roles/argocd_app/tasks/sync.yml" in {task.path for task in UNTIL_TASKS}
    assert any("block" in task.task for task in ALL_TASKS), "the walker must see blocks, where rescue would sit"


@pytest.mark.parametrize("task", _params(UNTIL_TASKS))
def test_until_loops_stop_on_their_last_attempt(task: Task) -> None:
    problems = until_problems(task.task) + _verdict_problems(task, ALL_TASKS)
    assert not problems, f"{task.id}: " + "; ".join(problems)


@pytest.mark.parametrize("task", _params(RESCUE_TASKS) or [pytest.param(None, id="none")])
def test_no_rescue_blocks(task: Task | None) -> None:
    """A rescued task has printed its fatal record already: register, judge, clean up, then fail once."""
    assert task is None, f"{task.id}: rescue: register the result with failed_when: false, clean up, fail once"


def _loop(until: object, **task: object) -> dict:
    return {"until": until, "register": "r", "retries": 30, "failed_when": False, **task}


CHECKER_TABLE = [
    (_loop("r.status == 200 or r.attempts | default(1) > 30"), []),
    (_loop("r.status == 200 or r.attempts | default(1) > (t | int / 2) | int", retries="{{ (t | int / 2) | int }}"),
     []),
    (_loop(["r.status == 200", "r.attempts | default(1) > 30"]), ["escape"]),
    (_loop("r.status == 200 or r.attempts | default(1) > 30", failed_when=None), ["failed_when"]),
    (_loop("r.status == 200 or other.attempts | default(1) > 30"), ["escape"]),
    (_loop("r.status == 200 or r.attempts | default(1) > 31"), ["escape"]),
    (_loop("r.status == 200 and r.attempts | default(1) > 30"), ["escape"]),
    (_loop("r.status == 200  # or r.attempts > 30"), ["escape"]),
    (_loop("r.status == 200 or r.attempts | default(1) > 30", retries=None), ["no retries"]),
]


@pytest.mark.parametrize(("task", "expected"), CHECKER_TABLE, ids=[str(i) for i in range(len(CHECKER_TABLE))])
def test_the_until_check_cannot_be_fooled(task: dict, expected: list[str]) -> None:
    task = {key: value for key, value in task.items() if value is not None}
    try:
        problems = until_problems(task)
    except jinja2.TemplateSyntaxError as error:
        problems = [f"escape: not an expression ({error})"]
    assert len(problems) == len(expected), problems
    for problem, word in zip(problems, expected):
        assert word in problem, problems
