from __future__ import annotations

import io
import struct
import tarfile

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.image_assemble import (
    ImageAssembleError,
    capability_xattr,
    dockerfile,
    import_changes,
    normalise,
    recipe,
    recipe_hash,
    smoke_problem,
    write_layer,
)

LABEL = "io.gitops-platform.image.recipe-sha256"


def _layout(tmp_path, **spec) -> dict:
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF tool")
    return normalise({"files": [{"src": str(binary), "dest": "/usr/local/bin/tool"}], **spec})


def _members(layout: dict) -> dict[str, tarfile.TarInfo]:
    out = io.BytesIO()
    write_layer(layout, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_paths_become_relative_and_defaults_fill_in(tmp_path) -> None:
    layout = _layout(tmp_path, texts=[{"dest": "etc/motd", "content": "hi"}], dirs=[{"path": "/tmp", "mode": "1777"}])
    assert layout["base"] == "scratch"
    expected = {"src": "", "dest": "usr/local/bin/tool", "mode": 0o755, "uid": 0, "gid": 0, "capabilities": []}
    assert layout["files"][0] | {"src": ""} == expected
    assert layout["texts"][0]["mode"] == 0o644 and layout["dirs"][0]["mode"] == 0o1777


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"files": [{"src": "/x", "dest": "../etc/passwd"}]}, "leaves the image's root"),
        ({"files": [{"src": "/x", "dest": "/"}]}, "names no file"),
        ({"files": [{"dest": "bin/x"}]}, "has no src"),
        ({"files": [{"src": "/x", "dest": "bin/x", "mode": "rwx"}]}, "is not an octal mode"),
        ({"files": [{"src": "/x", "dest": "bin/x", "capabilities": ["cap_everything"]}]}, "unknown capability"),
        ({"texts": [{"dest": "a", "content": ""}], "symlinks": [{"path": "/a", "target": "b"}]}, "more than one entry writes a"),
        ({"symlinks": [{"path": "bin/sh"}]}, "has no target"),
        ({"config": ["RUN rm -rf /"]}, "only ENV, USER"),
        ({"config": ["STOPSIGNAL SIGTERM"]}, "on an image FROM scratch"),
        ({"run": ["useradd x"]}, "needs a base image with a shell"),
        ({"labels": {"bad key": "v"}}, "label key"),
    ],
)
def test_bad_input_is_refused_with_a_reason(spec: dict, message: str) -> None:
    with pytest.raises(ImageAssembleError, match=message):
        normalise(spec)


def test_a_base_image_allows_run_and_stopsignal() -> None:
    layout = normalise({"base": "debian:local", "run": ["useradd app"], "config": ["STOPSIGNAL SIGQUIT"]})
    assert layout["run"] == ["useradd app"] and layout["config"] == ["STOPSIGNAL SIGQUIT"]


def test_the_layer_is_the_same_bytes_every_time(tmp_path) -> None:
    layout = _layout(tmp_path, symlinks=[{"path": "bin/t", "target": "../usr/local/bin/tool"}])
    first, second = io.BytesIO(), io.BytesIO()
    write_layer(layout, first)
    write_layer(layout, second)
    assert first.getvalue() == second.getvalue()


def test_the_layer_has_parents_owners_modes_links_and_zero_mtimes(tmp_path) -> None:
    layout = _layout(tmp_path, dirs=[{"path": "home/nonroot", "mode": "0700", "uid": 65532, "gid": 65532}],
                     texts=[{"dest": "etc/passwd", "content": "root:x:0:0::/root:/sbin/nologin\n"}],
                     symlinks=[{"path": "bin/sh", "target": "busybox"}])
    members = _members(layout)
    assert sorted(members) == ["bin", "bin/sh", "etc", "etc/passwd", "home", "home/nonroot", "usr", "usr/local",
                               "usr/local/bin", "usr/local/bin/tool"]
    assert members["home/nonroot"].uid == 65532 and members["home/nonroot"].mode == 0o700
    assert members["usr"].isdir() and members["usr"].mode == 0o755
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["usr/local/bin/tool"].size == len(b"\x7fELF tool") and members["usr/local/bin/tool"].mode == 0o755
    assert {member.mtime for member in members.values()} == {0}
    assert {member.uname for member in members.values()} == {""}


