from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.registry_cache import (
    CacheError, blob_path, manifest_path, read_entry, referenced_blobs)


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


CONFIG, LAYER = b'{"config": {}}', b"layer bytes"
MANIFEST = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": digest(CONFIG)}, "layers": [{"digest": digest(LAYER)}]}
MEDIA_TYPE = MANIFEST["mediaType"]


def write_entry(cache, manifest: dict | None = None, blobs: tuple = (CONFIG, LAYER), image_id: str = digest(CONFIG)) -> str:
    for data in blobs:
        path = blob_path(str(cache), digest(data))
        (cache / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    (cache / "manifests").mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest or MANIFEST)
    with open(manifest_path(str(cache), image_id), "w", encoding="utf-8") as handle:
        json.dump({"mediaType": MEDIA_TYPE, "manifest": text}, handle)
    return text


def test_referenced_blobs_lists_the_config_first() -> None:
    assert referenced_blobs(MANIFEST) == [digest(CONFIG), digest(LAYER)]


@pytest.mark.parametrize("bad", ["sha512:" + "0" * 128, "sha256:abc", "sha256:" + "G" * 64, "../../etc/passwd"])
def test_only_sha256_digests_name_files(tmp_path, bad: str) -> None:
    with pytest.raises(CacheError):
        blob_path(str(tmp_path), bad)


def test_a_complete_entry_is_read_back_as_stored(tmp_path) -> None:
    text = write_entry(tmp_path)
    assert read_entry(str(tmp_path), digest(CONFIG)) == (MEDIA_TYPE, text)


@pytest.mark.parametrize("case", ["no manifest", "missing layer", "other image", "not JSON"])
def test_an_incomplete_or_foreign_entry_is_not_trusted(tmp_path, case: str) -> None:
    if case == "missing layer":
        write_entry(tmp_path, blobs=(CONFIG,))
    elif case == "other image":
        write_entry(tmp_path, image_id=digest(b"another config"))
        assert read_entry(str(tmp_path), digest(b"another config")) is None
        return
    elif case == "not JSON":
        write_entry(tmp_path)
        with open(manifest_path(str(tmp_path), digest(CONFIG)), "w", encoding="utf-8") as handle:
            handle.write("{half")
    assert read_entry(str(tmp_path), digest(CONFIG)) is None
