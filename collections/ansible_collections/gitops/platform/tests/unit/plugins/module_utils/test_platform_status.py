from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.platform_status import (
    api_error,
    desired_tag,
    environments_of,
    fullname,
    hpa_cell,
    image_tag,
    served_cell,
    summary,
    truncate,
)

CHART = "demo"
ENVS = [{"name": "dev", "nodeport": 30082}, {"name": "production", "nodeport": 30080, "approval": True}]
DEV, PROD = "helm/demo/values-dev.yaml", "helm/demo/values-production.yaml"
URL = "http://localhost:30080/version"
REFUSED = (
    "Traceback (most recent call last):\n  File \"urllib3/connection.py\", line 73, in create_connection\n"
    "ConnectionRefusedError: [Errno 111] Connection refused\n\nDuring handling ...\n"
    "urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded\n"
)


def node(name: str, ready: str | None = "True") -> dict:
    conditions = [{"type": "MemoryPressure", "status": "False"}] + ([{"type": "Ready", "status": ready}] if ready else [])
    return {"metadata": {"name": name}, "status": {"conditions": conditions}}


def pod(name: str, namespace: str = "demo-dev", tag: str | None = "1.0", phase: str | None = "Running", *ready: bool,
        container: str = CHART) -> dict:
    status = {"containerStatuses": [{"name": f"c{i}", "ready": value} for i, value in enumerate(ready)]} if ready else {}
    image = {"image": f"ghcr.io/acme/demo:{tag}"} if tag else {}
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"containers": [{"name": container, **image}]},
            "status": status | ({"phase": phase} if phase else {})}


def app(env: str = "dev", sync: str | None = "Synced", health: str | None = "Healthy",
        revision: str | None = "0123456789abcdef", name: str | None = None, **spec: object) -> dict:
    status = {"sync": {"status": sync, "revision": revision}, "health": {"status": health}}
    return {"metadata": {"name": name or f"demo-{env}", "namespace": "argocd",
                         "labels": {"app.kubernetes.io/part-of": CHART, "gitops-platform/environment": env}},
            "spec": spec, "status": status}


def hpa(name: str = "demo-production", namespace: str = "demo-production", current: int | None = 2,
        desired: int | None = 3, low: int | None = 2, high: int | None = 4, target: str | None = None) -> dict:
    spec = {"scaleTargetRef": {"kind": "Deployment", "name": target or name}, "maxReplicas": high}
    status = {"currentReplicas": current, "desiredReplicas": desired}
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": spec | ({"minReplicas": low} if low is not None else {}),
            "status": {key: value for key, value in status.items() if value is not None}}


def found(*resources: dict) -> dict:
    return {"changed": False, "api_found": True, "resources": list(resources)}


def values(dev: dict | None = None, production: dict | None = None, base: str | None = "0.1.0",
           app_version: str | None = "0.0.1", **extra: object) -> dict:
    files = {"helm/demo/Chart.yaml": {"image.tag": None, "promotion.pin": None, "appVersion": app_version},
             "helm/demo/values.yaml": {"image.tag": base, "promotion.pin": None, "appVersion": None},
             DEV: {"image.tag": "0.2.0", "promotion.pin": "", "appVersion": None} | (dev or {}),
             PROD: {"image.tag": "0.1.0", "promotion.pin": "", "appVersion": None} | (production or {})}
    return {"changed": False, "files": files, "commit": "a" * 40, "missing": [], "errors": {}} | extra


def served(**by_env: dict) -> dict:
    return {"results": [{"item": {"name": name}, **result} for name, result in by_env.items()]}


UP = found(node("n1"))
OK = {"status": 200, "json": {"name": "demo", "version": "1.2.3"}}
DOWN = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"}
RUNNING = {"nodes": UP, "applications": found(app("dev"), app("production")),
           "pods": found(pod("d1", "demo-dev", "0.2.0", "Running", True),
                         pod("p1", "demo-production", "0.1.0", "Running", True),
                         pod("p2", "demo-production", "0.1.0", "Running", True)),
           "hpas": found(hpa()), "values": values(), "served": served(dev=OK, production=OK)}


def report(results: dict, environments: list | None = None, **options: object) -> dict:
    options = {"namespace_prefix": "demo", "gitops_repo": "http://git/gitops.git"} | options
    return summary(results, ENVS if environments is None else environments, CHART, **options)


def cells(results: dict, env: str = "dev", **options: object) -> dict:
    return next(row for row in report(results, **options)["environments"] if row["name"] == env)


