"""The offline bundle (playbooks/offline-bundle.yml, roles/offline_bundle), checked for real.

The module runs the playbook once: with a warm cache that takes about a minute and builds nothing.
A cold cache means building the whole bundle from source (about 20 minutes on 2 cores), so the tests skip
unless GITOPS_OFFLINE_BUNDLE_BUILD=1 asks for that. Then each binary is asked for its version, the
Docker engine is compared with `kubeadm config images list`, every image runs its binary, and a
second playbook run must report changed=0.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.docker_engine import docker, docker_unreachable

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "offline-bundle.yml"
VERSIONS = yaml.safe_load((REPO / "inventory" / "group_vars" / "all" / "versions.yml").read_text())["platform_versions"]
CACHE_DIR = Path(
    os.environ.get("GITOPS_CACHE_DIR") or Path(os.environ.get("HOME", "~")).expanduser() / ".cache" / "gitops-platform"
)
BUNDLE = CACHE_DIR / "bundle"
K8S = VERSIONS["kubernetes"]
ETCD = VERSIONS["etcd"].removeprefix("v")
COREDNS = VERSIONS["coredns"].removeprefix("v")
PAUSE = str(VERSIONS["pause"])
CRICTL = VERSIONS["crictl"]
CNI = VERSIONS["cni_plugins"]
LPP = VERSIONS["local_path_provisioner"]
KIND_IMAGES = VERSIONS["kind_images"]
VPA = VERSIONS["vpa"]
PLAYBOOK_TIMEOUT = 2 * 3600
HASH_LABEL = "io.gitops-platform.image.recipe-sha256"


def run(*argv: str | Path, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=check, timeout=timeout, **kwargs
    )


def why_not_runnable() -> str | None:
    unreachable = docker_unreachable()
    if unreachable:
        return unreachable
    if shutil.which("go") is None:
        return "Go is not installed (the bundle is built from source)"
    warm = (BUNDLE / "images.json").exists()
    if not warm and os.environ.get("GITOPS_OFFLINE_BUNDLE_BUILD") != "1":
        return (
            f"the offline bundle is not built in {BUNDLE}; run playbooks/offline-bundle.yml "
            "(about 20 minutes on 2 cores) or set GITOPS_OFFLINE_BUNDLE_BUILD=1 to let the tests build it"
        )
    return None


_NOT_RUNNABLE = why_not_runnable()
# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_NOT_RUNNABLE is not None, reason=_NOT_RUNNABLE or ""),
]


def ansible_playbook() -> list[str]:
    sibling = Path(sys.executable).with_name("ansible-playbook")
    return [str(sibling) if sibling.exists() else "ansible-playbook", str(PLAYBOOK)]


def play_recap(output: str) -> dict[str, int]:
    match = re.search(r"^localhost\s+:\s+(.*)$", output, re.MULTILINE)
    assert match, f"no PLAY RECAP for localhost in:\n{output[-3000:]}"
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def run_playbook() -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run(*ansible_playbook(), check=False, timeout=PLAYBOOK_TIMEOUT, cwd=REPO,
                 env={**os.environ, "ANSIBLE_FORCE_COLOR": "0"})
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def bundle() -> Path:
    """Run the playbook once, so that the bundle exists and is current; yield its directory."""
    result, _ = run_playbook()
    assert result.returncode == 0, f"playbook failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    return BUNDLE


def binary(bundle: Path, component: str, version: str, name: str) -> Path:
    path = bundle / f"{component}-{version}" / "bin" / name
    assert path.is_file(), f"{path} is missing"
    return path


# Prometheus tags v3.y.z as v0.3yy.z in Go: v0.316.0 is 3.16.0.
_MINOR, _PATCH = VERSIONS["prometheus"].removeprefix("v0.").split(".")
PROMETHEUS = f"{_MINOR[0]}.{int(_MINOR[1:])}.{_PATCH}"
ALERTMANAGER = VERSIONS["alertmanager"].removeprefix("v")

BINARIES = [
    # (component dir, version, binary, argv after the binary, expected text)
    ("kubernetes", K8S, "kubeadm", ["version", "-o", "short"], K8S),
    ("kubernetes", K8S, "kubelet", ["--version"], f"Kubernetes {K8S}"),
    ("kubernetes", K8S, "kube-apiserver", ["--version"], f"Kubernetes {K8S}"),
    ("kubernetes", K8S, "kube-controller-manager", ["--version"], f"Kubernetes {K8S}"),
    ("kubernetes", K8S, "kube-scheduler", ["--version"], f"Kubernetes {K8S}"),
    ("kubernetes", K8S, "kube-proxy", ["--version"], f"Kubernetes {K8S}"),
    ("etcd", VERSIONS["etcd"], "etcd", ["--version"], f"etcd Version: {ETCD}"),
    ("etcd", VERSIONS["etcd"], "etcdctl", ["version"], f"etcdctl version: {ETCD}"),
    ("etcd", VERSIONS["etcd"], "etcdutl", ["version"], f"etcdutl version: {ETCD}"),
    ("coredns", VERSIONS["coredns"], "coredns", ["-version"], f"CoreDNS-{COREDNS}"),
    ("crictl", CRICTL, "crictl", ["--version"], f"crictl version {CRICTL}"),
    ("local-path-provisioner", LPP, "local-path-provisioner", ["--version"], LPP),
    ("pause", PAUSE, "pause", ["-v"], f"pause {PAUSE}"),
    ("metrics-server", VERSIONS["metrics_server"], "metrics-server", ["--version"], VERSIONS["metrics_server"]),
    ("kube-router", VERSIONS["kube_router"], "kube-router", ["--version"], f"version {VERSIONS['kube_router']},"),
    ("sealed-secrets", VERSIONS["sealed_secrets"], "controller", ["--version"],
     f"controller version: {VERSIONS['sealed_secrets']}"),
    # No version flag: it logs its version, then fails without a cluster.
    ("vertical-pod-autoscaler", VPA, "vpa-recommender", ["--v=1", "--kubeconfig=/nonexistent"],
     f'version="{VPA.removeprefix("v")}"'),
    ("prometheus", VERSIONS["prometheus"], "prometheus", ["--version"], f"prometheus, version {PROMETHEUS}"),
    ("prometheus", VERSIONS["prometheus"], "promtool", ["--version"], f"promtool, version {PROMETHEUS}"),
    ("alertmanager", VERSIONS["alertmanager"], "alertmanager", ["--version"], f"alertmanager, version {ALERTMANAGER}"),
    ("alertmanager", VERSIONS["alertmanager"], "amtool", ["--version"], f"amtool, version {ALERTMANAGER}"),
    # Argo Rollouts reports v<version>+<commit>; the proxy records no commit for it, so +unknown.
    ("argo-rollouts", VERSIONS["argo_rollouts"], "rollouts-controller", ["--version"], f"{VERSIONS['argo_rollouts']}+"),
    ("argo-rollouts", VERSIONS["argo_rollouts"], "kubectl-argo-rollouts", ["version", "--short"],
     f"kubectl-argo-rollouts: {VERSIONS['argo_rollouts']}+"),
    *[
        ("cni-plugins", CNI, plugin, [], f"CNI {plugin} plugin {CNI}")
        for plugin in ("host-local", "loopback", "ptp", "portmap", "bridge")
    ],
]


@pytest.mark.parametrize(("component", "version", "name", "args", "expected"), BINARIES, ids=[b[2] for b in BINARIES])
def test_binary_reports_the_pinned_version(
    bundle: Path, component: str, version: str, name: str, args: list[str], expected: str
) -> None:
    result = run(binary(bundle, component, version, name), *args, check=False)
    output = result.stdout + result.stderr
    if name == "kubeadm":
        assert result.stdout.strip() == expected
    assert expected in output, output


def test_kubectl_client_version_is_the_pinned_release(bundle: Path) -> None:
    result = run(binary(bundle, "kubernetes", K8S, "kubectl"), "version", "--client", "-o", "json")
    client = json.loads(result.stdout)["clientVersion"]
    major, minor = K8S.removeprefix("v").split(".")[:2]
    assert (client["gitVersion"], client["major"], client["minor"]) == (K8S, major, minor)
    assert client["gitTreeState"] == "clean"
    # buildDate is the module's release time from the proxy, not the epoch default.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", client["buildDate"])
    assert not client["buildDate"].startswith("1970")


def is_static_elf(path: Path) -> bool:
    """True when the ELF file has no program interpreter (PT_INTERP), i.e. it is statically linked."""
    data = path.read_bytes()[:1 << 16]
    assert data[:4] == b"\x7fELF" and data[4] == 2, f"{path} is not a 64-bit ELF file"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return all(struct.unpack_from("<I", data, phoff + i * phentsize)[0] != 3 for i in range(phnum))


@pytest.mark.parametrize(("component", "version", "name"), [b[:3] for b in BINARIES] + [("kubernetes", K8S, "kubectl")])
def test_binary_is_static(bundle: Path, component: str, version: str, name: str) -> None:
    assert is_static_elf(binary(bundle, component, version, name))


def kubeadm_images(bundle: Path) -> set[str]:
    result = run(binary(bundle, "kubernetes", K8S, "kubeadm"), "config", "images", "list", "--kubernetes-version", K8S)
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def image_id(ref: str) -> str | None:
    result = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def test_kubeadm_images_are_exactly_the_control_plane_images_in_docker(bundle: Path) -> None:
    wanted = kubeadm_images(bundle)
    assert wanted == {
        f"registry.k8s.io/kube-apiserver:{K8S}",
        f"registry.k8s.io/kube-controller-manager:{K8S}",
        f"registry.k8s.io/kube-scheduler:{K8S}",
        f"registry.k8s.io/kube-proxy:{K8S}",
        f"registry.k8s.io/coredns/coredns:{VERSIONS['coredns']}",
        f"registry.k8s.io/pause:{PAUSE}",
        f"registry.k8s.io/etcd:{ETCD}-0",
    }
    # Every registry.k8s.io image in Docker that the bundle built (carries its recipe label).
    built = docker(
        "image", "ls", "--filter", f"label={HASH_LABEL}", "--format", "{{.Repository}}:{{.Tag}}"
    ).stdout.split()
    # The add-ons (metrics-server, the VPA recommender) are built too, under their release references, but are
    # no control-plane images.
    addons = {VERSIONS["metrics_server_image"], VERSIONS["vpa_recommender_image"]}
    assert {ref for ref in built if ref.startswith("registry.k8s.io/")} - addons == wanted
    assert all(image_id(ref) for ref in wanted)


def test_vpa_crds_are_the_pinned_release_file_from_the_module(bundle: Path) -> None:
    crds = bundle / f"vertical-pod-autoscaler-{VPA}" / "files" / "deploy" / "vpa-v1-crd-gen.yaml"
    assert hashlib.sha256(crds.read_bytes()).hexdigest() == VERSIONS["vpa_crd_sha256"][VPA]
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(crds.read_text()) if doc]
    assert names == ["verticalpodautoscalercheckpoints.autoscaling.k8s.io", "verticalpodautoscalers.autoscaling.k8s.io"]


def test_manifest_lists_every_image_with_its_docker_id(bundle: Path) -> None:
    manifest = json.loads((bundle / "images.json").read_text())
    expected = kubeadm_images(bundle) | {KIND_IMAGES["local_path_provisioner"], KIND_IMAGES["local_path_helper"],
                                         VERSIONS["kube_router_image"]}
    assert set(manifest) == expected
    for ref, identifier in manifest.items():
        assert image_id(ref) == identifier, ref
    assert KIND_IMAGES["kindnetd"] not in manifest  # not buildable from the Go module proxy


IMAGES = [
    # (reference, docker run arguments after the image, expected text)
    (f"registry.k8s.io/kube-apiserver:{K8S}", ["--version"], f"Kubernetes {K8S}"),
    (f"registry.k8s.io/kube-controller-manager:{K8S}", ["--version"], f"Kubernetes {K8S}"),
    (f"registry.k8s.io/kube-scheduler:{K8S}", ["--version"], f"Kubernetes {K8S}"),
    (f"registry.k8s.io/kube-proxy:{K8S}", ["--version"], f"Kubernetes {K8S}"),
    (f"registry.k8s.io/etcd:{ETCD}-0", ["etcd", "--version"], f"etcd Version: {ETCD}"),
    (f"registry.k8s.io/etcd:{ETCD}-0", ["etcdctl", "version"], f"etcdctl version: {ETCD}"),
    (f"registry.k8s.io/coredns/coredns:{VERSIONS['coredns']}", ["-version"], f"CoreDNS-{COREDNS}"),
    (f"registry.k8s.io/pause:{PAUSE}", ["-v"], f"pause {PAUSE}"),
    (VERSIONS["kube_router_image"], ["--version"], f"version {VERSIONS['kube_router']},"),
    (VERSIONS["sealed_secrets_image"], ["--version"], f"controller version: {VERSIONS['sealed_secrets']}"),
    (KIND_IMAGES["local_path_provisioner"], ["--version"], LPP),
    (
        KIND_IMAGES["local_path_helper"],
        ["sh", "-c", "mkdir -m 0777 -p /tmp/v/pvc && rm -rf /tmp/v && echo helper-ok"],
        "helper-ok",
    ),
]


@pytest.mark.parametrize(
    ("ref", "args", "expected"), IMAGES, ids=[f"{i[0].rsplit('/', 1)[-1]}-{i[1][0]}" for i in IMAGES]
)
def test_image_runs_its_binary(bundle: Path, ref: str, args: list[str], expected: str) -> None:
    result = docker("run", "--rm", "--network", "none", ref, *args, check=False)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout + result.stderr


# The tools each networking image runs, asked for their versions (kube-router's ip takes only -V, which the
# iptables family also takes). ipset prints its version, then asks the kernel and fails without NET_ADMIN.
NETWORK_TOOLS = [
    *((f"registry.k8s.io/kube-proxy:{K8S}", tool, "--version")
      for tool in ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore",
                   "conntrack", "ipset", "nft"]),
    *((VERSIONS["kube_router_image"], tool, "-V") for tool in ["iptables", "iptables-save", "iptables-restore", "ipset", "ip"]),
]


@pytest.mark.parametrize(("ref", "tool", "flag"), NETWORK_TOOLS,
                         ids=[f"{ref.rsplit('/', 1)[-1].split(':')[0]}-{tool}" for ref, tool, _ in NETWORK_TOOLS])
def test_network_image_has_its_tools(bundle: Path, ref: str, tool: str, flag: str) -> None:
    result = docker("run", "--rm", "--network", "none", "--entrypoint", tool, ref, flag, check=False)
    assert result.returncode == 0 or tool == "ipset", result.stdout + result.stderr
    assert re.search(r"v?\d+\.\d+", result.stdout), result.stdout + result.stderr


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_iptables_wrapper_follows_the_backend_holding_the_kubelet_hint(bundle: Path, backend: str) -> None:
    script = (
        f"xtables-{backend}-multi iptables -t mangle -N KUBE-IPTABLES-HINT || exit 42; "
        "iptables-wrapper; iptables -t mangle -S KUBE-IPTABLES-HINT"
    )
    result = docker("run", "--rm", "--network", "none", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
                    "--entrypoint", "sh", f"registry.k8s.io/kube-proxy:{K8S}", "-c", script, check=False)
    if result.returncode == 42:
        pytest.skip(f"the {backend} iptables backend is not usable on this host: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == backend
    assert "-N KUBE-IPTABLES-HINT" in lines[1:]


def test_coredns_binds_port_53_as_nonroot_with_only_net_bind_service(bundle: Path) -> None:
    name = f"offline-bundle-coredns-{uuid.uuid4().hex[:8]}"
    ref = f"registry.k8s.io/coredns/coredns:{VERSIONS['coredns']}"
    assert docker("image", "inspect", "--format", "{{.Config.User}}", ref).stdout.strip() == "65532:65532"
    docker("run", "-d", "--name", name, "--network", "none", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
           "--security-opt", "no-new-privileges", "--read-only", ref)
    try:
        # CoreDNS logs its server block once it listens, or exits when the bind is refused.
        deadline = time.monotonic() + 60
        while True:
            state = docker("inspect", "--format", "{{.State.Running}}", name).stdout.strip()
            logs = docker("logs", name)
            output = logs.stdout + logs.stderr
            if ".:53" in output or state != "true" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert state == "true", output
        assert ".:53" in output and "permission denied" not in output, output
    finally:
        docker("rm", "-f", name, check=False)


def test_pause_exits_cleanly_on_sigterm_and_reaps_orphans(bundle: Path) -> None:
    name = f"offline-bundle-pause-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--network", "none", f"registry.k8s.io/pause:{PAUSE}")
    try:
        # An orphan in pause's PID namespace: its parent subshell exits at once, so the sleep is
        # re-parented to PID 1 (pause), which must collect it when it exits after a second.
        script = (
            "(busybox sleep 1 &); busybox sleep 3; "
            "for stat in /proc/[0-9]*/stat; do busybox cat $stat 2>/dev/null; echo; done"
        )
        result = docker("run", "--rm", "--network", "none", "--pid", f"container:{name}",
                        KIND_IMAGES["local_path_helper"], "sh", "-c", script)
        processes = [line for line in result.stdout.splitlines() if line.strip()]
        assert any(line.startswith("1 (pause)") for line in processes), processes
        zombies = [line for line in processes if re.search(r"\) Z ", line)]
        assert zombies == [], zombies
        started = time.monotonic()
        docker("stop", "--time", "10", name)
        assert time.monotonic() - started < 5, "pause ignored SIGTERM"
        assert docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        docker("rm", "-f", name, check=False)


def test_second_run_changes_nothing(bundle: Path) -> None:
    result, seconds = run_playbook()
    assert result.returncode == 0, result.stdout[-6000:]
    recap = play_recap(result.stdout)
    assert recap["changed"] == 0 and recap["failed"] == 0, result.stdout[-6000:]
    print(f"cached re-run of playbooks/offline-bundle.yml: {seconds:.1f} s")
