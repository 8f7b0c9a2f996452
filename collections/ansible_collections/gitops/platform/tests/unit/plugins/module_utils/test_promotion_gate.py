"""The promotion gate's conditions, each passing and failing, in the order they are checked."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.promotion_gate import (
    CONDITIONS,
    GateRefused,
    Unavailable,
    evaluate,
    parse_time,
)

REV = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
OTHER_REV = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
DIGEST = "sha256:" + "0123456789abcdef" * 4
OLD_DIGEST = "sha256:" + "fedcba9876543210" * 4
IMAGE = "localhost:5001/demo-flask-app"
TAG = "064193f-32"
VALUES = f'image:\n  repository: {IMAGE}\n  tag: "{TAG}"\n'
FINISHED = "2024-05-01T12:00:00Z"
NOW = "2024-05-01T12:10:00Z"  # 600 s after FINISHED
ENV = "dev"
APP_NAME = "demo-flask-app-dev"

APPLICATION = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": APP_NAME, "namespace": "argocd"},
    "status": {
        "sync": {"status": "Synced", "revision": REV},
        "health": {"status": "Healthy"},
        "operationState": {"phase": "Succeeded", "startedAt": "2024-05-01T11:59:30Z", "finishedAt": FINISHED,
                           "message": "successfully synced (all tasks run)"},
        # Refreshed on every reconciliation: never the soak's start.
        "reconciledAt": "2024-05-01T12:09:59Z",
    },
}


def pod(name: str = "app-1", tag: str = TAG, digest: str = DIGEST, ready: bool = True,
        registry: str = "localhost:5001", image_id: str | None = None, terminating: bool = False) -> dict:
    image = f"{registry}/demo-flask-app:{tag}"
    return {
        "metadata": {"name": name, **({"deletionTimestamp": "2024-05-01T12:09:58Z"} if terminating else {})},
        "spec": {"containers": [{"name": "app", "image": image}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "app", "image": image, "ready": ready,
                                   "imageID": f"{registry}/demo-flask-app@{digest}" if image_id is None else image_id}],
        },
    }


PODS = [pod("app-1"), pod("app-2")]


def changed(base: dict, **paths) -> dict:
    """A deep copy of `base` with dotted paths (`__` for `.`) set; a value of None deletes the key."""
    result = copy.deepcopy(base)
    for dotted, value in paths.items():
        keys = dotted.split("__")
        node = result
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return result


DEFAULT = object()  # an argument not given (None is a value the tests pass)


def run(application=DEFAULT, pods=DEFAULT, values=VALUES, digest=DIGEST, soak=300, now=NOW) -> dict:
    application = copy.deepcopy(APPLICATION) if application is DEFAULT else application
    pods = copy.deepcopy(PODS) if pods is DEFAULT else pods
    return evaluate(application, pods, values, digest, environment=ENV, image=IMAGE,
                    values_file="helm/demo-flask-app/values-dev.yaml", soak=soak, now=now)


def refusal(**arguments) -> GateRefused:
    with pytest.raises(GateRefused) as raised:
        run(**arguments)
    assert str(raised.value) == f"Refusing to promote from {ENV}: {raised.value.text}. Nothing was committed."
    assert raised.value.condition in CONDITIONS
    return raised.value


def test_everything_holds():
    assert run() == {
        "tag": TAG,
        "revision": REV,
        "digest": DIGEST,
        "since": FINISHED,
        "soaked_seconds": 600,
        "gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 2 pods run {TAG} sha256:0123456789ab, soaked 600s (min 300s)",
    }


# (arguments) -> condition, the reason as it appears in the message
FAILURES = [
    # 1. The Application exists.
    ({"application": None}, "application", "the Argo CD Application of dev does not exist"),
    ({"application": {}}, "application", "the Argo CD Application of dev does not exist"),
    ({"application": {"resources": []}}, "application", "the Argo CD Application of dev does not exist"),
    # 2. Synced and Healthy, saying what they are and why.
    ({"application": changed(APPLICATION, status__sync__status="OutOfSync")}, "status",
     f"Application {APP_NAME} is OutOfSync and Healthy, not Synced and Healthy"),
    ({"application": changed(APPLICATION, status__health={"status": "Degraded",
                                                          "message": "Deployment exceeded its progress deadline"})},
     "status", f"Application {APP_NAME} is Synced and Degraded, not Synced and Healthy (health: Deployment exceeded "
               "its progress deadline)"),
    ({"application": changed(APPLICATION, status__health__status="Progressing",
                             status__conditions=[{"type": "SyncError", "message": "one\ntwo"},
                                                 {"type": "ComparisonError", "message": "rpc error"}])},
     "status", f"Application {APP_NAME} is Synced and Progressing, not Synced and Healthy (SyncError: one two; "
               "ComparisonError: rpc error)"),
    ({"application": changed(APPLICATION, status=None)}, "status",
     f"Application {APP_NAME} is Unknown and Unknown, not Synced and Healthy"),
    ({"application": changed(APPLICATION, status__health={"status": "Missing", "message": "x " * 400})}, "status",
     f"Application {APP_NAME} is Synced and Missing, not Synced and Healthy (health: x x x"),
    # 3. No sync operation running or waiting.
    ({"application": changed(APPLICATION, status__operationState__phase="Running",
                             status__operationState__message="waiting for healthy state of apps/Deployment/app")},
     "operation", f"Application {APP_NAME} has a sync operation Running since 2024-05-01T11:59:30Z (waiting for "
                  "healthy state of apps/Deployment/app)"),
    ({"application": changed(APPLICATION, status__operationState__phase="Terminating",
                             status__operationState__message=None, status__operationState__startedAt=None)},
     "operation", f"Application {APP_NAME} has a sync operation Terminating"),
    ({"application": changed(APPLICATION, operation={"sync": {"revision": REV}})}, "operation",
     f"Application {APP_NAME} has a sync operation requested that has not finished"),
    # 4. The values file at the synced revision carries a tag.
    ({"application": changed(APPLICATION, status__sync__revision=None)}, "revision",
     f"Application {APP_NAME} reports no synced revision (status.sync.revision); an Application with several "
     "sources is not supported"),
    ({"application": changed(APPLICATION, status__sync__revision="0.3.1")}, "revision",
     f"Application {APP_NAME}'s synced revision '0.3.1' is not a git commit id"),
    ({"application": changed(APPLICATION, status__sync__revision="--upload-pack=x" + "0" * 30)}, "revision",
     f"Application {APP_NAME}'s synced revision '--upload-pack=x{'0' * 30}' is not a git commit id"),
    ({"values": "image:\n  repository: x\n"}, "revision",
     "helm/demo-flask-app/values-dev.yaml at 1a2b3c4d5e6f has no usable 'image.tag': key 'image.tag' not found"),
    ({"values": "image:\n  tag:\n"}, "revision",
     "helm/demo-flask-app/values-dev.yaml at 1a2b3c4d5e6f carries no tag at 'image.tag'"),
    ({"values": "image: {tag: [1\n"}, "revision",
     "helm/demo-flask-app/values-dev.yaml at 1a2b3c4d5e6f has no usable 'image.tag': the file is not valid YAML"),
    # 5. Every Ready pod runs the tag, by the registry's digest.
    ({"pods": []}, "pods", f"no pods of Application {APP_NAME} were found in dev"),
    ({"pods": {"resources": []}}, "pods", f"no pods of Application {APP_NAME} were found in dev"),
    ({"pods": [pod("a", ready=False), pod("b", ready=False)]}, "pods",
     f"none of the 2 pods of Application {APP_NAME} is Ready (a, b)"),
    ({"pods": [pod("a"), pod("b", tag="064193f-31")]}, "pods",
     f"pod b runs localhost:5001/demo-flask-app:064193f-31, not :{TAG} (the tag at 1a2b3c4d5e6f): the rollout has "
     "not finished"),
    ({"pods": [pod("a", digest=OLD_DIGEST)]}, "pods",
     f"pod a runs sha256:fedcba987654 but {IMAGE}:{TAG} is sha256:0123456789ab in the registry: the tag was pushed "
     "again since, or the pod runs an older build"),
    ({"pods": [pod("a"), pod("b", digest=OLD_DIGEST)]}, "pods",
     f"pod b runs sha256:fedcba987654 but {IMAGE}:{TAG} is sha256:0123456789ab in the registry"),
    ({"pods": [pod("a", image_id="sha256:" + "1" * 64)]}, "pods",
     f"pod a container app reports no registry digest (imageID 'sha256:{'1' * 64}'), so what it runs cannot be "
     f"compared with {IMAGE}:{TAG}: was the image loaded into the node rather than pulled?"),
    ({"pods": [pod("a", image_id="")]}, "pods", "pod a container app reports no registry digest (imageID '')"),
    ({"digest": OLD_DIGEST}, "pods",
     f"pod app-1 runs sha256:0123456789ab but {IMAGE}:{TAG} is sha256:fedcba987654 in the registry"),
    # 6. Soaked long enough.
    ({"soak": 900}, "soak",
     f"Application {APP_NAME} has been Synced and Healthy for 600s since {FINISHED}, less than the 900s soak; "
     "300s remain"),
    ({"application": changed(APPLICATION, status__health__lastTransitionTime="2024-05-01T12:08:00Z")}, "soak",
     f"Application {APP_NAME} has been Synced and Healthy for 120s since 2024-05-01T12:08:00Z, less than the 300s "
     "soak; 180s remain"),
    ({"application": changed(APPLICATION, status__operationState=None)}, "soak",
     f"Application {APP_NAME} tells no time it became Synced and Healthy (no status.operationState.finishedAt or "
     "status.health.lastTransitionTime), so its 300s soak cannot be checked"),
    ({"application": changed(APPLICATION, status__operationState__finishedAt="yesterday")}, "soak",
     f"Application {APP_NAME}'s status.operationState.finishedAt 'yesterday' is not a timestamp"),
    ({"now": "2024-05-01T11:00:00Z"}, "soak",  # a clock behind Argo CD's: not soaked at all
     f"Application {APP_NAME} has been Synced and Healthy for 0s since {FINISHED}, less than the 300s soak; "
     "300s remain"),
]


@pytest.mark.parametrize(("arguments", "condition", "text"), FAILURES)
def test_each_condition_fails_with_its_message(arguments, condition, text):
    refused = refusal(**arguments)
    assert refused.condition == condition
    assert refused.text.startswith(text), refused.text


def test_argo_cd_messages_are_cut_short():
    refused = refusal(application=changed(APPLICATION, status__health={"status": "Missing", "message": "x " * 400}))
    assert refused.text.endswith("x...)")
    assert len(refused.text) <= len(f"Application {APP_NAME} is Synced and Missing, not Synced and Healthy ()") + 300


def test_a_soak_refusal_says_how_long_remains():
    refused = refusal(soak=900)
    assert refused.details == {"soak_remaining": 300, "since": FINISHED}


# (arguments) -> what the gate returns besides the defaults
PASSES = [
    # The k8s_info result as registered, for both.
    ({"application": {"resources": [APPLICATION]}, "pods": {"resources": PODS}}, {}),
    # Pods that are not Ready are not judged (an old one on its way out); ones with a different registry name
    # (an in-cluster alias) are matched by tag and digest.
    ({"pods": [pod("new"), pod("old", tag="064193f-31", digest=OLD_DIGEST, ready=False)]},
     {"gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 1 pod run {TAG} sha256:0123456789ab, soaked 600s (min 300s)"}),
    # A pod being deleted stays Ready while its pre-stop delay lets the Service forget it: it is not judged.
    ({"pods": [pod("new"), pod("old", tag="064193f-31", digest=OLD_DIGEST, terminating=True)]},
     {"gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 1 pod run {TAG} sha256:0123456789ab, soaked 600s (min 300s)"}),
    ({"pods": [pod("a", registry="kind-registry:5000")]},
     {"gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 1 pod run {TAG} sha256:0123456789ab, soaked 600s (min 300s)"}),
    # Exactly the soak is enough.
    ({"soak": 600}, {"gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 2 pods run {TAG} sha256:0123456789ab, soaked "
                             "600s (min 600s)"}),
    # The later of finishedAt and the health's lastTransitionTime; reconciledAt is never it.
    ({"application": changed(APPLICATION, status__health__lastTransitionTime="2024-05-01T12:01:40Z")},
     {"since": "2024-05-01T12:01:40Z", "soaked_seconds": 500,
      "gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 2 pods run {TAG} sha256:0123456789ab, soaked 500s (min 300s)"}),
    ({"application": changed(APPLICATION, status__health__lastTransitionTime="2024-05-01T11:00:00Z")}, {}),
    ({"application": changed(APPLICATION, status__operationState__finishedAt="2024-05-01T14:00:00+02:00")}, {}),
    ({"application": changed(APPLICATION, status__operationState__finishedAt="2024-05-01T12:00:00.123456789Z")}, {}),
    # No soak asked for: one needs no time at all.
    ({"soak": 0, "application": changed(APPLICATION, status__operationState=None)},
     {"since": None, "soaked_seconds": None,
      "gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 2 pods run {TAG} sha256:0123456789ab, soak not measured"}),
    ({"soak": 0}, {"gate": f"dev Synced+Healthy at 1a2b3c4d5e6f, 2 pods run {TAG} sha256:0123456789ab, soaked 600s"}),
    # A plain (unquoted) tag, and a tag that YAML would read as a number.
    ({"values": "image:\n  tag: 064193f-32\n"}, {}),
]


@pytest.mark.parametrize(("arguments", "expected"), PASSES)
def test_passes(arguments, expected):
    result = run(**arguments)
    for key, value in expected.items():
        assert result[key] == value, key
    assert result["tag"] == TAG and result["digest"] == DIGEST


def test_a_numeric_looking_tag_is_compared_as_written():
    result = run(values="image:\n  tag: '1.10'\n", pods=[pod("a", tag="1.10")])
    assert result["tag"] == "1.10"


def test_the_readers_are_asked_for_the_synced_revision_and_its_tag_only_when_needed():
    asked = []

    def values(revision):
        asked.append(("values", revision))
        return VALUES

    def registry(tag):
        asked.append(("registry", tag))
        return DIGEST

    run(values=values, digest=registry)
    assert asked == [("values", REV), ("registry", TAG)]

    asked.clear()
    with pytest.raises(GateRefused):
        run(application=changed(APPLICATION, status__sync__status="OutOfSync"), values=values, digest=registry)
    with pytest.raises(GateRefused):
        run(pods=[pod("a", tag="0.0.1")], values=values, digest=registry)
    assert asked == [("values", REV)]  # a pod on another tag fails before the registry is asked


@pytest.mark.parametrize(
    ("arguments", "condition", "text"),
    [
        ({"values": "git"}, "revision",
         f"the synced revision {OTHER_REV[:12]} is not on branch main of /srv/git/gitops.git"),
        ({"digest": "registry"}, "pods",
         f"cannot ask the registry for {IMAGE}:{TAG}: {IMAGE.split('/')[1]}:{TAG} does not exist in the registry"),
    ],
)
def test_a_reader_that_cannot_answer_is_a_refusal(arguments, condition, text):
    def values(revision):
        raise Unavailable(f"the synced revision {OTHER_REV[:12]} is not on branch main of /srv/git/gitops.git")

    def registry(tag):
        raise Unavailable(f"{IMAGE.split('/')[1]}:{tag} does not exist in the registry localhost:5001 (HTTP 404)")

    readers = {"values": values, "digest": registry}
    refused = refusal(**{name: readers[name] for name in arguments})
    assert refused.condition == condition
    assert refused.text.startswith(text), refused.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)),
        ("2024-05-01T14:00:00+02:00", dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)),
        ("2024-05-01T14:00:00+0200", dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)),
        ("2024-05-01T12:00:00.5Z", dt.datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc)),
        ("2024-05-01 12:00:00", dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-05-01", "12:00:00Z"])
def test_parse_time_refuses_what_is_not_a_timestamp(text):
    with pytest.raises(ValueError, match="is not an RFC 3339 timestamp"):
        parse_time(text)