def test_capabilities_become_the_security_capability_xattr(tmp_path) -> None:
    binary = tmp_path / "coredns"
    binary.write_bytes(b"dns")
    layout = normalise({"files": [{"src": str(binary), "dest": "coredns", "capabilities": ["CAP_NET_BIND_SERVICE"]}]})
    record = _members(layout)["coredns"].pax_headers["SCHILY.xattr.security.capability"]
    magic, permitted, inheritable, permitted_high, inheritable_high = struct.unpack(
        "<IIIII", record.encode("utf-8", "surrogateescape"))
    assert magic == 0x02000001  # revision 2, effective
    assert permitted == 1 << 10 and (inheritable, permitted_high, inheritable_high) == (0, 0, 0)


def test_capability_encoding_covers_bits_above_31() -> None:
    # cap_sys_admin is 21: still the low word; the encoding keeps the high word for numbers above 31.
    value = capability_xattr(["cap_sys_admin", "cap_chown"]).encode("utf-8", "surrogateescape")
    assert struct.unpack("<IIIII", value)[1] == (1 << 21) | 1


def test_scratch_images_take_their_configuration_as_import_changes(tmp_path) -> None:
    layout = _layout(tmp_path, config=["USER 65532:65532", 'ENTRYPOINT ["/tool"]'], labels={"org.example.a": 'say "hi"'})
    assert import_changes(layout, LABEL, "abc") == [
        "USER 65532:65532", 'ENTRYPOINT ["/tool"]', 'LABEL io.gitops-platform.image.recipe-sha256="abc"',
        'LABEL org.example.a="say \\"hi\\""']


def test_images_on_a_base_add_the_layer_then_run_the_commands(tmp_path) -> None:
    layout = _layout(tmp_path, base="debian:local", run=["useradd app", "ln -s a b"], config=["USER app"])
    assert dockerfile(layout, "debian:local", LABEL, "abc") == (
        "FROM debian:local\nADD layer.tar /\nRUN ( useradd app ) \\\n && ( ln -s a b )\nUSER app\n"
        'LABEL io.gitops-platform.image.recipe-sha256="abc"\n')


@pytest.mark.parametrize(
    "change",
    [
        {"base_id": "sha256:other"},
        {"digest": "f" * 64},
        {"mode": "0700"},
        {"config": ["USER 1"]},
        {"extra": {"patch": 2}},
    ],
)
def test_every_input_of_the_image_changes_the_recipe_hash(tmp_path, change: dict) -> None:
    def digest(**kwargs) -> str:
        files = [{"src": "/b/tool", "dest": "tool", "mode": kwargs.get("mode", "0755")}]
        layout = normalise({"files": files, "config": kwargs.get("config", [])})
        return recipe_hash(recipe(layout, kwargs.get("base_id", "sha256:base"),
                                  {"/b/tool": kwargs.get("digest", "0" * 64)}, kwargs.get("extra", {})))

    assert digest() == digest()
    assert digest(**change) != digest()


def test_the_source_path_of_a_file_is_not_part_of_the_recipe() -> None:
    def digest(src: str) -> str:
        layout = normalise({"files": [{"src": src, "dest": "tool"}]})
        return recipe_hash(recipe(layout, "", {src: "0" * 64}, {}))

    assert digest("/cache/a/tool") == digest("/elsewhere/tool")


@pytest.mark.parametrize(
    ("test", "rc", "output", "problem"),
    [
        ({"args": ["--version"], "expect": "v1"}, 0, "tool v1", None),
        ({"args": ["--version"], "expect": "v1"}, 0, "tool v2", "printed no 'v1'"),
        ({"args": ["--version"]}, 2, "", "exited 2 (expected 0)"),
        ({"args": ["--version"], "expect": "ipset v", "rc": [0, 1]}, 1, "ipset v7", None),
        ({"entrypoint": "iptables", "args": ["-V"], "expect": "x"}, 0, "", "--entrypoint iptables -V"),
    ],
)
def test_smoke_results(test: dict, rc: int, output: str, problem: str | None) -> None:
    found = smoke_problem(test, rc, output)
    assert (found is None) if problem is None else (problem in found)
