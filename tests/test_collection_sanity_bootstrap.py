"""scripts/collection-sanity.py's stand-in for ansible-test's get-pip download, run exactly as ansible-test runs it.

ansible-test bootstraps pip into each sanity virtualenv with `python quiet_pip.py <pip options> pip==<version>
--no-setuptools --no-wheel` and GET_PIP pointing at its cached get-pip script. The stand-in the sanity script
writes there must give a virtualenv without pip that exact pip, from the wheel beside it and nothing else.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import ansible_test

ROOT = Path(__file__).resolve().parents[1]
QUIET_PIP = Path(ansible_test.__file__).parent / "_util" / "target" / "setup" / "quiet_pip.py"


def load_sanity_script():
    spec = importlib.util.spec_from_file_location("collection_sanity", ROOT / "scripts" / "collection-sanity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stand_in_installs_the_pinned_pip_without_an_index(tmp_path: Path) -> None:
    sanity = load_sanity_script()
    version = sanity.bootstrap_pip_version()
    sanity.CACHE = tmp_path / "cache"
    wheel = f"pip-{version}-py3-none-any.whl"
    cached = Path.home() / ".ansible" / "test" / "cache" / wheel
    if cached.is_file():  # spare PyPI a download; otherwise seed_get_pip fetches it
        sanity.CACHE.mkdir()
        shutil.copyfile(cached, sanity.CACHE / wheel)
    sanity.seed_get_pip()
    script = sanity.CACHE / f"get_pip_{version.replace('.', '_')}.py"
    assert script.is_file() and (sanity.CACHE / wheel).is_file()

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    assert subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, check=False).returncode != 0

    # No index at all: the install must come from the wheel beside the script.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(GET_PIP=str(script), PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_DISABLE_PIP_VERSION_CHECK="1")
    run = subprocess.run(
        [str(python), str(QUIET_PIP), "--disable-pip-version-check", f"pip=={version}", "--no-setuptools", "--no-wheel"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    installed = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=True)
    assert installed.stdout.startswith(f"pip {version} from {target}"), installed.stdout

    # A second seed keeps what is cached.
    before = script.stat().st_mtime_ns
    sanity.seed_get_pip()
    assert script.stat().st_mtime_ns == before
    assert sys.version_info[:2] == tuple(int(part) for part in sanity.PYTHON_VERSION.split("."))
