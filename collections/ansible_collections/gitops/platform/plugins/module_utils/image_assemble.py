# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Pure helpers of the gitops.platform.image_assemble module: the image's layer as a reproducible tar,
file capabilities, the Dockerfile or `docker import` changes, and the recipe and its hash. Only
write_layer and file_digest touch files; nothing here runs a process, so every rule is tested by a
table (tests/unit/plugins/module_utils/test_image_assemble.py)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import tarfile
from pathlib import PurePosixPath

# Bump when the assembly changes in a way that alters images, so every cached image is rebuilt.
RECIPE_REVISION = 1
SCRATCH = "scratch"
# Instructions an image's configuration may set; `docker import --change` takes all but STOPSIGNAL
# and HEALTHCHECK, which therefore need a base image.
CONFIG_INSTRUCTIONS = ("ENV", "USER", "WORKDIR", "ENTRYPOINT", "CMD", "EXPOSE", "LABEL", "VOLUME", "STOPSIGNAL")
IMPORT_INSTRUCTIONS = ("ENV", "USER", "WORKDIR", "ENTRYPOINT", "CMD", "EXPOSE", "LABEL", "VOLUME")
LAYER_NAME = "layer.tar"

# Capability numbers from linux/capability.h, for the few a container image may need.
CAPABILITIES = {
    "cap_chown": 0, "cap_dac_override": 1, "cap_fowner": 3, "cap_kill": 5, "cap_setgid": 6, "cap_setuid": 7,
    "cap_net_bind_service": 10, "cap_net_broadcast": 11, "cap_net_admin": 12, "cap_net_raw": 13,
    "cap_sys_chroot": 18, "cap_sys_admin": 21,
}
VFS_CAP_REVISION_2 = 0x02000000
VFS_CAP_FLAGS_EFFECTIVE = 0x000001
LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class ImageAssembleError(Exception):
    """A problem with the inputs, said in one sentence."""


def image_path(path: str, what: str) -> str:
    """A path inside the image, relative to its root; absolute or relative input, never `..`."""
    if not isinstance(path, str) or not path.strip("/"):
        raise ImageAssembleError(f"{what} {path!r} names no file in the image")
    clean = PurePosixPath("/", path)
    if ".." in clean.parts:
        raise ImageAssembleError(f"{what} {path!r} leaves the image's root")
    return str(clean.relative_to("/"))


def octal_mode(value, default: str, what: str) -> int:
    text = str(value if value is not None else default)
    if not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise ImageAssembleError(f"{what}: mode {text!r} is not an octal mode such as 0755")
    return int(text, 8)


def capability_xattr(names: list[str]) -> str:
    """Permitted+effective file capabilities (what `setcap cap_x=+ep` sets) as a vfs_cap_data revision 2."""
    bits = 0
    for name in names:
        try:
            bits |= 1 << CAPABILITIES[name.lower()]
        except KeyError:
            raise ImageAssembleError(
                f"unknown capability {name!r}; known: {', '.join(sorted(CAPABILITIES))}") from None
    value = struct.pack("<IIIII", VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, bits & 0xFFFFFFFF, 0, bits >> 32, 0)
    # tarfile writes PAX values as text; surrogateescape carries the raw bytes through unchanged.
    return value.decode("utf-8", "surrogateescape")


def normalise(spec: dict) -> dict:
    """The layer and configuration of one image, checked, with defaults filled in and paths made relative."""
    base = spec.get("base") or SCRATCH
    files = []
    for item in spec.get("files") or []:
        if not item.get("src"):
            raise ImageAssembleError(f"file {item!r} has no src")
        dest = image_path(item.get("dest", ""), "file dest")
        files.append({"src": item["src"], "dest": dest, "mode": octal_mode(item.get("mode"), "0755", dest),
                      "uid": int(item.get("uid", 0)), "gid": int(item.get("gid", 0)),
                      "capabilities": sorted(c.lower() for c in item.get("capabilities") or [])})
        capability_xattr(files[-1]["capabilities"])
    texts = [{"dest": image_path(item.get("dest", ""), "text dest"), "content": str(item.get("content", "")),
              "mode": octal_mode(item.get("mode"), "0644", str(item.get("dest"))),
              "uid": int(item.get("uid", 0)), "gid": int(item.get("gid", 0))} for item in spec.get("texts") or []]
    dirs = [{"path": image_path(item.get("path", ""), "directory"),
             "mode": octal_mode(item.get("mode"), "0755", str(item.get("path"))),
             "uid": int(item.get("uid", 0)), "gid": int(item.get("gid", 0))} for item in spec.get("dirs") or []]
    symlinks = []
    for item in spec.get("symlinks") or []:
        if not item.get("target"):
            raise ImageAssembleError(f"symlink {item.get('path')!r} has no target")
        symlinks.append({"path": image_path(item.get("path", ""), "symlink"), "target": str(item["target"])})
    paths = [f["dest"] for f in files] + [t["dest"] for t in texts] + [s["path"] for s in symlinks]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise ImageAssembleError(f"more than one entry writes {', '.join(twice)}")
    config = [str(line).strip() for line in spec.get("config") or []]
    allowed = IMPORT_INSTRUCTIONS if base == SCRATCH else CONFIG_INSTRUCTIONS
    for line in config:
        keyword = line.split(None, 1)[0].upper() if line else ""
        if keyword not in allowed:
            raise ImageAssembleError(
                f"config {line!r}: only {', '.join(allowed)} may be set"
                + (" on an image FROM scratch" if base == SCRATCH else ""))
    run = [str(command) for command in spec.get("run") or []]
    if run and base == SCRATCH:
        raise ImageAssembleError("run needs a base image with a shell; an image FROM scratch has none")
    labels = {str(k): str(v) for k, v in (spec.get("labels") or {}).items()}
    for key in labels:
        if not LABEL_KEY.match(key):
            raise ImageAssembleError(f"label key {key!r} may hold only letters, digits, '.', '_', '/' and '-'")
    return {"base": base, "files": files, "texts": texts, "dirs": dirs, "symlinks": symlinks, "config": config,
            "run": run, "labels": labels}


