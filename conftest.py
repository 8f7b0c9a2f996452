"""Project-wide pytest set-up: the collection on sys.path, and skips that fail under CI."""

import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from tests.skip_policy import allowed, skips_fail  # noqa: E402  (after the path set-up above)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI, report a skip that is not in tests/skip_policy.py's allowlist as a failure."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or not skips_fail() or hasattr(report, "wasxfail"):
        return
    if allowed(item.nodeid):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true, and {item.nodeid} is not in the allowlist of tests/skip_policy.py: {reason}"
    )
