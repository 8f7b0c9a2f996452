from __future__ import annotations

import jinja2
import pytest

from ansible_collections.gitops.platform.plugins.filter.platform import FilterModule
from ansible_collections.gitops.platform.plugins.module_utils.platform_status import truncate

FILTERS = FilterModule().filters()
URL = "http://localhost:30080/version"


def test_platform_status_filter_reads_registered_results() -> None:
    results = {"nodes": {"resources": [{"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]},
               "applications": {"api_found": False, "resources": []}, "pods": {"skipped": True},
               "served": {"results": [{"item": {"name": "dev"}, "status": 200, "json": {"version": "0.2.0"}}]}}
    report = FILTERS["platform_status"](results, [{"name": "dev", "nodeport": 30080}], "demo", "demo")
    assert report["nodes"] == "1/1 Ready: n1"
    assert report["notes"][0] == "Argo CD      not installed (no Application CRD)"
    row = report["environments"][0]
    assert (row["sync"], row["pods"], row["served"], row["url"]) == ("?", "?", "0.2.0", URL)


@pytest.mark.parametrize(
    ("result", "arguments", "expected"),
    [
        ({"module_stderr": "ConnectionRefusedError: [Errno 111] Connection refused\n"}, (), "Connection refused"),
        ({}, ("the API server does not answer",), "the API server does not answer"),
        ({"msg": "a b c d e f g h i j k l m n o p"}, ("", 10), "a b c..."),
    ],
)
def test_kube_api_error_filter(result: dict, arguments: tuple, expected: str) -> None:
    assert FILTERS["kube_api_error"](result, *arguments) == expected


@pytest.mark.parametrize("length", [5, 10, 80, 120])
@pytest.mark.parametrize("text", ["", "short", "one two three four five six", "onetwothreefourfivesixseven", "word " * 40])
def test_truncate_is_jinjas(text: str, length: int) -> None:
    """The report's lines are cut exactly as the Jinja template that they replace cut them."""
    environment = jinja2.Environment()
    assert truncate(text, length) == environment.filters["truncate"](environment, text, length)