def label_instruction(labels: dict) -> list[str]:
    """One LABEL line per label, values quoted as JSON strings (which Docker reads as double-quoted)."""
    return [f"LABEL {key}={json.dumps(value)}" for key, value in sorted(labels.items())]


def import_changes(layout: dict, recipe_label: str, digest: str) -> list[str]:
    """The `docker import --change` values of an image FROM scratch."""
    return layout["config"] + label_instruction({**layout["labels"], recipe_label: digest})


def dockerfile(layout: dict, base_ref: str, recipe_label: str, digest: str) -> str:
    """The Dockerfile of an image on a base: the layer is added first, then the commands run."""
    lines = [f"FROM {base_ref}", f"ADD {LAYER_NAME} /"]
    if layout["run"]:
        lines.append("RUN " + " \\\n && ".join(f"( {command} )" for command in layout["run"]))
    lines += layout["config"] + label_instruction({**layout["labels"], recipe_label: digest})
    return "\n".join(lines) + "\n"


def recipe(layout: dict, base_id: str, file_digests: dict, extra: dict) -> dict:
    """Everything that shapes the image; the image is rebuilt when its hash changes."""
    return {
        "revision": RECIPE_REVISION,
        "base": layout["base"],
        "base_id": base_id,
        "files": [{**{k: v for k, v in item.items() if k != "src"}, "sha256": file_digests.get(item["src"], "missing")}
                  for item in layout["files"]],
        "texts": layout["texts"], "dirs": layout["dirs"], "symlinks": layout["symlinks"],
        "config": layout["config"], "run": layout["run"], "labels": layout["labels"],
        "extra": extra,
    }


def recipe_hash(value: dict) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_layer(layout: dict, out) -> dict:
    """Write the layer as a tar: sorted entries, numeric owners, mtime 0, parents 0755; the same layout and
    the same files always give the same bytes. Capabilities become a PAX `SCHILY.xattr.security.capability`
    record, which `docker import` and the classic builder's ADD apply."""
    entries: dict[str, tarfile.TarInfo] = {}
    sources: dict[str, str] = {}
    payloads: dict[str, bytes] = {}

    def add(info: tarfile.TarInfo) -> None:
        info.mtime = 0
        info.uname = info.gname = ""
        parent = PurePosixPath(info.name).parent
        while str(parent) not in (".", ""):
            if str(parent) not in entries:
                directory = tarfile.TarInfo(str(parent))
                directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, 0
                entries[str(parent)] = directory
            parent = parent.parent
        entries[info.name] = info

    def owned(info: tarfile.TarInfo, item: dict) -> tarfile.TarInfo:
        info.mode, info.uid, info.gid = item["mode"], item["uid"], item["gid"]
        return info

    for item in layout["dirs"]:
        info = owned(tarfile.TarInfo(item["path"]), item)
        info.type = tarfile.DIRTYPE
        add(info)
    for item in layout["files"]:
        info = owned(tarfile.TarInfo(item["dest"]), item)
        with open(item["src"], "rb") as handle:
            handle.seek(0, io.SEEK_END)
            info.size = handle.tell()
        if item["capabilities"]:
            info.pax_headers = {"SCHILY.xattr.security.capability": capability_xattr(item["capabilities"])}
        sources[info.name] = item["src"]
        add(info)
    for item in layout["texts"]:
        data = item["content"].encode("utf-8")
        info = owned(tarfile.TarInfo(item["dest"]), item)
        info.size = len(data)
        payloads[info.name] = data
        add(info)
    for item in layout["symlinks"]:
        info = tarfile.TarInfo(item["path"])
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, item["target"], 0o777
        add(info)

    written = 0
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(entries):
            info = entries[name]
            if name in sources:
                with open(sources[name], "rb") as handle:
                    archive.addfile(info, handle)
            elif name in payloads:
                archive.addfile(info, io.BytesIO(payloads[name]))
            else:
                archive.addfile(info)
            written += info.size
    return {"entries": len(entries), "bytes": written}


def smoke_problem(test: dict, rc: int, output: str) -> str | None:
    """Why a smoke test's result is wrong, or None."""
    allowed = test.get("rc") or [0]
    command = " ".join(([f"--entrypoint {test['entrypoint']}"] if test.get("entrypoint") else []) + list(test["args"]))
    if rc not in allowed:
        return f"`docker run <image> {command}` exited {rc} (expected {', '.join(map(str, allowed))})"
    if test.get("expect") and test["expect"] not in output:
        return f"`docker run <image> {command}` printed no {test['expect']!r}"
    return None