# (what a test calls it, registered results (changes to RUNNING), environment, expected cells)
CASES = [
    # A running platform.
    ("dev", {}, "dev", {"git_tag": "0.2.0", "running": "0.2.0", "pods": "1/1", "commit": "0123456789ab", "sync": "Synced",
                        "health": "Healthy", "hpa": "-", "served": "1.2.3", "pin": "-", "url": "http://localhost:30082/version"}),
    ("production", {}, "production", {"running": "0.1.0", "pods": "2/2", "hpa": "2/3 (2..4)"}),
    # The cluster does not answer: every cell it would fill is unknown; git and the URL still are read.
    ("cluster-down", {"nodes": {"failed": True, "module_stderr": REFUSED}, "applications": {"skipped": True},
                      "pods": {"skipped": True}, "hpas": {"skipped": True}},
     "dev", {"running": "?", "pods": "?", "commit": "?", "sync": "?", "health": "?", "hpa": "?", "git_tag": "0.2.0",
             "served": "1.2.3"}),
    # Applications: missing, no CRD, no status, several revisions, found by label under another name.
    ("app-missing", {"applications": found(app("production"))}, "dev", {"commit": "-", "sync": "missing", "health": "-"}),
    ("app-no-crd", {"applications": {"api_found": False, "resources": []}}, "dev", {"commit": "?", "sync": "?", "health": "?"}),
    ("app-read-failed", {"applications": {"failed": True, "msg": "forbidden"}}, "dev", {"sync": "?"}),
    ("app-no-status", {"applications": found({"metadata": {"name": "demo-dev"}})}, "dev",
     {"commit": "-", "sync": "Unknown", "health": "Unknown"}),
    ("app-out-of-sync", {"applications": found(app("dev", "OutOfSync", "Degraded", None))}, "dev",
     {"commit": "-", "sync": "OutOfSync", "health": "Degraded"}),
    ("app-multi-source", {"applications": found(app("dev", revision=None) | {"status": {"sync": {
        "status": "Synced", "revisions": ["fedcba9876543210", "x"]}}})}, "dev", {"commit": "fedcba987654", "health": "Unknown"}),
    ("app-by-label", {"applications": found(app("dev", name="renamed"))}, "dev", {"sync": "Synced"}),
    ("app-name-first", {"applications": found(app("dev", "OutOfSync", name="renamed"), app("dev"))}, "dev", {"sync": "Synced"}),
    # Pods: per namespace; ready means every container reported and ready; the app's container's tag.
    ("pods-none", {"pods": found()}, "dev", {"pods": "0/0", "running": "-"}),
    ("pods-read-failed", {"pods": {"failed": True, "msg": "forbidden"}}, "dev", {"pods": "?", "running": "?"}),
    ("pods-rollout", {"pods": found(pod("a", "demo-dev", "0.1.0", "Running", True, True),
                                    pod("b", "demo-dev", "0.2.0", "Pending", True, False),
                                    pod("c", "demo-dev", "0.1.0", "Pending"), pod("d", "demo-dev", None, None),
                                    pod("e", "demo-other", "9.9.9", "Running", True))},
     "dev", {"pods": "1/4", "running": "0.1.0,0.2.0,?"}),
    ("pods-sidecar-first", {"pods": found(pod("a") | {"spec": {"containers": [
        {"name": "proxy", "image": "envoy:1.30"}, {"name": CHART, "image": "ghcr.io/acme/demo:0.3.0"}]}})},
     "dev", {"running": "0.3.0"}),
    ("pods-other-container", {"pods": found(pod("a", tag="0.4.0", container="web"))}, "dev", {"running": "0.4.0"}),
    # Autoscalers: the Deployment's (named like it, or scaling it), in the environment's namespace.
    ("hpa-none", {"hpas": found()}, "production", {"hpa": "-"}),
    ("hpa-other-namespace", {"hpas": found(hpa(namespace="demo-dev"))}, "production", {"hpa": "-"}),
    ("hpa-by-target", {"hpas": found(hpa(name="scaler", target="demo-production"))}, "production", {"hpa": "2/3 (2..4)"}),
    ("hpa-no-status", {"hpas": found(hpa(current=None, desired=None, low=None))}, "production", {"hpa": "?/? (1..4)"}),
    ("hpa-release-name", {"applications": found(app("production", source={"helm": {"releaseName": "web"}})),
                          "hpas": found(hpa(name="web-demo"))}, "production", {"hpa": "2/3 (2..4)"}),
    ("hpa-not-served", {"hpas": {"api_found": False, "resources": []}}, "production", {"hpa": "?"}),
    # Git: the environment's tag over values.yaml's, appVersion when empty; the pin; what could not be read.
    ("git-pinned", {"values": values(production={"promotion.pin": "rolled back\nby  alice"})}, "production",
     {"pin": "rolled back by alice", "git_tag": "0.1.0"}),
    ("git-base-tag", {"values": values(dev={"image.tag": None})}, "dev", {"git_tag": "0.1.0"}),
    ("git-app-version", {"values": values(dev={"image.tag": ""})}, "dev", {"git_tag": "0.0.1"}),
    ("git-no-tag", {"values": values(dev={"image.tag": None}, base=None, app_version=None)}, "dev", {"git_tag": "?"}),
    ("git-number", {"values": values(dev={"image.tag": 2})}, "dev", {"git_tag": "2"}),
    ("git-missing-file", {"values": values(missing=[DEV])}, "dev", {"git_tag": "?", "pin": "?"}),
    ("git-failed", {"values": {"failed": True, "msg": "Could not read the values files: boom", "reason": "boom"}}, "dev",
     {"git_tag": "?", "pin": "?", "sync": "Synced"}),
    ("git-skipped", {"values": {"skipped": True}}, "dev", {"git_tag": "?", "pin": "?"}),
    # The version each environment serves.
    ("served-refused", {"served": served(dev=DOWN)}, "dev", {"served": "no answer (Connection refused)"}),
    ("served-timeout", {"served": served(dev={"status": -1, "msg": "Request failed: <urlopen error timed out>"})}, "dev",
     {"served": "no answer (timed out)"}),
    ("served-503", {"served": served(dev={"status": 503, "content": "  upstream\nbroke "})}, "dev",
     {"served": "HTTP 503: upstream broke"}),
    ("served-404-empty", {"served": served(dev={"status": 404, "content": ""})}, "dev", {"served": "HTTP 404"}),
    ("served-not-json", {"served": served(dev={"status": 200, "content": "<html>ok</html>"})}, "dev",
     {"served": "HTTP 200: <html>ok</html>"}),
    ("served-no-version", {"served": served(dev={"status": 200, "json": {"name": "demo"}})}, "dev", {"served": "?"}),
    ("served-json-list", {"served": served(dev={"status": 200, "json": ["1.2.3"]})}, "dev", {"served": "?"}),
    ("served-no-msg", {"served": served(dev={"status": -1})}, "dev", {"served": "no answer (connection failed)"}),
    ("served-skipped", {"served": served(dev={"skipped": True})}, "dev", {"served": "?"}),
    ("served-not-asked", {"served": {"skipped": True}}, "dev", {"served": "?"}),
]


