"""roles/host_prereqs/files/runc-capfilter run for real, against OCI bundles in temporary directories.

The wrapper is copied into a temporary directory with its configuration file beside it (as the role
installs it), and that configuration names a fake "real runtime": a script that records the
arguments it got and the bundle config / process file it saw at that moment. No Docker, no runc.

`RUNC_CAPFILTER_CAPBND` narrows the bounding set the wrapper sees (it can only remove capabilities,
never add any), so the tests drop CAP_SYS_RESOURCE on every host, not only on hosts that lack it;
one test uses the host's real bounding set.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
WRAPPER = PROJECT / "roles" / "host_prereqs" / "files" / "runc-capfilter"
# This machine's mask: every capability up to CAP_CHECKPOINT_RESTORE (40) except CAP_SYS_RESOURCE (24).
CAPBND_WITHOUT_SYS_RESOURCE = "000001fffeffffff"

FAKE_RUNTIME = f"""\
#!{sys.executable}
import json, os, sys

def value(args, *names):
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None

args = sys.argv[1:]
seen = {{"argv": sys.argv, "cwd": os.getcwd()}}
bundle = value(args, "--bundle", "-b")
if "create" in args or "run" in args:
    with open(os.path.join(bundle or ".", "config.json"), encoding="utf-8") as handle:
        seen["config"] = json.load(handle)
process = value(args, "--process", "-p")
if process:
    with open(process, encoding="utf-8") as handle:
        seen["process"] = json.load(handle)
with open(os.environ["FAKE_RUNTIME_RECORD"], "a", encoding="utf-8") as handle:
    handle.write(json.dumps(seen) + "\\n")
