# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gitops.platform.plugins.filter.sealed_secrets import sealing_key

LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"


def test_keeps_what_a_restore_needs_and_drops_the_servers_fields():
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "sealed-secrets-keyabc", "namespace": "kube-system", "uid": "u", "resourceVersion": "7",
                     "creationTimestamp": "2026-12-02T00:00:00Z", "managedFields": [{}],
                     "labels": {LABEL: "compromised", "other": "x"}},
        "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5", "extra": "eA=="},
    }
    assert sealing_key(secret) == {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "sealed-secrets-keyabc", "namespace": "kube-system", "labels": {LABEL: "compromised"}},
        "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"},
    }


def test_a_key_without_its_label_is_active():
    secret = {"metadata": {"name": "k", "namespace": "kube-system"}, "data": {"tls.crt": "Yw==", "tls.key": "aw=="}}
    assert sealing_key(secret)["metadata"]["labels"] == {LABEL: "active"}


@pytest.mark.parametrize(("secret", "says"), [
    ({"metadata": {"name": "k"}, "data": {"tls.crt": "Yw=="}}, "k is no sealing key: it lacks tls.key"),
    ({"metadata": {}, "data": {"tls.crt": "Yw==", "tls.key": "aw=="}}, "a Secret without a name is no sealing key"),
    ("text", "expects a Secret as a mapping, got str"),
])
def test_refuses_what_is_no_sealing_key(secret, says):
    with pytest.raises(AnsibleFilterError, match=says):
        sealing_key(secret)