@pytest.mark.parametrize(("changes", "env", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_environment_cells(changes: dict, env: str, expected: dict) -> None:
    row = cells(RUNNING | changes, env)
    assert {key: row[key] for key in expected} == expected


# (what a test calls it, registered results (changes to RUNNING), options, line it checks, expected)
LINES = [
    ("nodes-ready", {"nodes": found(node("n1"), node("n2", "False"), node("n3", None))}, {}, "nodes", "1/3 Ready: n1, n2, n3"),
    ("nodes-empty", {"nodes": found()}, {}, "nodes", "0/0 Ready: "),
    ("nodes-crash", {"nodes": {"failed": True, "module_stderr": REFUSED, "msg": "Module result deserialization failed"}},
     {}, "nodes", "not reachable (Connection refused)"),
    ("nodes-msg", {"nodes": {"failed": True, "msg": "Could not create API client: Invalid kube-config file.\n  No configuration found."}},
     {}, "nodes", "not reachable (Invalid kube-config file. No configuration found.)"),
    ("nodes-nothing", {"nodes": None}, {}, "nodes", "not reachable (the API server does not answer)"),
    ("nodes-long", {"nodes": {"msg": "word " * 40}}, {}, "nodes", f"not reachable ({'word ' * 22}word...)"),
    ("git", {}, {}, "git", f"http://git/gitops.git main at {'a' * 12}"),
    ("git-redacted", {}, {"gitops_repo": "https://bot:s3cret@git.example/g.git", "gitops_branch": "live"}, "git",
     f"https://***@git.example/g.git live at {'a' * 12}"),
    ("git-not-given", {"values": {"skipped": True}}, {"gitops_repo": ""}, "git",
     "git: no repository given (set platform_gitops_repo, or platform_status_gitops_repo)"),
    ("git-failed", {"values": {"failed": True, "msg": "Could not read the values files: boom", "reason": "could not clone x"}},
     {}, "git", "git: could not clone x"),
    ("git-crashed", {"values": {"failed": True, "module_stderr": "Traceback ...\nOSError: no git"}}, {}, "git",
     "git: OSError: no git"),
    ("git-skipped", {"values": {"skipped": True}}, {}, "git", "git: not read"),
    ("notes-none", {}, {}, "notes", []),
    ("notes-cluster-down", {"nodes": {}, "applications": {"skipped": True}}, {}, "notes", []),
    ("notes-no-crd", {"applications": {"api_found": False, "resources": []}}, {}, "notes",
     ["Argo CD      not installed (no Application CRD)"]),
    ("notes-reads-failed", {"applications": {"failed": True, "msg": "forbidden"}, "pods": {"failed": True, "msg": "no"},
                            "hpas": {"failed": True, "msg": "gone"}}, {}, "notes",
     ["Argo CD      Applications not read (forbidden)", "Pods         not read (no)", "Autoscalers  not read (gone)"]),
    ("notes-no-hpa-api", {"hpas": {"api_found": False}}, {}, "notes", ["Autoscalers  not served (no autoscaling/v2 API)"]),
    ("notes-values", {"values": values(missing=[DEV, "helm/demo/Chart.yaml"], errors={PROD: "the file is not valid YAML: x"})},
     {}, "notes", [f"Values       {DEV} is not in the repository", f"Values       {PROD}: the file is not valid YAML: x"]),
]


@pytest.mark.parametrize(("changes", "options", "line", "expected"), [case[1:] for case in LINES],
                         ids=[case[0] for case in LINES])
def test_summary_line(changes: dict, options: dict, line: str, expected: object) -> None:
    assert report(RUNNING | changes, **options)[line] == expected


def test_the_report_of_a_running_platform() -> None:
    shown = report(RUNNING | {"values": values(production={"promotion.pin": "rollback by bob"})})
    assert shown["lines"] == [
        "Nodes        1/1 Ready: n1",
        f"Gitops repo  http://git/gitops.git main at {'a' * 12}",
        "ENVIRONMENT  GIT TAG  RUNNING  PODS  COMMIT        SYNC    HEALTH   HPA         URL                             SERVED  PIN",
        "dev          0.2.0    0.2.0    1/1   0123456789ab  Synced  Healthy  -           http://localhost:30082/version  1.2.3   -",
        "production   0.1.0    0.1.0    2/2   0123456789ab  Synced  Healthy  2/3 (2..4)  http://localhost:30080/version  1.2.3   "
        "rollback by bob",
    ]
    assert [row["line"] for row in shown["environments"]] == shown["lines"][3:]
    assert shown["header"] == shown["lines"][2]
    assert not [line for line in shown["lines"] if line != line.rstrip()]


def test_the_plan_is_the_report_of_no_reads() -> None:
    """summary({}) names what the role reads: each environment's namespace, Application, URL and values file."""
    plan = report({}, [{"name": "dev", "nodeport": 1}, {"name": "qa", "namespace": "q", "url": "https://qa/v"},
                       {"name": "perf"}], version_url="http://{name}.local:{nodeport}/version")
    assert [{key: row[key] for key in ("name", "namespace", "application", "url", "values_file")}
            for row in plan["environments"]] == [
        {"name": "dev", "namespace": "demo-dev", "application": "demo-dev", "url": "http://dev.local:1/version",
         "values_file": DEV},
        {"name": "qa", "namespace": "q", "application": "demo-qa", "url": "https://qa/v/version",
         "values_file": "helm/demo/values-qa.yaml"},
        {"name": "perf", "namespace": "demo-perf", "application": "demo-perf", "url": "",
         "values_file": "helm/demo/values-perf.yaml"},
    ]
    assert plan["values_files"] == ["helm/demo/Chart.yaml", "helm/demo/values.yaml", DEV, "helm/demo/values-qa.yaml",
                                    "helm/demo/values-perf.yaml"]
    assert plan["values_keys"] == ["image.tag", "promotion.pin", "appVersion"]
    assert plan["environments"][2]["served"] == "-"
    assert plan["environments"][2]["line"].split()[8:10] == ["-", "-"]  # no URL, nothing served
    assert plan["lines"][0] == "Nodes        not reachable (the API server does not answer)"


@pytest.mark.parametrize(
    ("environments", "prefix", "chart_path", "expected"),
    [
        ([], "demo", "", []),
        ([{"name": "dev"}], "", "", [("dev", "dev", "helm/demo/values-dev.yaml")]),
        ([{"name": "dev"}], "demo", "charts/x", [("dev", "demo-dev", "charts/x/values-dev.yaml")]),
    ],
)
def test_environments_of(environments: list, prefix: str, chart_path: str, expected: list) -> None:
    assert [(env["name"], env["namespace"], env["values_file"])
            for env in environments_of(environments, CHART, prefix, chart_path=chart_path)] == expected


@pytest.mark.parametrize("environments", [[{"nodeport": 1}], [{"name": ""}], ["dev"]])
def test_an_environment_without_a_name_is_refused(environments: list) -> None:
    with pytest.raises(ValueError, match="environment 1 of the list has no name"):
        environments_of(environments, CHART)


@pytest.mark.parametrize(
    ("release", "chart", "expected"),
    [
        ("demo-flask-app-production", "demo-flask-app", "demo-flask-app-production"),  # contains the chart's name
        ("web", "demo-flask-app", "web-demo-flask-app"),
        ("x" * 70, "demo", "x" * 63),
        ("a" * 58 + "-", "demo", "a" * 58 + "--dem"),
        ("a" * 62 + "-", "a", "a" * 62),  # cut at 63, then the trailing "-" goes
    ],
)
def test_fullname_is_the_chart_helper(release: str, chart: str, expected: str) -> None:
    assert fullname(release, chart) == expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ghcr.io/acme/demo:0.2.0", "0.2.0"),
        ("localhost:5001/demo:064193f-32", "064193f-32"),
        ("demo@sha256:" + "ab" * 32, "@sha256:abababababab"),
        ("demo:1.0@sha256:" + "ab" * 32, "1.0"),
        ("demo", "latest"),
        ("Not An Image", "Not An Image"),
    ],
)
def test_image_tag(image: str, expected: str) -> None:
    assert image_tag(image) == expected


