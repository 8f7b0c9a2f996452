"""Project-wide pytest set-up: the collection on sys.path, and skips that fail under CI."""

import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from tests.skip_policy import allowed, skips_fail  # noqa: E402  (after the path set-up above)

# The playbooks the tests run generate passwords into the secrets directory: one of the tests' own, not the
# platform's (~/.config/gitops-platform), which Molecule's scenarios use and check while the tests run beside them.
if not os.environ.get("GITOPS_SECRETS_DIR"):
    import atexit  # noqa: E402  (only needed here)
    import shutil  # noqa: E402
    import tempfile  # noqa: E402

    os.environ["GITOPS_SECRETS_DIR"] = tempfile.mkdtemp(prefix="gitops-test-secrets-")
    atexit.register(shutil.rmtree, os.environ["GITOPS_SECRETS_DIR"], ignore_errors=True)


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
