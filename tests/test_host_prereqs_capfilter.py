"""roles/host_prereqs' runc wrapper install, check and removal, run by ansible-playbook against a fake Docker.

No Docker daemon is involved: every path the role writes (wrapper, its configuration, daemon.json, log)
points into the test's temporary directory, and `docker` and `start-stop-daemon` on PATH are fakes.
The fake `docker` answers `docker info` with the default runtime of the configuration it "loaded";
the fake `start-stop-daemon --stop --signal HUP` loads the test's daemon.json, as dockerd does on
SIGHUP. The role's dockerd path points at a file that does not exist, so even a real
start-stop-daemon would have nothing to signal.

What this cannot show (a real dockerd reading the file, kind nodes starting through the wrapper) is
listed in roles/host_prereqs/README.md.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ansible_run import Run

PROJECT = Path(__file__).resolve().parents[1]
ROLE = PROJECT / "roles" / "host_prereqs"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
NAME = "runc-capfilter"

# The role's own entry point (its argument spec validates the test's variables), without the tools.
PLAYBOOK = """\
---
- name: Apply host_prereqs with the test's paths
  hosts: localhost
  gather_facts: true
  gather_subset: ["!all", "!min", user, service_mgr, distribution]
  tasks:
    - name: Apply the role under test
      ansible.builtin.include_role:
        name: host_prereqs
"""

FAKE_DOCKER = f"""\
#!{sys.executable}
import json, os, sys
state = os.environ["FAKE_DOCKER_STATE"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps(["docker", *args]) + "\\n")
def load(name, default):
    try:
        with open(os.path.join(state, name)) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
containers = load("containers.json", [])
if args[:1] == ["version"]:
    print("20.10.24+dfsg1")
elif args[:1] == ["info"] and os.path.exists(os.path.join(state, "info-fails")):
    sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
elif args[:1] == ["info"] and "DefaultRuntime" in " ".join(args):
    print(load("loaded.json", {{"default_runtime": "runc"}})["default_runtime"])
elif args[:1] == ["ps"]:
    print("\\n".join(c["id"] for c in containers))
elif args[:1] == ["inspect"]:
    for c in containers:
        if c["id"] in args:
            print("/" + c["name"], c["runtime"])
else:
    sys.exit("fake docker: unexpected " + " ".join(args))
"""

FAKE_START_STOP_DAEMON = f"""\
#!{sys.executable}
import json, os, sys
state = os.environ["FAKE_DOCKER_STATE"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps(["start-stop-daemon", *args]) + "\\n")
if "--stop" in args and "HUP" in args and not os.path.exists(os.path.join(state, "ignore-reload")):
    try:
        with open(os.environ["FAKE_DOCKER_DAEMON_JSON"]) as handle:
            default = json.load(handle).get("default-runtime", "runc")
    except FileNotFoundError:
        default = "runc"
    with open(os.path.join(state, "loaded.json"), "w") as handle:
        json.dump({{"default_runtime": default}}, handle)