@pytest.mark.parametrize(
    ("env", "base", "chart", "expected"),
    [
        ({"image.tag": "0.2.0"}, {"image.tag": "0.1.0"}, {"appVersion": "0.0.1"}, "0.2.0"),
        ({"image.tag": None}, {"image.tag": "0.1.0"}, {"appVersion": "0.0.1"}, "0.1.0"),
        ({"image.tag": ""}, {"image.tag": "0.1.0"}, {"appVersion": "0.0.1"}, "0.0.1"),  # "" overrides, then default
        ({}, {"image.tag": ""}, {"appVersion": "0.0.1"}, "0.0.1"),
        ({}, {}, {}, "?"),
    ],
)
def test_desired_tag_is_what_the_chart_renders(env: dict, base: dict, chart: dict, expected: str) -> None:
    assert desired_tag(env, base, chart) == expected


@pytest.mark.parametrize(
    ("autoscaler", "expected"),
    [(None, "-"), (hpa(), "2/3 (2..4)"), (hpa(current=0, desired=0, low=1, high=1), "0/0 (1..1)"),
     (hpa(high=None, low=None, current=None, desired=None), "?/? (1..?)")],
)
def test_hpa_cell(autoscaler: dict | None, expected: str) -> None:
    assert hpa_cell(autoscaler) == expected


