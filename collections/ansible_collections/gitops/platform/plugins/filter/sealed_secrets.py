# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters of the Sealed Secrets sealing keys (roles/sealed_secrets)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
KEY_FIELDS = ("tls.crt", "tls.key")


def sealing_key(secret: dict) -> dict:
    """A sealing key Secret as the backup keeps it and the cluster takes it back: its name, namespace, label value,
    type and the two PEM fields; the server's fields (uid, resourceVersion, managedFields, timestamps) left out."""
    if not isinstance(secret, dict):
        raise AnsibleFilterError(f"sealing_key expects a Secret as a mapping, got {type(secret).__name__}")
    metadata = secret.get("metadata") or {}
    data = secret.get("data") or {}
    missing = [field for field in KEY_FIELDS if not data.get(field)]
    if not metadata.get("name") or missing:
        raise AnsibleFilterError(
            f"{metadata.get('name') or 'a Secret without a name'} is no sealing key: it lacks "
            f"{', '.join(missing) if missing else 'a name'}")
    labels = metadata.get("labels") or {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": metadata["name"], "namespace": metadata.get("namespace", ""),
                     "labels": {KEY_LABEL: labels.get(KEY_LABEL, "active")}},
        "data": {field: data[field] for field in KEY_FIELDS},
    }


class FilterModule:
    def filters(self) -> dict:
        return {"sealing_key": sealing_key}
