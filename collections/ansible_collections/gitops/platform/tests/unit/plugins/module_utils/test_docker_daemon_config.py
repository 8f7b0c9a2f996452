"""Tables for the daemon.json plan behind the gitops.platform.docker_runtime_wrapper filter.

Each row: daemon.json as it is (text, or None when the file does not exist), what the role remembered
at install time (the wrapper's configuration file, or None), and the wanted state -> the new file
(None: no file), whether it differs from the current file, the runtime the wrapper must run, the default runtime Docker
must report afterwards, and what to remember for a later removal.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.gitops.platform.plugins.filter.docker_runtime_wrapper import FilterModule
from ansible_collections.gitops.platform.plugins.module_utils.docker_daemon_config import plan, render

NAME = "runc-capfilter"
WRAPPER = "/usr/local/libexec/gitops-platform/runc-capfilter"
OURS = {"path": WRAPPER}
NVIDIA = {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": ["--debug"]}

# As the previous version of the role wrote it (to_nice_json, no trailing newline): no record kept.
OLD_ROLE_FILE = json.dumps({"default-runtime": NAME, "runtimes": {NAME: OURS}}, indent=2, sort_keys=True)
# An operator's file, formatted their way: a removal must give these exact bytes back.
NVIDIA_FILE = (
    '{\n    "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": ["--debug"]}},\n'
    '    "default-runtime": "nvidia",\n    "log-level": "warn"\n}\n'
)
NVIDIA_DOC = json.loads(NVIDIA_FILE)


def doc(**keys: object) -> dict:
    return {key.replace("_", "-"): value for key, value in keys.items()}


def text(document: dict) -> str:
    return render(document)


INSTALLED_EMPTY = text(doc(default_runtime=NAME, runtimes={NAME: OURS}))
INSTALLED_NVIDIA = text(doc(default_runtime=NAME, runtimes={"nvidia": NVIDIA, NAME: OURS}, log_level="warn"))

# (id, current, saved, expected content, changed, runtime, runtime_args, remembered previous daemon.json)
PRESENT = [
    ("no file yet", None, None, INSTALLED_EMPTY, True, "runc", [], None),
    ("empty object", "{}", None, INSTALLED_EMPTY, True, "runc", [], "{}"),
    ("other keys stay", '{"log-level": "warn", "runtimes": {}}', None,
     text(doc(default_runtime=NAME, log_level="warn", runtimes={NAME: OURS})), True, "runc", [],
     '{"log-level": "warn", "runtimes": {}}'),
    ("previous default runtime is wrapped", NVIDIA_FILE, None, INSTALLED_NVIDIA, True,
     "/usr/bin/nvidia-container-runtime", ["--debug"], NVIDIA_FILE),
    ("explicit built-in runc", '{"default-runtime": "runc"}', None, INSTALLED_EMPTY, True, "runc", [],
     '{"default-runtime": "runc"}'),
    ("built-in runc by its shim name", '{"default-runtime": "io.containerd.runc.v2"}', None, INSTALLED_EMPTY, True,
     "runc", [], '{"default-runtime": "io.containerd.runc.v2"}'),
    ("already installed, nothing to do", INSTALLED_EMPTY, {"previous_daemon_json": None}, INSTALLED_EMPTY, False,
     "runc", [], None),
    ("installed over nvidia, nothing to do", INSTALLED_NVIDIA, {"previous_daemon_json": NVIDIA_FILE},
     INSTALLED_NVIDIA, False, "/usr/bin/nvidia-container-runtime", ["--debug"], NVIDIA_FILE),
    ("installed by the previous role version, kept byte for byte", OLD_ROLE_FILE, None, OLD_ROLE_FILE, False,
     "runc", [], None),
    ("same content formatted differently is left alone",
     '{"runtimes":{"runc-capfilter":{"path":"' + WRAPPER + '"}},"default-runtime":"runc-capfilter"}',
     {"previous_daemon_json": None},
     '{"runtimes":{"runc-capfilter":{"path":"' + WRAPPER + '"}},"default-runtime":"runc-capfilter"}',
     False, "runc", [], None),
    ("someone made nvidia the default again: wrap it, remember it", text(
        doc(default_runtime="nvidia", runtimes={"nvidia": NVIDIA, NAME: OURS})),
     {"previous_daemon_json": None}, text(doc(default_runtime=NAME, runtimes={"nvidia": NVIDIA, NAME: OURS})), True,
     "/usr/bin/nvidia-container-runtime", ["--debug"],
     text(doc(default_runtime="nvidia", runtimes={"nvidia": NVIDIA}))),
    ("someone removed our entries: put them back", "{}", {"previous_daemon_json": None}, INSTALLED_EMPTY, True,
     "runc", [], "{}"),
    ("wrapper moved", text(doc(default_runtime=NAME, runtimes={NAME: {"path": "/opt/old/runc-capfilter"}})),
     {"previous_daemon_json": None}, INSTALLED_EMPTY, True, "runc", [], None),
]


@pytest.mark.parametrize(("current", "saved", "content", "changed", "runtime", "runtime_args", "previous"),
                         [row[1:] for row in PRESENT], ids=[row[0] for row in PRESENT])
def test_present(current, saved, content, changed, runtime, runtime_args, previous):
    result = plan(current, "present", NAME, WRAPPER, saved)
    assert result["error"] == ""
    assert result["content"] == content
    assert result["differs"] is changed
    assert result["runtime"] == runtime
    assert result["runtime_args"] == runtime_args
    assert result["default_runtime"] == NAME
    assert result["previous_daemon_json"] == previous


# (id, current, saved, expected content, changed, default runtime Docker reports afterwards)
ABSENT = [
    ("nothing installed, no file", None, None, None, False, "runc"),
    ("nothing installed, file kept as is", '{"log-level": "warn"}', None, '{"log-level": "warn"}', False, "runc"),
    ("installed where there was no file: file removed", INSTALLED_EMPTY, {"previous_daemon_json": None}, None, True,
     "runc"),
    ("installed over nvidia: operator's bytes back", INSTALLED_NVIDIA, {"previous_daemon_json": NVIDIA_FILE},
     NVIDIA_FILE, True, "nvidia"),
    ("installed over an empty object", INSTALLED_EMPTY, {"previous_daemon_json": "{}"}, "{}", True, "runc"),
    ("a key added since is kept",
     text(doc(default_runtime=NAME, runtimes={"nvidia": NVIDIA, NAME: OURS}, log_level="warn", debug=True)),
     {"previous_daemon_json": NVIDIA_FILE},
     text({**NVIDIA_DOC, "debug": True}), True, "nvidia"),
    ("previous role version, no record: our keys go", OLD_ROLE_FILE, None, None, True, "runc"),
    ("previous role version with other keys",
     text(doc(default_runtime=NAME, runtimes={NAME: OURS}, insecure_registries=["10.0.0.1:5000"])),
     None, text(doc(insecure_registries=["10.0.0.1:5000"])), True, "runc"),
    ("empty runtimes that existed before stays", text(doc(default_runtime=NAME, runtimes={NAME: OURS})),
     {"previous_daemon_json": '{"runtimes": {}, "debug": true}'}, text(doc(runtimes={})), True, "runc"),
    ("someone else's default since then is left alone", text(doc(default_runtime="nvidia",
                                                                 runtimes={"nvidia": NVIDIA, NAME: OURS})),
     {"previous_daemon_json": None}, text(doc(default_runtime="nvidia", runtimes={"nvidia": NVIDIA})), True, "nvidia"),
    ("unreadable record is ignored", INSTALLED_EMPTY, {"previous_daemon_json": "{broken"}, None, True, "runc"),
    ("record given as the file's text", INSTALLED_NVIDIA, json.dumps({"previous_daemon_json": NVIDIA_FILE}),
     NVIDIA_FILE, True, "nvidia"),
    ("record file that is not JSON", INSTALLED_EMPTY, "{broken", None, True, "runc"),
]


@pytest.mark.parametrize(("current", "saved", "content", "changed", "default_runtime"),
                         [row[1:] for row in ABSENT], ids=[row[0] for row in ABSENT])
def test_absent(current, saved, content, changed, default_runtime):
    result = plan(current, "absent", NAME, WRAPPER, saved)
    assert result["error"] == ""
    assert result["content"] == content
    assert result["differs"] is changed
    assert result["default_runtime"] == default_runtime


# (id, state, current, words the message must contain)
REFUSED = [
    ("not JSON", "present", "{not json", ["not valid JSON"]),
    ("not JSON on removal", "absent", "{not json", ["not valid JSON"]),
    ("not an object", "present", "[]", ["JSON object"]),
    ("runtimes not an object", "present", '{"runtimes": []}', ["runtimes"]),
    ("default runtime not defined here", "present", '{"default-runtime": "custom"}',
     ["custom", "not defined", "--add-runtime"]),
    ("default runtime is a containerd shim", "present",
     '{"default-runtime": "gvisor", "runtimes": {"gvisor": {"runtimeType": "io.containerd.runsc.v1"}}}',
     ["gvisor", "runtimeType"]),
    ("default runtime without a path", "present", '{"default-runtime": "x", "runtimes": {"x": {}}}', ["x", "path"]),
]


@pytest.mark.parametrize(("state", "current", "words"), [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED])
def test_refused_with_a_reason(state, current, words):
    result = plan(current, state, NAME, WRAPPER, None)
    for word in words:
        assert word in result["error"]
    assert result["differs"] is False
    assert result["content"] == current, "nothing is written when the plan is refused"


def test_round_trip_gives_the_original_bytes_back():
    installed = plan(NVIDIA_FILE, "present", NAME, WRAPPER, None)
    record = {"previous_daemon_json": installed["previous_daemon_json"]}
    again = plan(installed["content"], "present", NAME, WRAPPER, record)
    assert again["differs"] is False and again["previous_daemon_json"] == NVIDIA_FILE
    removed = plan(installed["content"], "absent", NAME, WRAPPER, record)
    assert removed["content"] == NVIDIA_FILE


def test_rendering_is_stable_and_ends_with_a_newline():
    assert render({"b": 1, "a": {"d": 2, "c": 3}}) == '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'


def test_filter_is_exposed():
    wrapper_plan = FilterModule().filters()["docker_runtime_wrapper"]
    assert wrapper_plan("{}", "present", NAME, WRAPPER)["differs"] is True
