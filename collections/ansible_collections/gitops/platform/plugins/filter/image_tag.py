# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters for image tags, sharing the promotion module's rules."""

from __future__ import annotations

from ansible_collections.gitops.platform.plugins.module_utils.image_tag import DEFAULT_TAG_POLICY, tag_error


def image_tag_error(tag: object, policy: str | None = DEFAULT_TAG_POLICY) -> str:
    return tag_error(tag, policy)


class FilterModule:
    def filters(self) -> dict:
        return {"image_tag_error": image_tag_error}