sys.exit(int(os.environ.get("FAKE_RUNTIME_RC", "0")))
"""

PRIVILEGED_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"]


def process_spec(caps: list[str]) -> dict:
    """A process object as Docker writes it for `--privileged` (ambient left out, as Docker does)."""
    return {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["/sbin/init"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=docker"],
        "cwd": "/",
        "capabilities": {
            "bounding": list(caps),
            "effective": list(caps),
            "inheritable": list(caps),
            "permitted": list(caps),
        },
        "apparmorProfile": "unconfined",
        "oomScoreAdj": 0,
    }


def bundle_config(caps: list[str]) -> dict:
    return {
        "ociVersion": "1.0.2-dev",
        "process": process_spec(caps),
        "root": {"path": "/var/lib/docker/overlay2/0123/merged"},
        "hostname": "kind-control-plane",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
        "linux": {"resources": {"devices": [{"allow": True, "access": "rwm"}]}, "maskedPaths": []},
        "annotations": {"io.kubernetes.cri.container-type": "container", "big": 12345678901234567890},
    }


def without(caps: list[str], *dropped: str) -> list[str]:
    return [cap for cap in caps if cap not in dropped]


class Host:
    """A wrapper installed in a temporary directory, with its configuration, fake runtime and log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.libexec = root / "libexec"
        self.libexec.mkdir()
        self.wrapper = self.libexec / "runc-capfilter"
        shutil.copyfile(WRAPPER, self.wrapper)
        self.wrapper.chmod(0o755)
        self.bin = root / "bin"
        self.bin.mkdir()
        self.runtime = self.bin / "real-runtime"
        self.runtime.write_text(FAKE_RUNTIME)
        self.runtime.chmod(0o755)
        # Whatever a wrapper falls back to ("runc" on PATH, or the old GITOPS_RUNC) is the fake too: a test
        # never reaches the host's real runc.
        (self.bin / "runc").symlink_to(self.runtime)
        self.state_root = root / "runc-root"
        self.record = root / "record.jsonl"
        self.log = root / "log" / "runc-capfilter.log"
        self.configure()

    def configure(self, **overrides: object) -> None:
        settings = {"runtime": str(self.runtime), "runtime_args": [], "log": str(self.log), "log_max_bytes": 1 << 20}
        settings.update(overrides)
        (self.libexec / "runc-capfilter.json").write_text(json.dumps(settings))

    def run(self, *args: str, cwd: Path | None = None, capbnd: str | None = CAPBND_WITHOUT_SYS_RESOURCE,
            env: dict | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {key: value for key, value in os.environ.items() if key != "RUNC_CAPFILTER_CAPBND"}
        full_env["FAKE_RUNTIME_RECORD"] = str(self.record)
        full_env["PATH"] = f"{self.bin}:{os.environ['PATH']}"
        full_env["GITOPS_RUNC"] = str(self.runtime)
        if capbnd is not None:
            full_env["RUNC_CAPFILTER_CAPBND"] = capbnd
        full_env.update(env or {})
        return subprocess.run([str(self.wrapper), *args], cwd=cwd or self.root, env=full_env,
                              capture_output=True, text=True, timeout=60, check=False)

    def seen(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def bundle(self, name: str, caps: list[str]) -> Path:
        path = self.root / "bundles" / name
        path.mkdir(parents=True)
        (path / "config.json").write_text(json.dumps(bundle_config(caps), indent=1))
        return path


@pytest.fixture()
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


# How containerd's runc shim calls the runtime for `docker run --privileged` / `docker exec --privileged`.
# --root points into the test's directory, never at Docker's own runc state.
def create_args(bundle: Path, container: str, *, equals: bool = False) -> list[str]:
    bundle_flag = [f"--bundle={bundle}"] if equals else ["--bundle", str(bundle)]
    return ["--root", str(bundle.parent.parent / "runc-root"), "--log", str(bundle / "log.json"), "--log-format",
            "json", "--systemd-cgroup", "create", *bundle_flag, "--pid-file", str(bundle / "init.pid"), container]


def exec_args(process_file: Path, container: str) -> list[str]:
    root = process_file.parent
    return ["--root", str(root / "runc-root"), "--log", str(root / "exec-log.json"), "--log-format", "json",
            "exec", "--process", str(process_file), "--detach", "--pid-file", str(root / "exec.pid"), container]


@pytest.mark.parametrize("equals", [False, True], ids=["--bundle PATH", "--bundle=PATH"])
def test_create_drops_exactly_the_missing_capabilities_and_logs_them(host: Host, equals: bool) -> None:
    bundle = host.bundle("c1", PRIVILEGED_CAPS)
    original = json.loads((bundle / "config.json").read_text())
    args = create_args(bundle, "c1c1c1c1", equals=equals)

    result = host.run(*args)

    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert seen["argv"] == [str(host.runtime), *args], "the real runtime gets the arguments unchanged"
    expected = copy.deepcopy(original)
    for kind in ("bounding", "effective", "inheritable", "permitted"):
        expected["process"]["capabilities"][kind] = without(PRIVILEGED_CAPS, "CAP_SYS_RESOURCE")
    assert seen["config"] == expected, "only CAP_SYS_RESOURCE is gone, every other field is as it was"
    [line] = host.log_lines()
    assert "action=create" in line and "container=c1c1c1c1" in line
    assert line.endswith("dropped=CAP_SYS_RESOURCE"), line


def test_run_command_is_filtered_like_create(host: Host) -> None:
    bundle = host.bundle("r1", PRIVILEGED_CAPS)
    result = host.run("--root", str(host.state_root), "run", "--bundle", str(bundle), "--detach", "r1r1")
    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert "CAP_SYS_RESOURCE" not in seen["config"]["process"]["capabilities"]["bounding"]
    [line] = host.log_lines()
    assert "action=run" in line and "container=r1r1" in line


def test_create_without_bundle_flag_uses_the_working_directory(host: Host) -> None:
    bundle = host.bundle("cwd", PRIVILEGED_CAPS)
    result = host.run("create", "cwd-container", cwd=bundle)
    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert "CAP_SYS_RESOURCE" not in seen["config"]["process"]["capabilities"]["permitted"]
    assert "CAP_SYS_ADMIN" in seen["config"]["process"]["capabilities"]["permitted"]


def test_exec_process_file_loses_exactly_the_missing_capabilities(host: Host) -> None:
    process_file = host.root / "runc-process123"
    process = process_spec(PRIVILEGED_CAPS)
    process["args"] = ["kubectl", "get", "nodes"]
    process_file.write_text(json.dumps(process))
    args = exec_args(process_file, "e1e1e1e1")

    result = host.run(*args)

    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert seen["argv"] == [str(host.runtime), *args]
    expected = copy.deepcopy(process)
    for kind in ("bounding", "effective", "inheritable", "permitted"):
        expected["capabilities"][kind] = without(PRIVILEGED_CAPS, "CAP_SYS_RESOURCE")
    assert seen["process"] == expected
    [line] = host.log_lines()
    assert "action=exec" in line and "container=e1e1e1e1" in line
    assert line.endswith("dropped=CAP_SYS_RESOURCE"), line


def test_nothing_to_drop_leaves_the_file_alone_and_logs_nothing(host: Host) -> None:
    bundle = host.bundle("plain", DEFAULT_CAPS)
    before = (bundle / "config.json").read_bytes()
    result = host.run(*create_args(bundle, "plain"))
    assert result.returncode == 0, result.stderr
    assert (bundle / "config.json").read_bytes() == before
    assert host.log_lines() == []


def test_rewrite_is_atomic_and_keeps_the_file_mode(host: Host) -> None:
    bundle = host.bundle("mode", PRIVILEGED_CAPS)
    (bundle / "config.json").chmod(0o640)
    result = host.run(*create_args(bundle, "mode"))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((bundle / "config.json").stat().st_mode) == 0o640
    assert sorted(p.name for p in bundle.iterdir()) == ["config.json"], "no temporary file left behind"


def test_unknown_capability_names_are_left_for_runc_to_judge(host: Host) -> None:
    bundle = host.bundle("unknown", [*DEFAULT_CAPS, "CAP_FROM_A_NEWER_KERNEL", "CAP_SYS_RESOURCE"])
    host.run(*create_args(bundle, "unknown"))
    [seen] = host.seen()
    assert seen["config"]["process"]["capabilities"]["bounding"] == [*DEFAULT_CAPS, "CAP_FROM_A_NEWER_KERNEL"]


@pytest.mark.parametrize("command", [
    ["state", "abc"], ["kill", "abc", "9"], ["delete", "--force", "abc"], ["start", "abc"], ["--version"],
])
def test_other_commands_pass_through_untouched(host: Host, command: list[str]) -> None:
    result = host.run("--root", str(host.state_root), *command)
    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert seen["argv"] == [str(host.runtime), "--root", str(host.state_root), *command]
    assert host.log_lines() == []


def test_exit_code_of_the_real_runtime_is_returned(host: Host) -> None:
    result = host.run("state", "abc", env={"FAKE_RUNTIME_RC": "3"})
    assert result.returncode == 3


def test_runtime_args_from_daemon_json_come_first(host: Host) -> None:
    """daemon.json's runtimeArgs of the wrapped runtime go before runc's own arguments, as dockerd does."""
    host.configure(runtime_args=["--debug-from-daemon-json"])
    host.run("state", "abc")
    [seen] = host.seen()
    assert seen["argv"] == [str(host.runtime), "--debug-from-daemon-json", "state", "abc"]


def test_runtime_without_a_slash_is_looked_up_on_path(host: Host) -> None:
    """dockerd names its built-in runc just `runc`, found on PATH; the wrapper does the same."""
    host.configure(runtime="runc")
    result = host.run("state", "abc")
    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    # A script started through PATH sees the path it was found at as its argv[0].
    assert seen["argv"] == [str(host.bin / "runc"), "state", "abc"]


def test_missing_configuration_falls_back_to_runc_on_path(host: Host) -> None:
    (host.libexec / "runc-capfilter.json").unlink()
    bundle = host.bundle("noconf", DEFAULT_CAPS)  # nothing dropped: the default log path is not written
    result = host.run(*create_args(bundle, "noconf"), env={"GITOPS_RUNC": ""})
    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert seen["argv"][0] == str(host.bin / "runc")


def test_an_unwritable_log_never_stops_a_container(host: Host) -> None:
    (host.root / "not-a-dir").write_text("")
    host.configure(log=str(host.root / "not-a-dir" / "runc-capfilter.log"))
    bundle = host.bundle("nolog", PRIVILEGED_CAPS)
    result = host.run(*create_args(bundle, "nolog"))
    assert result.returncode == 0, result.stderr
    [seen] = host.seen()
    assert "CAP_SYS_RESOURCE" not in seen["config"]["process"]["capabilities"]["bounding"]


def test_a_config_it_cannot_parse_is_passed_to_the_runtime_unchanged(host: Host) -> None:
    bundle = host.root / "broken"
    bundle.mkdir()
    (bundle / "config.json").write_text("{not json")
    result = host.run(*create_args(bundle, "broken"))
    assert result.returncode != 0  # the fake runtime cannot read it either; runc reports the error
    assert (bundle / "config.json").read_text() == "{not json"
    assert any("container=broken" in line and " error=" in line for line in host.log_lines()), (
        "the wrapper logs why it left the file alone"
    )


def test_log_is_bounded_one_line_per_container(host: Host) -> None:
    host.configure(log_max_bytes=400)
    for number in range(30):
        bundle = host.bundle(f"b{number}", PRIVILEGED_CAPS)
        assert host.run(*create_args(bundle, f"container-{number:02d}")).returncode == 0
    rotated = host.log.with_name(host.log.name + ".1")
    assert host.log.stat().st_size <= 400 and rotated.stat().st_size <= 400
    lines = rotated.read_text().splitlines() + host.log_lines()
    assert lines[-1].split(" container=")[1].startswith("container-29")
    assert all(line.endswith("dropped=CAP_SYS_RESOURCE") for line in lines)
    assert sorted(p.name for p in host.log.parent.iterdir()) == ["runc-capfilter.log", "runc-capfilter.log.1"]


def _host_bounding_set() -> set[str]:
    names = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]
    status = Path("/proc/self/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), 16)
    return {f"CAP_{name}" for bit, name in enumerate(names) if mask >> bit & 1}


def test_real_bounding_set_of_this_host(host: Host) -> None:
    """Without the test override the wrapper reads /proc/self/status: it keeps exactly what this host allows."""
    bundle = host.bundle("real", PRIVILEGED_CAPS)
    assert host.run(*create_args(bundle, "real"), capbnd=None).returncode == 0
    [seen] = host.seen()
    allowed = _host_bounding_set()
    assert seen["config"]["process"]["capabilities"]["bounding"] == [c for c in PRIVILEGED_CAPS if c in allowed]
    dropped = [c for c in PRIVILEGED_CAPS if c not in allowed]
    if dropped:
        [line] = host.log_lines()
        assert line.endswith("dropped=" + ",".join(dropped)), line
    else:
        assert host.log_lines() == []


def test_override_can_only_narrow_the_bounding_set(host: Host) -> None:
    bundle = host.bundle("wide", PRIVILEGED_CAPS)
    assert host.run(*create_args(bundle, "wide"), capbnd="ffffffffffffffff").returncode == 0
    [seen] = host.seen()
    allowed = _host_bounding_set()
    assert seen["config"]["process"]["capabilities"]["bounding"] == [c for c in PRIVILEGED_CAPS if c in allowed]
