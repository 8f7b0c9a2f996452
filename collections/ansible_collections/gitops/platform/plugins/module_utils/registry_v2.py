# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Ask an OCI / Docker registry (distribution API v2) whether a tag exists."""

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


def tag_exists(image: str, tag: str, username: str = "", password: str = "",
               insecure: bool = False, timeout: float = 15.0) -> bool:
    """True when `image:tag` has a manifest; False when the registry says it does not.

    Handles anonymous access, HTTP basic auth and the bearer-token flow (ghcr.io, Docker Hub).
    Raises RegistryError when the registry cannot be reached or refuses the credentials.
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

    if response.status == 200:
        return True
    if response.status == 404:
        return False
    if response.status in (401, 403):
        raise RegistryError(
            f"the registry {host} refused access to {path} (HTTP {response.status}): "
            "check the registry username and password"
        )
    raise RegistryError(f"the registry {host} answered HTTP {response.status} for {path}:{tag}")
