"""values.schema.json rejects bad values; the values files keep the shape the CI promotion job relies on."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import CHART_DIR, VALUES_FILES, Helm
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

SCHEMA_ERROR = "values don't meet the specifications of the schema"

# (values file content, message helm must print)
BAD_VALUES = [
    pytest.param('imagee:\n  tag: "1.0.0"\n', "additional properties 'imagee' not allowed", id="typo-top-level-key"),
    pytest.param("service:\n  nodeport: 30080\n", "additional properties 'nodeport' not allowed", id="typo-nested-key"),
    pytest.param("podSecurityContext:\n  runAsNonroot: true\n", "additional properties 'runAsNonroot' not allowed", id="typo-security-key"),
    pytest.param('image:\n  tag: "bad tag!"\n', "does not match pattern", id="tag-with-space"),
    pytest.param('image:\n  tag: ".hidden"\n', "does not match pattern", id="tag-leading-dot"),
    pytest.param(f'image:\n  tag: "{"a" * 129}"\n', "does not match pattern", id="tag-too-long"),
    pytest.param("image:\n  tag: 1.0\n", "got number, want string", id="tag-unquoted-number"),
    pytest.param('image:\n  repository: "ghcr.io/Example/App"\n', "does not match pattern", id="repository-upper-case"),
    pytest.param("image:\n  pullPolicy: Sometimes\n", "value must be one of", id="pull-policy-enum"),
    pytest.param("service:\n  nodePort: 80\n", "minimum: got 80, want 30,000", id="nodeport-below-range"),
    pytest.param("service:\n  nodePort: 32768\n", "maximum: got 32,768, want 32,767", id="nodeport-above-range"),
    pytest.param("service:\n  type: Ingress\n", "value must be one of", id="service-type-enum"),
    pytest.param("replicaCount: -1\n", "minimum: got -1, want 0", id="replicas-negative"),
    pytest.param('replicaCount: "2"\n', "got string, want integer", id="replicas-string"),
    pytest.param("replicaCount: 1.5\n", "got number, want integer", id="replicas-fraction"),
    pytest.param('rollingUpdate:\n  maxSurge: "lots"\n', "'oneOf' failed, none matched", id="max-surge-not-percent"),
    pytest.param("imagePullSecrets:\n  - regcred\n", "got string, want object", id="pull-secret-not-object"),
    pytest.param('config:\n  APP_VERSION: "9.9.9"\n', "invalid propertyName 'APP_VERSION'", id="config-overrides-app-version"),
    pytest.param("config:\n  WORKERS: 4\n", "got number, want string", id="config-value-not-string"),
    pytest.param("config:\n  LOG_LEVEL: VERBOSE\n", "value must be one of", id="log-level-enum"),
    pytest.param('resources:\n  limits:\n    cpu: "lots"\n', "'oneOf' failed, none matched", id="quantity-invalid"),
    pytest.param("livenessProbe:\n  path: healthz\n", "does not match pattern", id="probe-path-relative"),
    pytest.param("shutdown:\n  preStopSleepSeconds: 61\n", "maximum: got 61, want 60", id="prestop-too-long"),
    pytest.param("shutdown:\n  drainSecs: 5\n", "additional properties 'drainSecs' not allowed", id="shutdown-typo"),
    pytest.param("progressDeadlineSeconds: 0\n", "minimum: got 0, want 1", id="progress-deadline-zero"),
    pytest.param("autoscaling:\n  targetCPUUtilizationPercentage: 150\n", "maximum: got 150, want 100", id="hpa-target-over-100"),
    pytest.param("autoscaling:\n  minReplicas: 0\n", "minimum: got 0, want 1", id="hpa-min-zero"),
    pytest.param("autoscaling:\n  enable: true\n", "additional properties 'enable' not allowed", id="hpa-typo"),
    pytest.param('verticalPodAutoscaler:\n  updateMode: "Auto"\n', "value must be one of", id="vpa-update-mode-enum"),
    pytest.param("verticalPodAutoscaler:\n  updateMode: Off\n", "got boolean, want string", id="vpa-update-mode-unquoted-off"),
    pytest.param('verticalPodAutoscaler:\n  updatemode: "Off"\n', "additional properties 'updatemode' not allowed", id="vpa-typo"),
    pytest.param("verticalPodAutoscaler:\n  controlledResources: [gpu]\n", "value must be one of", id="vpa-resource-enum"),
    pytest.param('verticalPodAutoscaler:\n  minAllowed:\n    cpu: "lots"\n', "'oneOf' failed, none matched", id="vpa-quantity-invalid"),
    pytest.param('verticalPodAutoscaler:\n  maxAllowed:\n    gpu: "1"\n', "additional properties 'gpu' not allowed", id="vpa-unknown-resource"),
    pytest.param('quota:\n  hard:\n    requests.cpu: "lots"\n', "'oneOf' failed, none matched", id="quota-quantity-invalid"),
    pytest.param('quota:\n  hard:\n    Requests.CPU: "1"\n', "invalid propertyName 'Requests.CPU'", id="quota-resource-name"),
    pytest.param('limitRange:\n  max:\n    gpu: "1"\n', "additional properties 'gpu' not allowed", id="limitrange-unknown-resource"),
    pytest.param("promotion:\n  pin: true\n", "got boolean, want string", id="pin-not-string"),
    pytest.param("promotion:\n  pinned: \"x\"\n", "additional properties 'pinned' not allowed", id="pin-typo"),
]


@pytest.mark.parametrize(("content", "message"), BAD_VALUES)
def test_bad_values_fail_schema_validation(helm: Helm, tmp_path: Path, content: str, message: str) -> None:
    values_file = tmp_path / "bad-values.yaml"
    values_file.write_text(content, encoding="utf-8")

    result = helm.template([values_file])

    assert result.returncode != 0, f"helm accepted:\n{content}"
    assert SCHEMA_ERROR in result.stderr
    assert message in result.stderr, result.stderr


# Boundary values that must be accepted (--set-json keeps their JSON types).
GOOD_VALUES = [
    pytest.param('image={"tag":""}', id="empty-tag-means-app-version"),
    pytest.param('image={"tag":"v1.2.3_build.4"}', id="tag-underscore-dot"),
    pytest.param('image={"tag":"_private"}', id="tag-leading-underscore"),
    pytest.param('image={"tag":"' + "a" * 128 + '"}', id="tag-128-chars"),
    pytest.param('service={"nodePort":30000}', id="nodeport-min"),
    pytest.param('service={"nodePort":32767}', id="nodeport-max"),
    pytest.param("replicaCount=0", id="replicas-zero"),
    pytest.param('rollingUpdate={"maxSurge":"25%","maxUnavailable":"0%"}', id="percentages"),
    pytest.param('resources={"limits":{"cpu":1,"memory":"1Gi"},"requests":{"cpu":0.25,"memory":"128M"}}', id="numeric-quantities"),
    pytest.param("imagePullSecrets=[]", id="no-pull-secrets"),
    pytest.param('global={"anything":true}', id="global-for-subchart-use"),
    pytest.param(
        'verticalPodAutoscaler={"enabled":true,"updateMode":"InPlaceOrRecreate","controlledResources":["memory"],'
        '"minAllowed":{"cpu":0.05,"memory":"64Mi"},"maxAllowed":{"cpu":1,"memory":"1Gi"}}',
        id="vpa-every-field",
    ),
]


@pytest.mark.parametrize("set_json", GOOD_VALUES)
def test_good_values_pass_schema_validation(helm: Helm, set_json: str) -> None:
    result = helm.template(set_json=[set_json])

    assert result.returncode == 0, result.stderr


# --- The values files themselves -------------------------------------------------------------------

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?: |$)")
TAG_LINE = re.compile(r'^  tag: "[^"]*"$')


def _lines(values_file: str) -> list[str]:
    return (CHART_DIR / values_file).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_image_tag_is_a_single_plain_line(values_file: str) -> None:
    """The CI promotion job rewrites image.tag in place: one `image:` mapping, one quoted `tag:` line."""
    lines = _lines(values_file)
    image_lines = [number for number, line in enumerate(lines) if line.rstrip() == "image:"]
    assert len(image_lines) == 1, f"{values_file}: expected exactly one top-level `image:`"

    block: list[str] = []
    for line in lines[image_lines[0] + 1 :]:
        if line and not line.startswith((" ", "#")):
            break
        block.append(line)
    tag_lines = [line for line in block if line.lstrip().startswith("tag:")]

    assert len(tag_lines) == 1, f"{values_file}: expected one tag line under image:, got {tag_lines}"
    assert TAG_LINE.match(tag_lines[0]), f"{values_file}: tag must be a quoted plain scalar: {tag_lines[0]!r}"
    assert sum(1 for line in lines if line.lstrip().startswith("tag:")) == 1


def _round_trip() -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    rt.explicit_start = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_tag_rewrite_preserves_everything_else(values_file: str) -> None:
    """A round-trip rewrite of image.tag (what the promotion job does) changes that one line only."""
    original = (CHART_DIR / values_file).read_text(encoding="utf-8")
    rt = _round_trip()
    data = rt.load(original)
    data["image"]["tag"] = DoubleQuotedScalarString("9.9.9")
    out = io.StringIO()
    rt.dump(data, out)

    changed = [(old, new) for old, new in zip(original.splitlines(), out.getvalue().splitlines(), strict=True) if old != new]
    assert len(changed) == 1, changed
    assert TAG_LINE.match(changed[0][0])
    assert changed[0][1] == '  tag: "9.9.9"'
    assert yaml.safe_load(out.getvalue())["image"]["tag"] == "9.9.9"


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_every_key_is_commented(values_file: str) -> None:
    """Each mapping key has a comment on the line(s) above it, or on the same line."""
    lines = _lines(values_file)
    uncommented = []
    for number, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match or line.lstrip().startswith("- "):
            continue
        above = lines[number - 1].strip() if number else ""
        if not above.startswith("#") and " # " not in line:
            uncommented.append(f"{values_file}:{number + 1}: {line.strip()}")

    assert not uncommented, "keys without a comment:\n" + "\n".join(uncommented)


def test_schema_documents_exactly_the_default_values() -> None:
    """Every top-level key of values.yaml is in the schema, and every schema key has a default."""
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    defaults: dict[str, Any] = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))

    assert set(schema["properties"]) - {"global"} == set(defaults)


def test_schema_closes_every_object() -> None:
    """additionalProperties is set wherever the schema lists properties, so typos cannot slip through."""
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    open_objects: list[str] = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                open_objects.append(where)
            for key, child in node.items():
                visit(child, f"{where}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                visit(child, f"{where}/{index}")

    visit(schema, "#")
    assert not open_objects


def test_each_environment_has_its_values_file_and_node_port() -> None:
    """platform_environments (which kind maps to host ports, and the smoke check asks) and the values files agree:
    one values-<env>.yaml per environment, its Service on the environment's node port, its pin empty in git."""
    platform = yaml.safe_load((CHART_DIR.parents[1] / "inventory" / "group_vars" / "all" / "platform.yml").read_text())
    environments = platform["platform_environments"]
    overlays = sorted(path.name for path in CHART_DIR.glob("values-*.yaml"))

    assert overlays == sorted(f"values-{environment['name']}.yaml" for environment in environments)
    for environment in environments:
        values = yaml.safe_load((CHART_DIR / f"values-{environment['name']}.yaml").read_text(encoding="utf-8"))
        assert values["service"]["nodePort"] == environment["nodeport"], environment["name"]
        assert values["promotion"] == {"pin": ""}, environment["name"]
    assert environments[-1]["nodeport"] == 30080  # production keeps the seed's node port