"""

NVIDIA_FILE = (
    '{\n    "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": ["--debug"]}},\n'
    '    "default-runtime": "nvidia",\n    "log-level": "warn"\n}\n'
)


class FakeHost:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "fakebin"
        self.state = root / "docker-state"
        for directory in (self.bin, self.state, root / "etc" / "docker"):
            directory.mkdir(parents=True)
        for name, script in (("docker", FAKE_DOCKER), ("start-stop-daemon", FAKE_START_STOP_DAEMON)):
            (self.bin / name).write_text(script)
            (self.bin / name).chmod(0o755)
        self.daemon_json = root / "etc" / "docker" / "daemon.json"
        self.wrapper = root / "libexec" / NAME
        self.wrapper_config = root / "libexec" / f"{NAME}.json"
        self.log = root / "log" / f"{NAME}.log"
        self.dockerd = root / "no-such-dockerd"
        self.playbook = root / "play.yml"
        self.playbook.write_text(PLAYBOOK)

    def apply(self, mode: str, *flags: str) -> Run:
        variables = {
            "ansible_become": False,
            "host_prereqs_tools": [],
            "host_prereqs_tools_source": "release",
            "host_prereqs_docker_capfilter": mode,
            "host_prereqs_capfilter_path": str(self.wrapper),
            "host_prereqs_capfilter_log": str(self.log),
            "host_prereqs_docker_daemon_json": str(self.daemon_json),
            "__host_prereqs_service_managers": [],
            "__host_prereqs_dockerd": str(self.dockerd),
        }
        varfile = self.root / "vars.json"
        varfile.write_text(json.dumps(variables))
        env = {
            "PATH": f"{self.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.root),
            "ANSIBLE_ROLES_PATH": str(PROJECT / "roles"),
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
            "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(self.root / "ansible-tmp"),
            "FAKE_DOCKER_STATE": str(self.state),
            "FAKE_DOCKER_DAEMON_JSON": str(self.daemon_json),
        }
        proc = subprocess.run([str(ANSIBLE_PLAYBOOK), str(self.playbook), "-e", f"@{varfile}", *flags],
                              cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
        return Run(proc.returncode, proc.stdout + proc.stderr)

    def reloads(self) -> list[list[str]]:
        calls = self.state / "calls.log"
        lines = calls.read_text().splitlines() if calls.exists() else []
        return [call for call in map(json.loads, lines) if call[0] == "start-stop-daemon"]

    def loaded_default_runtime(self) -> str:
        loaded = self.state / "loaded.json"
        return json.loads(loaded.read_text())["default_runtime"] if loaded.exists() else "runc"

    def docker_loads(self, default_runtime: str) -> None:
        (self.state / "loaded.json").write_text(json.dumps({"default_runtime": default_runtime}))


@pytest.fixture()
def host(tmp_path: Path) -> FakeHost:
    return FakeHost(tmp_path)


def test_install_is_checked_applied_idempotent_and_removed_without_a_trace(host: FakeHost) -> None:
    check = host.apply("always", "--check", "--diff")
    assert check.rc == 0, check.output
    assert check.changed > 0
    assert not host.daemon_json.exists() and not host.wrapper.exists() and not host.wrapper_config.exists()
    assert host.reloads() == [], "check mode reloads nothing"

    first = host.apply("always")
    assert first.rc == 0, first.output
    assert json.loads(host.daemon_json.read_text()) == {
        "default-runtime": NAME, "runtimes": {NAME: {"path": str(host.wrapper)}},
    }
    assert host.wrapper.read_bytes() == (ROLE / "files" / NAME).read_bytes()
    assert stat.S_IMODE(host.wrapper.stat().st_mode) == 0o755
    config = json.loads(host.wrapper_config.read_text())
    assert config["runtime"] == "runc" and config["runtime_args"] == []
    assert config["log"] == str(host.log) and config["previous_daemon_json"] is None
    docker_calls = [json.loads(line) for line in (host.state / "calls.log").read_text().splitlines()]
    assert ["docker", "info", "--format", "{{ .DefaultRuntime }}"] in docker_calls, "the fake docker answered"
    [reload] = host.reloads()
    assert reload[reload.index("--exec") + 1] == str(host.dockerd), "only the test's (missing) dockerd is named"
    assert host.loaded_default_runtime() == NAME

    again = host.apply("always")
    assert again.rc == 0, again.output
    assert again.changed == 0, again.output
    assert len(host.reloads()) == 1

    check_removal = host.apply("absent", "--check")
    assert check_removal.rc == 0, check_removal.output
    assert check_removal.changed > 0
    assert host.daemon_json.exists() and host.wrapper.exists() and len(host.reloads()) == 1

    removal = host.apply("absent")
    assert removal.rc == 0, removal.output
    assert not host.daemon_json.exists(), "there was no daemon.json before the install"
    assert not host.wrapper.exists() and not host.wrapper_config.exists()
    assert len(host.reloads()) == 2 and host.loaded_default_runtime() == "runc"

    removed_again = host.apply("absent")
    assert removed_again.rc == 0, removed_again.output
    assert removed_again.changed == 0, removed_again.output
    assert len(host.reloads()) == 2


def test_previous_default_runtime_is_wrapped_and_given_back_byte_for_byte(host: FakeHost) -> None:
    host.daemon_json.write_text(NVIDIA_FILE)
    host.docker_loads("nvidia")

    install = host.apply("always")
    assert install.rc == 0, install.output
    installed = json.loads(host.daemon_json.read_text())
    assert installed["default-runtime"] == NAME
    assert installed["runtimes"]["nvidia"] == json.loads(NVIDIA_FILE)["runtimes"]["nvidia"]
    assert installed["log-level"] == "warn"
    config = json.loads(host.wrapper_config.read_text())
    assert config["runtime"] == "/usr/bin/nvidia-container-runtime" and config["runtime_args"] == ["--debug"]
    assert host.loaded_default_runtime() == NAME

    removal = host.apply("absent")
    assert removal.rc == 0, removal.output
    assert host.daemon_json.read_text() == NVIDIA_FILE
    assert host.loaded_default_runtime() == "nvidia"
    assert not host.wrapper.exists()


def test_a_default_runtime_it_cannot_wrap_is_refused_before_anything_is_written(host: FakeHost) -> None:
    original = '{"default-runtime": "custom"}'
    host.daemon_json.write_text(original)
    run = host.apply("always")
    assert run.rc != 0
    assert "custom" in run.output and "not defined" in run.output
    assert host.daemon_json.read_text() == original
    assert not host.wrapper.exists() and host.reloads() == []


def test_daemon_not_using_the_wrapper_is_reloaded_or_the_run_fails_clearly(host: FakeHost) -> None:
    assert host.apply("always").rc == 0
    host.docker_loads("runc")  # e.g. dockerd restarted with an older configuration

    check = host.apply("always", "--check")
    assert check.rc == 0, check.output
    assert check.changed == 1, "check mode says it would reload"
    assert len(host.reloads()) == 1

    fix = host.apply("always")
    assert fix.rc == 0, fix.output
    assert fix.changed == 1
    assert len(host.reloads()) == 2 and host.loaded_default_runtime() == NAME

    # A daemon that ignores its file (started with --default-runtime on its command line): one clear message.
    host.docker_loads("runc")
    (host.state / "ignore-reload").write_text("")
    run = host.apply("always")
    assert run.rc != 0
    assert f"Docker's default runtime is runc, not {NAME}" in run.output, run.output[-3000:]
    assert "--default-runtime" in run.output

    (host.state / "info-fails").write_text("")
    run = host.apply("always")
    assert run.rc != 0
    assert "`docker info` gives no default runtime (Cannot connect to the Docker daemon" in run.output, run.output[-3000:]


def test_removal_is_refused_while_containers_still_use_the_wrapper(host: FakeHost) -> None:
    assert host.apply("always").rc == 0
    before = host.daemon_json.read_text()
    (host.state / "containers.json").write_text(json.dumps([
        {"id": "a1", "name": "kind-control-plane", "runtime": NAME},
        {"id": "b2", "name": "unrelated", "runtime": "runc"},
    ]))
    run = host.apply("absent")
    assert run.rc != 0
    assert "kind-control-plane" in run.output and "unrelated" not in run.output
    assert host.daemon_json.read_text() == before and host.wrapper.exists()


def test_upgrade_from_the_previous_role_version_keeps_daemon_json_and_removes_cleanly(host: FakeHost) -> None:
    """This machine's state before this version: the old role's daemon.json (to_nice_json, no final newline), a
    running dockerd using it, no record of what came before."""
    old = json.dumps({"default-runtime": NAME, "runtimes": {NAME: {"path": str(host.wrapper)}}}, indent=2,
                     sort_keys=True)
    host.daemon_json.write_text(old)
    host.docker_loads(NAME)

    upgrade = host.apply("always")
    assert upgrade.rc == 0, upgrade.output
    assert host.daemon_json.read_text() == old, "not rewritten: nothing in it changes"
    assert host.reloads() == []
    assert json.loads(host.wrapper_config.read_text())["previous_daemon_json"] is None

    removal = host.apply("absent")
    assert removal.rc == 0, removal.output
    assert not host.daemon_json.exists() and host.loaded_default_runtime() == "runc"


def test_never_touches_anything(host: FakeHost) -> None:
    run = host.apply("never")
    assert run.rc == 0, run.output
    assert run.changed == 0
    assert not host.daemon_json.exists() and not host.wrapper.exists() and host.reloads() == []


WRITTEN = ("host_prereqs_capfilter_path", "host_prereqs_docker_daemon_json", "__host_prereqs_capfilter_config")


def _tasks(node: object) -> list[dict]:
    found = []
    if isinstance(node, list):
        for item in node:
            found += _tasks(item)
    elif isinstance(node, dict):
        found.append(node)
        for key in ("block", "rescue", "always"):
            found += _tasks(node.get(key))
    return found


def test_every_write_of_the_runtime_or_daemon_json_is_atomic() -> None:
    """ansible.builtin.copy writes a temporary file in the destination's directory and renames it over the
    destination (AnsibleModule.atomic_move); `unsafe_writes: false` keeps ANSIBLE_UNSAFE_WRITES from ever
    turning that into an in-place write. A half-written daemon.json or wrapper would break every container."""
    writes = []
    for path in (ROLE / "tasks").glob("*.yml"):
        for task in _tasks(yaml.safe_load(path.read_text())):
            for module in ("ansible.builtin.copy", "ansible.builtin.template", "ansible.builtin.lineinfile"):
                dest = str((task.get(module) or {}).get("dest", ""))
                if any(name in dest for name in WRITTEN):
                    writes.append((path.name, task["name"], module, task[module].get("unsafe_writes")))
    assert {w[1] for w in writes} >= {
        "Install the runc wrapper that drops capabilities the host cannot grant",
    }
    assert len(writes) >= 3, writes  # the wrapper, its configuration, daemon.json (install and removal)
    for file, name, module, unsafe in writes:
        assert module == "ansible.builtin.copy", (file, name)
        assert unsafe is False, f"{file}: {name!r} must say unsafe_writes: false"


def test_daemon_json_is_read_with_the_same_privileges_it_is_written_with() -> None:
    """A read that fails (permission denied) must not be mistaken for "no file": the old slurp ignored every
    error and the copy then replaced the whole file with the wrapper's two keys. The only failure a read may
    pass over is the file's absence (slurp's "File not found")."""
    reads = []
    for path in (ROLE / "tasks").glob("*.yml"):
        for task in _tasks(yaml.safe_load(path.read_text())):
            source = str((task.get("ansible.builtin.slurp") or {}).get("src", ""))
            if "daemon.json" in source or "daemon_json" in source:
                reads.append(task["name"])
                register = task["register"]
                assert "failed_when" not in task or task["failed_when"] == [
                    f"{register}.failed | default(false)",
                    f"'file not found' not in {register}.msg | default('') | lower",
                ], (path.name, task["name"])
                assert task.get("become") == "{{ ansible_facts['user_uid'] | int != 0 }}", (path.name, task["name"])
    assert reads, "daemon.json is read somewhere"
