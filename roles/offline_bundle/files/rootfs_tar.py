"""Write a small container root filesystem as a reproducible tar archive for `docker import`.

Usage: rootfs_tar.py SPEC.json OUTPUT.tar

SPEC.json describes the whole tree; nothing is read from the host except the files it names:

    {
      "mtime": 1723578429,                      # one timestamp for every entry
      "dirs":  [{"path": "tmp", "mode": "1777", "uid": 0, "gid": 0}],
      "files": [{"src": "/abs/kubelet", "dest": "usr/local/bin/kubelet", "mode": "0755",
                 "uid": 0, "gid": 0, "capabilities": ["cap_net_bind_service"]}],
      "texts": [{"dest": "etc/passwd", "content": "root:x:0:0:...\\n", "mode": "0644"}],
      "symlinks": [{"path": "bin/sh", "target": "busybox"}]
    }

Parent directories are added with mode 0755. Entries are sorted and owned numerically, so the same
spec and the same input files always give the same bytes. `capabilities` become a
`security.capability` extended attribute (file capabilities, permitted + effective, as
`setcap cap_x=+ep` sets them), stored as a PAX `SCHILY.xattr` record that `docker import` applies.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import tarfile
from pathlib import PurePosixPath

# Capability numbers from linux/capability.h, for the few a container image may need.
CAPABILITIES = {
    "cap_chown": 0,
    "cap_dac_override": 1,
    "cap_fowner": 3,
    "cap_kill": 5,
    "cap_setgid": 6,
    "cap_setuid": 7,
    "cap_net_bind_service": 10,
    "cap_net_broadcast": 11,
    "cap_net_admin": 12,
    "cap_net_raw": 13,
    "cap_sys_chroot": 18,
    "cap_sys_admin": 21,
}
VFS_CAP_REVISION_2 = 0x02000000
VFS_CAP_FLAGS_EFFECTIVE = 0x000001


def capability_xattr(names: list[str]) -> str:
    """Encode permitted+effective file capabilities as a vfs_cap_data (revision 2) value."""
    bits = 0
    for name in names:
        try:
            bits |= 1 << CAPABILITIES[name.lower()]
        except KeyError:
            raise SystemExit(f"rootfs_tar: unknown capability {name!r}") from None
    value = struct.pack(
        "<IIIII", VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, bits & 0xFFFFFFFF, 0, bits >> 32, 0
    )
    # tarfile writes PAX values as text; surrogateescape carries the raw bytes through unchanged.
    return value.decode("utf-8", "surrogateescape")


def relative(path: str) -> str:
    clean = PurePosixPath("/", path)
    if ".." in clean.parts:
        raise SystemExit(f"rootfs_tar: path escapes the root: {path!r}")
    return str(clean.relative_to("/"))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    mtime = int(spec.get("mtime", 0))
    entries: dict[str, tarfile.TarInfo] = {}
    payloads: dict[str, bytes] = {}

    def add(info: tarfile.TarInfo, payload: bytes | None = None) -> None:
        info.mtime = mtime
        info.uname = info.gname = ""
        parent = PurePosixPath(info.name).parent
        while str(parent) not in (".", ""):
            if str(parent) not in entries:
                directory = tarfile.TarInfo(str(parent))
                directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, mtime
                entries[str(parent)] = directory
            parent = parent.parent
        entries[info.name] = info
        if payload is not None:
            payloads[info.name] = payload

    for item in spec.get("dirs", []):
        info = tarfile.TarInfo(relative(item["path"]))
        info.type, info.mode = tarfile.DIRTYPE, int(item.get("mode", "0755"), 8)
        info.uid, info.gid = int(item.get("uid", 0)), int(item.get("gid", 0))
        add(info)
    for item in spec.get("files", []):
        info = tarfile.TarInfo(relative(item["dest"]))
        with open(item["src"], "rb") as handle:
            data = handle.read()
        info.size, info.mode = len(data), int(item.get("mode", "0755"), 8)
        info.uid, info.gid = int(item.get("uid", 0)), int(item.get("gid", 0))
        if item.get("capabilities"):
            info.pax_headers = {"SCHILY.xattr.security.capability": capability_xattr(item["capabilities"])}
        add(info, data)
    for item in spec.get("texts", []):
        info = tarfile.TarInfo(relative(item["dest"]))
        data = item["content"].encode("utf-8")
        info.size, info.mode = len(data), int(item.get("mode", "0644"), 8)
        add(info, data)
    for item in spec.get("symlinks", []):
        info = tarfile.TarInfo(relative(item["path"]))
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, item["target"], 0o777
        add(info)

    with tarfile.open(argv[2], "w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(entries):
            payload = payloads.get(name)
            archive.addfile(entries[name], io.BytesIO(payload) if payload is not None else None)
    print(json.dumps({"entries": len(entries), "bytes": sum(len(p) for p in payloads.values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
