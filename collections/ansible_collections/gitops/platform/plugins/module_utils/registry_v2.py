# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Ask an OCI / Docker registry (distribution API v2) whether a tag exists, and which manifest digest it names."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.gitops.platform.plugins.module_utils.image_ref import parse

_MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


class RegistryError(Exception):
    """The registry could not answer the question; the message says what to check."""


def split_image(image: str) -> tuple[str, str]:
    """`ghcr.io/org/app` -> (`ghcr.io`, `org/app`); a name without a registry host means Docker Hub."""
    ref = parse(image)
    return (ref.registry or "registry-1.docker.io"), ref.registry_path


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _space, params = header.partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', params))


def _open(url: str, headers: dict[str, str], method: str, timeout: float):
    """The registry's response, error statuses included; RegistryError when there is no answer at all."""
    try:
        return open_url(url, headers=headers, method=method, timeout=timeout, http_agent="gitops-platform")
    except urllib.error.HTTPError as exc:
        return exc
    except (urllib.error.URLError, UrlsConnectionError, OSError) as exc:
        raise RegistryError(f"cannot reach the registry at {url}: {exc}") from exc


def _manifest_head(image: str, tag: str, username: str, password: str, insecure: bool, timeout: float):
    """(response, host, path) of a HEAD of `image:tag`'s manifest, after the bearer-token flow if asked for.

    Handles anonymous access, HTTP basic auth and the bearer-token flow (ghcr.io, Docker Hub).
    Raises RegistryError when the registry cannot be reached or refuses a token.
    """
    host, path = split_image(image)
    scheme = "http" if insecure else "https"
    url = f"{scheme}://{host}/v2/{path}/manifests/{urllib.parse.quote(tag)}"
    headers = {"Accept": _MANIFEST_TYPES}
    if username:
        headers["Authorization"] = _basic(username, password)
    response = _open(url, headers, "HEAD", timeout)

    if response.status == 401:
        kind, params = _challenge(response.headers.get("WWW-Authenticate", ""))
        if kind == "bearer" and "realm" in params:
            query = {"service": params.get("service", ""), "scope": params.get("scope", f"repository:{path}:pull")}
            token_response = _open(
                params["realm"] + "?" + urllib.parse.urlencode(query),
                {"Authorization": _basic(username, password)} if username else {},
                "GET",
                timeout,
            )
            if token_response.status != 200:
                raise RegistryError(
                    f"the registry {host} refused a token for {path} (HTTP {token_response.status}): "
                    "check the registry username and password"
                )
            body = json.loads(token_response.read() or b"{}")
            token = body.get("token") or body.get("access_token") or ""
            headers["Authorization"] = f"Bearer {token}"
            response = _open(url, headers, "HEAD", timeout)
    return response, host, path


def _refused(response, host: str, path: str, tag: str) -> RegistryError:
    """The error for an answer that is neither 200 nor 404."""
    if response.status in (401, 403):
        return RegistryError(
            f"the registry {host} refused access to {path} (HTTP {response.status}): "
            "check the registry username and password"
        )
    return RegistryError(f"the registry {host} answered HTTP {response.status} for {path}:{tag}")


def tag_exists(image: str, tag: str, username: str = "", password: str = "",
               insecure: bool = False, timeout: float = 15.0) -> bool:
    """True when `image:tag` has a manifest; False when the registry says it does not.

    Handles anonymous access, HTTP basic auth and the bearer-token flow (ghcr.io, Docker Hub).
    Raises RegistryError when the registry cannot be reached or refuses the credentials.
    """
    response, host, path = _manifest_head(image, tag, username, password, insecure, timeout)
    if response.status == 200:
        return True
    if response.status == 404:
        return False
    raise _refused(response, host, path, tag)


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


def manifest_digest(image: str, tag: str, username: str = "", password: str = "",
                    insecure: bool = False, timeout: float = 15.0) -> str:
    """The digest (`sha256:...`) the registry serves for `image:tag`: its Docker-Content-Digest header.

    For a multi-platform image that is the digest of the index (manifest list), which is what a container
    runtime records as the image's repo digest when it pulls the tag. Raises RegistryError when the tag
    does not exist, the registry refuses the credentials or cannot be reached, or answers without a digest.
    """
    response, host, path = _manifest_head(image, tag, username, password, insecure, timeout)
    if response.status == 404:
        raise RegistryError(f"{path}:{tag} does not exist in the registry {host} (HTTP 404)")
    if response.status != 200:
        raise _refused(response, host, path, tag)
    digest = (response.headers.get("Docker-Content-Digest") or "").strip()
    if not _DIGEST.fullmatch(digest):
        shown = f"'{digest[:80]}'" if digest else "none"
        raise RegistryError(
            f"the registry {host} answered for {path}:{tag} without a valid Docker-Content-Digest header "
            f"(got {shown}), so the image it serves cannot be compared with what runs"
        )
    return digest
