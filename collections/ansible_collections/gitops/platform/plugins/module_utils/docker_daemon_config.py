# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Put an OCI runtime wrapper in front of Docker's default runtime in daemon.json, and take it out again.

Pure functions on the file's text, so that the decision (what to write, whether anything changes,
which runtime the wrapper must run, what to remember for the removal) is tested with tables and the
role only reads and writes files.
"""

from __future__ import annotations

import copy
import json
from typing import Any

# Names under which dockerd knows its built-in runc (20.10: "runc"; 23+: also the shim's name).
BUILTIN_RUNC = {"runc", "io.containerd.runc.v2"}
RUNC_BINARY = "runc"  # dockerd finds its built-in runc on PATH under this name; the wrapper does the same
RECORD_KEY = "previous_daemon_json"


def render(document: dict) -> str:
    """daemon.json as the role writes it: two-space indent, sorted keys, final newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _parse(text: str | None) -> dict:
    """The document in `text` ({} for no file); ValueError says what is wrong with it."""
    if text is None:
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(
            f"daemon.json is not valid JSON ({exc}); dockerd would not start with it either: fix it first"
        ) from exc
    if not isinstance(document, dict):
        raise ValueError("daemon.json must hold one JSON object; dockerd would not start with it either: fix it first")
    runtimes = document.get("runtimes", {})
    if not isinstance(runtimes, dict) or not all(isinstance(entry, dict) for entry in runtimes.values()):
        raise ValueError("daemon.json's `runtimes` must be an object of objects (name -> {path, runtimeArgs})")
    return document


def _recorded(saved: dict | None) -> tuple[bool, str | None, dict | None]:
    """What the install remembered: (known, text, document). An unreadable record counts as unknown."""
    if isinstance(saved, str):  # the record file's text, as the role reads it
        try:
            saved = json.loads(saved)
        except ValueError:
            return False, None, None
    if not isinstance(saved, dict) or RECORD_KEY not in saved:
        return False, None, None
    text = saved[RECORD_KEY]
    try:
        return True, text, _parse(text)
    except (TypeError, ValueError):
        return False, None, None


def _has_wrapper(document: dict, name: str) -> bool:
    return document.get("default-runtime") == name or name in document.get("runtimes", {})


def without_wrapper(document: dict, name: str, previous: dict | None) -> dict:
    """`document` minus the wrapper's two entries; `previous` (when known) says what to give back."""
    result = copy.deepcopy(document)
    runtimes = result.get("runtimes")
    if isinstance(runtimes, dict) and name in runtimes:
        del runtimes[name]
        if not runtimes and "runtimes" not in (previous or {}):
            del result["runtimes"]
    if result.get("default-runtime") == name:
        del result["default-runtime"]
        if previous and "default-runtime" in previous:
            result["default-runtime"] = previous["default-runtime"]
    return result


def with_wrapper(document: dict, name: str, path: str) -> dict:
    result = copy.deepcopy(document)
    result.setdefault("runtimes", {})[name] = {"path": path}
    result["default-runtime"] = name
    return result


def wrapped_runtime(document: dict) -> tuple[str, list[str]]:
    """The binary and leading arguments Docker runs for the default runtime of `document`."""
    default = document.get("default-runtime", "runc")
    entry = document.get("runtimes", {}).get(default)
    if entry is None:
        if default in BUILTIN_RUNC:
            return RUNC_BINARY, []
        raise ValueError(
            f"daemon.json makes {default!r} the default runtime, but that runtime is not defined in its `runtimes` "
            "(defined on dockerd's command line with --add-runtime?), so the binary to wrap is unknown. Define it "
            "in daemon.json's `runtimes` with its `path`, or run with -e host_prereqs_docker_capfilter=never."
        )
    runtime_type = entry.get("runtimeType")
    if runtime_type and runtime_type not in BUILTIN_RUNC:
        raise ValueError(
            f"daemon.json's default runtime {default!r} is a containerd shim (runtimeType {runtime_type}), not an "
            "OCI runtime binary the capability filter could wrap; run with -e host_prereqs_docker_capfilter=never."
        )
    path = entry.get("path")
    if not path:
        if runtime_type:
            return RUNC_BINARY, []
        raise ValueError(f"daemon.json's default runtime {default!r} has no `path`: nothing to wrap.")
    args = entry.get("runtimeArgs") or []
    return str(path), [str(arg) for arg in args]


def plan(current: str | None, state: str, name: str, path: str, saved: dict | str | None = None) -> dict[str, Any]:
    """What to do with daemon.json.

    current: the file's text, None when it does not exist.
    state: `present` (wrapper is the default runtime) or `absent` (the file as it was before the install).
    name, path: the wrapper's runtime name and binary.
    saved: the wrapper's configuration file written at install (holds `previous_daemon_json`), as a dict
        or as its JSON text; None when there is none.

    Returns error ('' or why nothing can be done), differs (the file must be written or removed),
    content (the new text; None: no file), default_runtime (what `docker info` must report afterwards),
    and for `present` runtime and runtime_args (what the wrapper runs) and previous_daemon_json (what a
    removal gives back).
    """
    result: dict[str, Any] = {
        "error": "", "differs": False, "content": current, "default_runtime": name if state == "present" else "",
        "runtime": RUNC_BINARY, "runtime_args": [], RECORD_KEY: None,
    }
    try:
        document = _parse(current)
        known, saved_text, saved_document = _recorded(saved)
        base = without_wrapper(document, name, saved_document)
        if state == "present":
            if not _has_wrapper(document, name):
                previous = current
            elif known and base == saved_document:
                previous = saved_text
            else:
                previous = render(base) if base else None
            result["runtime"], result["runtime_args"] = wrapped_runtime(base)
            result[RECORD_KEY] = previous
            wanted = with_wrapper(base, name, path)
        elif state == "absent":
            wanted = base
            result["default_runtime"] = base.get("default-runtime", "runc")
        else:
            raise ValueError(f"state must be present or absent, not {state!r}")
    except ValueError as exc:
        result["error"] = str(exc)
        return result
    if wanted == document and current is not None:
        return result
    if known and wanted == saved_document and state == "absent":
        content = saved_text
    elif not wanted and state == "absent" and (not known or saved_text is None):
        content = None
    else:
        content = render(wanted)
    result["content"] = content
    result["differs"] = content != current
    return result
