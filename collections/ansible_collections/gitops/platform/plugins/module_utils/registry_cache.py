# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""A directory that keeps images as a registry stores them (manifest, config and compressed layers), to put them
back into a registry without `docker push`, which compresses every layer again.

Layout: `blobs/sha256/<hex>` (content-addressed, shared between images) and `manifests/<image id hex>.json`
({"mediaType": ..., "manifest": <the manifest's text>}), keyed by the image ID (the config's digest), so an image
rebuilt with another ID is another entry. Files are written to a temporary name and renamed, blobs checked
against their digest: an interrupted write leaves no entry that looks complete.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.parse

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


class CacheError(Exception):
    """The registry or the cache directory could not do what was asked; the message says which."""


def _hex(digest: str) -> str:
    algorithm, value = digest.partition(":")[::2]
    if algorithm != "sha256" or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise CacheError(f"not a sha256 digest: {digest!r}")
    return value


def blob_path(cache_dir: str, digest: str) -> str:
    return os.path.join(cache_dir, "blobs", "sha256", _hex(digest))


def manifest_path(cache_dir: str, image_id: str) -> str:
    return os.path.join(cache_dir, "manifests", _hex(image_id) + ".json")


def referenced_blobs(manifest: dict) -> list[str]:
    """The config and layer digests an image manifest names, config first."""
    return [manifest["config"]["digest"]] + [layer["digest"] for layer in manifest.get("layers") or []]


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read_entry(cache_dir: str, image_id: str) -> tuple[str, str] | None:
    """(media type, manifest text) of a complete entry (manifest and every blob it names), else None."""
    try:
        with open(manifest_path(cache_dir, image_id), encoding="utf-8") as handle:
            entry = json.load(handle)
        manifest = json.loads(entry["manifest"])
    except (OSError, ValueError, KeyError):
        return None
    if manifest.get("config", {}).get("digest") != image_id:
        return None
    if not all(os.path.isfile(blob_path(cache_dir, digest)) for digest in referenced_blobs(manifest)):
        return None
    return entry["mediaType"], entry["manifest"]


class Registry:
    """The few distribution API v2 calls a copy needs, with HTTP basic auth when given an account."""

    def __init__(self, url: str, username: str = "", password: str = "", timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()} \
            if username else {}
        self.timeout = timeout

    def _call(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None):
        url = path if path.startswith("http") else self.url + path
        try:
            return open_url(url, method=method, data=data, headers={**self.headers, **(headers or {})},
                            timeout=self.timeout, http_agent="gitops-platform", follow_redirects="all")
        except urllib.error.HTTPError as error:
            return error
        except (urllib.error.URLError, UrlsConnectionError, OSError) as error:
            raise CacheError(f"cannot reach the registry at {self.url}: {error}") from error

    def _expect(self, response, statuses: tuple[int, ...], what: str):
        status = getattr(response, "status", None) or response.getcode()
        if status not in statuses:
            hint = ": check the registry account" if status in (401, 403) else ""
            raise CacheError(f"{what}: the registry answered HTTP {status}{hint}")
        return response

    def manifest(self, repository: str, tag: str) -> tuple[str, str] | None:
        """(media type, text) of repository:tag's manifest, None when the tag does not exist."""
        response = self._call("GET", f"/v2/{repository}/manifests/{urllib.parse.quote(tag)}",
                              headers={"Accept": MANIFEST_TYPES})
        if (getattr(response, "status", None) or response.getcode()) == 404:
            return None
        self._expect(response, (200,), f"reading {repository}:{tag}")
        return response.headers.get("Content-Type", "").split(";")[0], response.read().decode("utf-8")

    def blob(self, repository: str, digest: str) -> bytes:
        response = self._expect(self._call("GET", f"/v2/{repository}/blobs/{digest}"), (200,),
                                f"reading blob {digest[:19]} of {repository}")
        return response.read()

    def has_blob(self, repository: str, digest: str) -> bool:
        response = self._call("HEAD", f"/v2/{repository}/blobs/{digest}")
        return (getattr(response, "status", None) or response.getcode()) == 200

    def upload_blob(self, repository: str, digest: str, data: bytes) -> None:
        started = self._expect(self._call("POST", f"/v2/{repository}/blobs/uploads/"), (202,),
                               f"starting an upload to {repository}")
        location = started.headers.get("Location", "")
        if not location:
            raise CacheError(f"starting an upload to {repository}: the registry named no upload location")
        location = location if location.startswith("http") else self.url + location
        location += ("&" if "?" in location else "?") + "digest=" + urllib.parse.quote(digest)
        self._expect(self._call("PUT", location, data=data, headers={"Content-Type": "application/octet-stream"}),
                     (201,), f"uploading blob {digest[:19]} to {repository}")

    def put_manifest(self, repository: str, tag: str, media_type: str, text: str) -> None:
        self._expect(self._call("PUT", f"/v2/{repository}/manifests/{urllib.parse.quote(tag)}",
                                data=text.encode("utf-8"), headers={"Content-Type": media_type}),
                     (201,), f"writing {repository}:{tag}")


def save(registry: Registry, cache_dir: str, repository: str, tag: str, image_id: str, check_mode: bool) -> bool:
    """Keep repository:tag (which must be image `image_id`) in the cache; False when it was there already."""
    if read_entry(cache_dir, image_id):
        return False
    found = registry.manifest(repository, tag)
    if found is None:
        raise CacheError(f"{repository}:{tag} is not in the registry")
    media_type, text = found
    manifest = json.loads(text)
    if manifest.get("config", {}).get("digest") != image_id:
        raise CacheError(f"{repository}:{tag} in the registry is not image {image_id[:19]}")
    if check_mode:
        return True
    for digest in referenced_blobs(manifest):
        path = blob_path(cache_dir, digest)
        if os.path.isfile(path):
            continue
        data = registry.blob(repository, digest)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise CacheError(f"blob {digest[:19]} of {repository} does not match its digest")
        _write_atomically(path, data)
    # Last: the manifest makes the entry complete.
    _write_atomically(manifest_path(cache_dir, image_id),
                      json.dumps({"mediaType": media_type, "manifest": text}).encode("utf-8"))
    return True


def restore(registry: Registry, cache_dir: str, repository: str, tag: str, image_id: str, check_mode: bool) -> bool:
    """Put image `image_id` into the registry as repository:tag from the cache; False when it has no entry."""
    entry = read_entry(cache_dir, image_id)
    if entry is None:
        return False
    if check_mode:
        return True
    media_type, text = entry
    for digest in referenced_blobs(json.loads(text)):
        if registry.has_blob(repository, digest):
            continue
        with open(blob_path(cache_dir, digest), "rb") as handle:
            registry.upload_blob(repository, digest, handle.read())
    registry.put_manifest(repository, tag, media_type, text)
    return True