def test_served_cell_cuts_long_answers() -> None:
    assert served_cell({"status": 500, "content": "word " * 30}) == "HTTP 500: " + "word " * 6 + "word..."
    assert served_cell({"status": -1, "msg": "Request failed: " + "why " * 30}) == "no answer (" + "why " * 13 + "why...)"
    assert served_cell(None) == "?"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"module_stderr": REFUSED}, "Connection refused"),
        ({"module_stderr": "Traceback ...\nkubernetes.config.ConfigException: Invalid kube-config file."},
         "kubernetes.config.ConfigException: Invalid kube-config file."),
        ({"module_stderr": "[Errno -2] Name or service not known"}, "Name or service not known"),
        ({"msg": "Could not create API client: no\n context"}, "no context"),
        ({}, "no answer"),
        (None, "no answer"),
    ],
)
def test_api_error(result: dict | None, expected: str) -> None:
    assert api_error(result) == expected


@pytest.mark.parametrize(
    ("text", "length", "expected"),
    [
        ("short", 10, "short"),
        ("exactly fifteen", 10, "exactly fifteen"),  # within the leeway of 5
        ("one two three four", 10, "one..."),
        ("onetwothreefour!", 10, "onetwot..."),  # no space to cut at
        ("word " * 40, 120, "word " * 22 + "word..."),
    ],
)
def test_truncate_as_jinja_does(text: str, length: int, expected: str) -> None:
    """The lines read as they did when the report was a Jinja template (Jinja's own truncate: ../filter)."""
    assert truncate(text, length) == expected
