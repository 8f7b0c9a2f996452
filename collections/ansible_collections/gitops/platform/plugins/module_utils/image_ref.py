# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Split an image reference the way Docker and containerd read it: [registry/]path[:tag][@digest]."""

from __future__ import annotations

import re
from typing import NamedTuple

DOCKER_HUB = "docker.io"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


class ImageRefError(ValueError):
    """Not an image reference; the message says which part is wrong."""


class ImageRef(NamedTuple):
    registry: str  # the host[:port] as written; "" when the reference names none (Docker Hub)
    path: str  # the repository path inside the registry, as written (no library/ added)
    tag: str
    digest: str

    @property
    def name(self) -> str:
        """The reference without tag and digest: what an image override keys on."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def registry_host(self) -> str:
        """The registry a pull goes to: docker.io when the reference names none."""
        return self.registry or DOCKER_HUB

    @property
    def registry_path(self) -> str:
        """The path in that registry: Docker Hub's official images live under library/."""
        return self.path if self.registry or "/" in self.path else f"library/{self.path}"

    @property
    def docker_listed(self) -> str:
        """How the Docker engine lists the image: Docker Hub's without docker.io/ and library/, an untagged one as
        latest, a digest after @ (among RepoDigests, not RepoTags)."""
        name = self.name
        if self.registry in ("", DOCKER_HUB):
            name = self.path[len("library/"):] if self.path.startswith("library/") else self.path
        if self.digest:
            return f"{name}@{self.digest}"
        return f"{name}:{self.tag or 'latest'}"


def parse(reference: str) -> ImageRef:
    if not isinstance(reference, str) or not reference.strip():
        raise ImageRefError("the image reference is empty")
    rest, _at, digest = reference.strip().partition("@")
    if digest and not _DIGEST.match(digest):
        raise ImageRefError(f"{reference!r} has an invalid digest {digest!r}")
    first, slash, remainder = rest.partition("/")
    # The first component is a registry when it looks like a host: a dot, a port, or localhost.
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    else:
        registry = ""
    path, tag = rest, ""
    if ":" in rest.rsplit("/", 1)[-1]:
        path, _colon, tag = rest.rpartition(":")
        if not _TAG.match(tag):
            raise ImageRefError(f"{reference!r} has an invalid tag {tag!r}")
    if not _PATH.match(path):
        raise ImageRefError(f"{reference!r} has an invalid repository path {path!r}")
    return ImageRef(registry, path, tag, digest)
