"""Tables for the pure rules of gitops.platform.go_build: recipe, placeholders, wrapper go.mod, stamp."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.go_build import (
    RECIPE_REVISION,
    GoBuildError,
    check_problem,
    dep_version,
    expand,
    go_environment,
    ldflags,
    local_replaces,
    output_tail,
    placeholders,
    prebuild_steps,
    proxy_error,
    recipe,
    recipe_changes,
    recipe_hash,
    resolve_checks,
    resolve_packages,
    stamp_problem,
    summary,
    validate,
    wrapper_gomod,
)

GO = {"GOVERSION": "go1.26.8", "GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1", "GOCACHE": "/c",
      "GOMODCACHE": "/m", "GOPATH": "/g", "GOPROXY": "https://proxy.golang.org,direct", "GOSUMDB": "sum.golang.org",
      "GOFLAGS": "-buildvcs=false", "GOEXPERIMENT": ""}

# go mod edit -json of a go.mod shaped like Kubernetes' (staging replaces, a godebug line).
K8S_GOMOD = {
    "Module": {"Path": "k8s.io/kubernetes"},
    "Go": "1.24.0",
    "GoDebug": [{"Key": "default", "Value": "go1.24"}],
    "Require": [
        {"Path": "k8s.io/api", "Version": "v0.0.0"},
        {"Path": "k8s.io/client-go", "Version": "v0.0.0"},
        {"Path": "sigs.k8s.io/yaml", "Version": "v1.4.0"},
    ],
    "Replace": [
        {"Old": {"Path": "k8s.io/api"}, "New": {"Path": "./staging/src/k8s.io/api"}},
        {"Old": {"Path": "k8s.io/client-go"}, "New": {"Path": "./staging/src/k8s.io/client-go"}},
    ],
}
# Shaped like Argo CD's: client-go required and replaced by a published version, a directory replace.
ARGOCD_GOMOD = {
    "Module": {"Path": "github.com/argoproj/argo-cd/v3"},
    "Go": "1.24.6",
    "Require": [{"Path": "k8s.io/client-go", "Version": "v0.33.1"},
                {"Path": "github.com/dexidp/dex/api/v2", "Version": "v2.4.0"}],
    "Replace": [
        {"Old": {"Path": "k8s.io/client-go"}, "New": {"Path": "k8s.io/client-go", "Version": "v0.33.4"}},
        {"Old": {"Path": "github.com/dexidp/dex/api/v2"}, "New": {"Path": "../dex/api/v2"}},
    ],
}


def spec(**changes) -> dict:
    base = {
        "name": "kubeconform", "mode": "wrapper", "module": "github.com/yannh/kubeconform", "version": "v0.8.0",
        "source": None, "requires": [], "packages": {"kubeconform": "github.com/yannh/kubeconform/cmd/kubeconform"},
        "tags": [], "ldflags_x": {"main.version": "{version}"}, "replace_local_with": "", "commit_fallback": "",
        "cgo": False, "overlay": {}, "extra_recipe": {}, "checks": {}, "env": {},
    }
    base.update(changes)
    return base


# ----- recipe ----------------------------------------------------------------------------------------


def test_recipe_hash_is_stable_and_ignores_key_order() -> None:
    first = recipe_hash(recipe(spec(), GO))
    reordered = spec(ldflags_x={"b.y": "2", "a.x": "1"}, packages={"b": "m/b", "a": "m/a"})
    assert first == recipe_hash(recipe(spec(), dict(GO)))
    assert recipe_hash(recipe(reordered, GO)) == recipe_hash(
        recipe(spec(ldflags_x={"a.x": "1", "b.y": "2"}, packages={"a": "m/a", "b": "m/b"}), GO))
    assert len(first) == 64 and recipe(spec(), GO)["revision"] == RECIPE_REVISION


@pytest.mark.parametrize(
    ("changes", "go_changes", "digest"),
    [
        ({"name": "other"}, {}, ""),
        ({"mode": "tree"}, {}, ""),
        ({"module": "github.com/yannh/kubeconform/v2"}, {}, ""),
        ({"version": "v0.8.1"}, {}, ""),
        ({"requires": ["github.com/yannh/kubeconform/pkg"]}, {}, ""),
        ({"packages": {"kc": "github.com/yannh/kubeconform/cmd/kubeconform"}}, {}, ""),
        ({"tags": ["netgo"]}, {}, ""),
        ({"ldflags_x": {"main.version": "v0.8.0-local"}}, {}, ""),
        ({"ldflags_x": {"main.version": "{version}", "main.commit": "{commit}"}}, {}, ""),
        ({"replace_local_with": "v0.33.4"}, {}, ""),
        ({"commit_fallback": "0" * 40}, {}, ""),
        ({"cgo": True}, {}, ""),
        ({"overlay": {"ui/index.html": "<p>placeholder</p>"}}, {}, ""),
        ({"extra_recipe": {"files": "abc"}}, {}, ""),
        ({"module_files": ["deploy/crd.yaml"]}, {}, ""),
        ({"upgrades": ["golang.org/x/net@v0.38.0"]}, {}, ""),
        ({"mode": "tree", "prebuild": [{"argv": ["npm", "ci"], "chdir": "web/ui"}]}, {}, ""),
        ({"env": {"GOFLAGS": "-tags=x"}}, {}, ""),
        ({"env": {"GOEXPERIMENT": "boringcrypto"}}, {}, ""),
        ({}, {"GOVERSION": "go1.26.9"}, ""),
        ({}, {"GOARCH": "arm64"}, ""),
        ({}, {"GOAMD64": "v3"}, ""),
        ({}, {}, "a-different-source-digest"),
    ],
)
def test_recipe_changes_with_each_input(changes: dict, go_changes: dict, digest: str) -> None:
    assert recipe_hash(recipe(spec(**changes), dict(GO, **go_changes), digest)) != recipe_hash(recipe(spec(), GO))


@pytest.mark.parametrize(
    "changes",
    [
        {"env": {"GOCACHE": "/elsewhere"}},
        {"env": {"GOMODCACHE": "/elsewhere", "GOPATH": "/p", "GOPROXY": "http://127.0.0.1:3000"}},
        {"env": {"GONOSUMDB": "*", "GOSUMDB": "off", "HOME": "/h", "https_proxy": "http://proxy:3128"}},
        {"checks": {"default": {"args": ["-v"], "expect": "x"}}},
        # No module files: the recipes of components built before the option existed keep their hash.
        {"module_files": []},
        {"prebuild": []},
        {"upgrades": []},
    ],
)
def test_recipe_ignores_locations_and_checks(changes: dict) -> None:
    assert recipe_hash(recipe(spec(**changes), dict(GO, GOCACHE="/x", GOPROXY="off"))) == recipe_hash(
        recipe(spec(), GO))


def test_prebuild_enters_the_recipe_by_command_and_directory_not_by_name() -> None:
    base = spec(mode="tree", prebuild=[{"argv": ["npm", "ci"], "chdir": "web/ui", "name": "ui packages"}])
    renamed = spec(mode="tree", prebuild=[{"argv": ["npm", "ci"], "chdir": "web/ui"}])
    elsewhere = spec(mode="tree", prebuild=[{"argv": ["npm", "ci"], "chdir": "ui"}])
    assert recipe(base, GO)["prebuild"] == [{"argv": ["npm", "ci"], "chdir": "web/ui"}]
    assert recipe_hash(recipe(base, GO)) == recipe_hash(recipe(renamed, GO))
    assert recipe_hash(recipe(base, GO)) != recipe_hash(recipe(elsewhere, GO))


def test_prebuild_steps_fill_in_the_name_and_directory() -> None:
    assert prebuild_steps([{"argv": ["sh", "-c", "make assets"]}, {"argv": ["npm", "ci"], "chdir": "ui", "name": "ui"}]) \
        == [{"name": "sh -c make assets", "argv": ["sh", "-c", "make assets"], "chdir": ""},
            {"name": "ui", "argv": ["npm", "ci"], "chdir": "ui"}]


def test_recipe_changes_names_the_keys_that_differ() -> None:
    old = recipe(spec(), GO)
    new = recipe(spec(version="v0.8.1", ldflags_x={}), GO)
    assert recipe_changes(old, new) == ["ldflags_x", "version"]
    assert recipe_changes(None, new) == []


# ----- placeholders and ldflags ---------------------------------------------------------------------

INFO = {"Version": "v1.33.4", "Time": "2025-08-13T19:47:09Z", "Origin": {"VCS": "git", "Hash": "a1b2c3d4e5f6" + "0" * 28}}


@pytest.mark.parametrize(
    ("template", "info", "fallback", "expected"),
    [
        ("{version}", {}, "", "v1.33.4"),
        ("{commit}", INFO, "", "a1b2c3d4e5f6" + "0" * 28),
        ("{commit_short}", INFO, "", "a1b2c3d4"),
        ("{commit}", {"Time": "t"}, "deadbeef", "deadbeef"),
        ("{commit}", {"Time": "t"}, "", ""),
        ("{commit_short}", {}, "", ""),
        ("{date}", INFO, "", "2025-08-13T19:47:09Z"),
        ("{module_time}", INFO, "", "2025-08-13T19:47:09Z"),
        ("built {date} from {commit_short}", INFO, "", "built 2025-08-13T19:47:09Z from a1b2c3d4"),
        ("no placeholder", {}, "", "no placeholder"),
    ],
)
def test_placeholders(template: str, info: dict, fallback: str, expected: str) -> None:
    assert expand(template, placeholders("v1.33.4", info, fallback)) == expected


@pytest.mark.parametrize(
    ("gomod", "path", "replace_local_with", "expected"),
    [
        (ARGOCD_GOMOD, "k8s.io/client-go", "", "v0.33.4"),  # replaced by a published version: the replace wins
        (ARGOCD_GOMOD, "github.com/dexidp/dex/api/v2", "", None),  # a directory, nothing published
        (K8S_GOMOD, "k8s.io/client-go", "v0.33.4", "v0.33.4"),  # the wrapper's rewrite of a directory replace
        (K8S_GOMOD, "k8s.io/client-go", "", None),
        (K8S_GOMOD, "sigs.k8s.io/yaml", "v0.33.4", "v1.4.0"),  # plain require
        (K8S_GOMOD, "github.com/not/there", "", None),
        ({}, "k8s.io/client-go", "", None),
    ],
)
def test_dep_version(gomod: dict, path: str, replace_local_with: str, expected: str | None) -> None:
    assert dep_version(gomod, path, replace_local_with) == expected


def test_dep_placeholder_and_its_error() -> None:
    values = placeholders("v3.1.9", {}, "")
    assert expand("{dep:k8s.io/client-go}", values, ARGOCD_GOMOD) == "v0.33.4"
    with pytest.raises(GoBuildError, match="does not require"):
        expand("{dep:k8s.io/nothing}", values, ARGOCD_GOMOD, where="ldflags_x main.kubectl")


@pytest.mark.parametrize(
    ("ldflags_x", "expected"),
    [
        ({}, "-s -w"),
        ({"main.version": "{version}"}, "-s -w -X main.version=v1.33.4"),
        # Order is kept; a value that expands to nothing is left out (the variable keeps its default).
        ({"b.x": "1", "a.y": "{commit}", "c.z": "{date}"}, "-s -w -X b.x=1 -X c.z=2025-08-13T19:47:09Z"),
        ({"main.info": "offline source build"}, "-s -w -X 'main.info=offline source build'"),
        ({"main.info": "it's"}, "-s -w -X \"main.info=it's\""),
        ({"k.v": "{dep:sigs.k8s.io/yaml}"}, "-s -w -X k.v=v1.4.0"),
    ],
)
def test_ldflags(ldflags_x: dict, expected: str) -> None:
    values = placeholders("v1.33.4", {"Time": "2025-08-13T19:47:09Z"}, "")
    assert ldflags(ldflags_x, values, K8S_GOMOD, "v0.33.4") == expected


@pytest.mark.parametrize(
    ("ldflags_x", "message"),
    [
        ({"main.v": "{nope}"}, "unknown placeholder {nope}"),
        ({"main.v": "it's \"quoted\""}, "both"),
        ({"main.v": "{dep:not/required}"}, "does not require"),
    ],
)
def test_ldflags_errors(ldflags_x: dict, message: str) -> None:
    with pytest.raises(GoBuildError, match=message):
        ldflags(ldflags_x, placeholders("v1", {}, ""), K8S_GOMOD)


# ----- wrapper go.mod --------------------------------------------------------------------------------


def test_wrapper_gomod_for_kubernetes_copies_go_and_godebug_and_rewrites_staging() -> None:
    text = wrapper_gomod("kubernetes", "k8s.io/kubernetes", "v1.33.4", [], K8S_GOMOD, "v0.33.4")
    lines = [line for line in text.splitlines() if line and not line.startswith("//")]
    assert lines == [
        "module gitops-platform.local/go-build/kubernetes",
        "go 1.24.0",
        "godebug default=go1.24",
        "require (",
        "\tk8s.io/kubernetes v1.33.4",
        ")",
        "replace (",
        "\tk8s.io/api => k8s.io/api v0.33.4",
        "\tk8s.io/client-go => k8s.io/client-go v0.33.4",
        ")",
    ]


@pytest.mark.parametrize(
    ("upstream", "replace_local_with", "present", "absent"),
    [
        # No godebug default upstream: the go line's defaults are pinned, whatever go get does to the go line.
        ({"Go": "1.17"}, "", ["go 1.17", "godebug default=go1.17"], ["replace"]),
        ({"Go": "1.24.0", "GoDebug": [{"Key": "default", "Value": "go1.21"}, {"Key": "panicnil", "Value": "1"}]},
         "", ["godebug default=go1.21", "godebug panicnil=1"], ["default=go1.24.0"]),
        ({}, "", ["require ("], ["go ", "godebug"]),
        (K8S_GOMOD, "", ["\tk8s.io/kubernetes v1.33.4"], ["replace", "=>"]),  # no rewrite asked: none written
        (ARGOCD_GOMOD, "v2.4.0", ["\tgithub.com/dexidp/dex/api/v2 => github.com/dexidp/dex/api/v2 v2.4.0"],
         ["k8s.io/client-go =>"]),  # only directory replaces are rewritten
    ],
)
def test_wrapper_gomod_table(upstream: dict, replace_local_with: str, present: list[str], absent: list[str]) -> None:
    text = wrapper_gomod("c", "k8s.io/kubernetes", "v1.33.4", [], upstream, replace_local_with)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    for snippet in present:
        assert snippet in body, body
    for snippet in absent:
        assert snippet not in body, body


def test_wrapper_gomod_requires_every_module_once_at_the_version() -> None:
    text = wrapper_gomod("etcd", "go.etcd.io/etcd/v3", "v3.5.21",
                         ["go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/v3", "go.etcd.io/etcd/etcdctl/v3"],
                         {"Go": "1.23"}, "")
    assert [line for line in text.splitlines() if line.startswith("\t")] == [
        "\tgo.etcd.io/etcd/v3 v3.5.21", "\tgo.etcd.io/etcd/server/v3 v3.5.21", "\tgo.etcd.io/etcd/etcdctl/v3 v3.5.21"]


def test_wrapper_gomod_requires_the_upgrades_at_their_own_versions() -> None:
    text = wrapper_gomod("kube-router", "github.com/cloudnativelabs/kube-router/v2", "v2.1.0", [], {"Go": "1.21"}, "",
                         ["golang.org/x/net@v0.38.0", "google.golang.org/protobuf@v1.33.0"])
    assert [line for line in text.splitlines() if line.startswith("\t") and not line.startswith("\t//")] == [
        "\tgithub.com/cloudnativelabs/kube-router/v2 v2.1.0", "\tgolang.org/x/net v0.38.0",
        "\tgoogle.golang.org/protobuf v1.33.0"]


def test_recipe_takes_the_upgrades_in_any_order() -> None:
    one = recipe(spec(upgrades=["golang.org/x/net@v0.38.0", "golang.org/x/crypto@v0.35.0"]), GO)
    other = recipe(spec(upgrades=["golang.org/x/crypto@v0.35.0", "golang.org/x/net@v0.38.0"]), GO)
    assert recipe_hash(one) == recipe_hash(other)


def test_local_replaces() -> None:
    assert [r["Old"]["Path"] for r in local_replaces(ARGOCD_GOMOD)] == ["github.com/dexidp/dex/api/v2"]
    assert [r["Old"]["Path"] for r in local_replaces(K8S_GOMOD)] == ["k8s.io/api", "k8s.io/client-go"]
    assert local_replaces({"Replace": None}) == []


# ----- stamp -----------------------------------------------------------------------------------------

RECIPE = recipe(spec(), GO)
HASH = recipe_hash(RECIPE)
STAMP = json.dumps({"recipe": HASH, "sizes": {"kubeconform": 100, "other": 7}, "recipe_detail": RECIPE})
OLD_RECIPE = recipe(spec(version="v0.7.0"), GO)
OLD_STAMP = json.dumps({"recipe": recipe_hash(OLD_RECIPE), "sizes": {"kubeconform": 100}, "recipe_detail": OLD_RECIPE})


@pytest.mark.parametrize(
    ("stamp", "files", "expected"),
    [
        (STAMP, {"kubeconform": 100, "other": 7}, None),
        (STAMP, {"kubeconform": 100}, None),  # a binary no longer asked for does not matter
        (None, {"kubeconform": 100}, "no stamp"),  # interrupted build: binaries left, stamp removed first
        ("{not json", {"kubeconform": 100}, "no JSON"),
        ("[]", {"kubeconform": 100}, "no JSON object"),
        (OLD_STAMP, {"kubeconform": 100}, "the recipe changed (version)"),
        (json.dumps({"recipe": "0" * 64}), {"kubeconform": 100}, "the recipe changed"),
        (STAMP, {"kubeconform": None}, "bin/kubeconform is missing"),
        (STAMP, {"kubeconform": 99}, "bin/kubeconform is not the binary the stamp recorded"),
        (STAMP, {"kubeconform": 100, "new": 5}, "does not record bin/new"),
    ],
)
def test_stamp_problem(stamp: str | None, files: dict, expected: str | None) -> None:
    problem = stamp_problem(stamp, HASH, RECIPE, files)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


# ----- checks ----------------------------------------------------------------------------------------


def test_resolve_checks_uses_own_entry_else_default_and_fills_placeholders() -> None:
    checks = {"default": {"args": ["--version"], "expect": "Kubernetes {version}"},
              "kubeadm": {"args": ["version", "-o", "short"], "expect": "{version}", "rc": 0},
              }
    resolved = resolve_checks(checks, ["kubelet", "kubeadm"], "v1.33.4")
    assert resolved == {
        "kubelet": {"args": ["--version"], "expect": "Kubernetes v1.33.4", "rc": None},
        "kubeadm": {"args": ["version", "-o", "short"], "expect": "v1.33.4", "rc": 0},
    }
    assert resolve_checks({"etcd": {"args": [], "expect": "{name} version"}}, ["etcd", "etcdctl"], "v3") == {
        "etcd": {"args": [], "expect": "etcd version", "rc": None}}


@pytest.mark.parametrize(
    ("rc", "output", "expect", "want_rc", "problem"),
    [
        (0, "v0.8.0\n", "v0.8.0", 0, None),
        (1, "CNI host-local plugin v1.7.1", "CNI host-local plugin v1.7.1", None, None),  # any exit code
        (1, "v0.8.0", "v0.8.0", 0, "exited 1, not 0"),
        (0, "development", "v0.8.0", None, "printed 'development', which does not contain 'v0.8.0'"),
    ],
)
def test_check_problem(rc: int, output: str, expect: str, want_rc: int | None, problem: str | None) -> None:
    found = check_problem("kubeconform", ["-v"], rc, output, expect, want_rc)
    assert found == problem if problem is None else problem in found
    if found:
        assert "bin/kubeconform -v" in found


# ----- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"packages": {}}, "nothing to build"),
        ({"module": ""}, "needs module"),
        ({"version": "latest"}, "no semantic version"),
        ({"version": "main"}, "no semantic version"),
        ({"source": "/src", "mode": "wrapper"}, "tree mode"),
        ({"mode": "tree", "requires": ["github.com/other/mod"]}, "in tree mode the module's own go.mod"),
        ({"packages": {"x": "github.com/other/mod/cmd/x"}}, "in none of the modules"),
        ({"ldflags_x": {"main.v": "{commmit}"}}, "unknown placeholder"),
        ({"ldflags_x": {"main v": "1"}}, "Go symbol path"),
        ({"checks": {"kubeconfrom": {"args": [], "expect": ""}}}, "no binary of this build"),
        ({"module_files": ["../go.mod"]}, "plain path inside the module"),
        ({"module_files": ["/etc/passwd"]}, "plain path inside the module"),
        ({"module_files": ["deploy//crd.yaml"]}, "plain path inside the module"),
        ({"module_files": [""]}, "plain path inside the module"),
        ({"mode": "tree", "module": "", "version": "3.10", "source": "/src", "packages": {"p": "."},
          "module_files": ["x.yaml"]}, "a local source has none"),
        ({"prebuild": [{"argv": ["npm", "ci"]}]}, "only tree mode"),
        ({"upgrades": ["golang.org/x/net"]}, "must be <module path>@<semantic version>"),
        ({"upgrades": ["golang.org/x/net@latest"]}, "must be <module path>@<semantic version>"),
        ({"upgrades": ["@v1.0.0"]}, "must be <module path>@<semantic version>"),
        ({"upgrades": ["github.com/yannh/kubeconform@v0.9.0"]}, "the module built"),
        ({"mode": "tree", "upgrades": ["golang.org/x/net@v0.38.0"]}, "only wrapper mode writes"),
        ({"mode": "tree", "prebuild": [["npm", "ci"]]}, r"prebuild\[0\] must be a dict"),
        ({"mode": "tree", "prebuild": [{"argv": []}]}, "non-empty list of strings"),
        ({"mode": "tree", "prebuild": [{"argv": "npm ci"}]}, "non-empty list of strings"),
        ({"mode": "tree", "prebuild": [{"argv": ["npm", 1]}]}, "non-empty list of strings"),
        ({"mode": "tree", "prebuild": [{"argv": ["npm"], "cwd": "ui"}]}, "unknown keys cwd"),
        ({"mode": "tree", "prebuild": [{"argv": ["npm"], "chdir": "../ui"}]}, "plain path inside the source"),
        ({"mode": "tree", "prebuild": [{"argv": ["npm"], "chdir": "/tmp"}]}, "plain path inside the source"),
        ({"mode": "tree", "prebuild": [{"argv": ["npm"], "chdir": "web//ui"}]}, "plain path inside the source"),
        ({"mode": "tree", "prebuild": [{"argv": ["npm"], "chdir": "web/./ui"}]}, "plain path inside the source"),
    ],
)
def test_validate_rejects(changes: dict, message: str) -> None:
    with pytest.raises(GoBuildError, match=message):
        validate(spec(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"version": "v0.0.0-20250101000000-abcdefabcdef"},
        {"version": "v2.0.0+incompatible"},
        {"mode": "tree", "packages": {"argocd": "./cmd"}},
        {"mode": "tree", "module": "", "version": "3.10", "source": "/role/files/pause", "packages": {"pause": "."}},
        {"requires": ["github.com/other/mod"], "packages": {"x": "github.com/other/mod/cmd/x"}},
        {"checks": {"default": {"args": []}, "kubeconform": {"args": ["-v"]}}},
        {"module_files": ["deploy/vpa-v1-crd-gen.yaml", "LICENSE"]},
        {"upgrades": ["golang.org/x/net@v0.38.0", "github.com/docker/docker@v25.0.6+incompatible"]},
        {"mode": "tree", "prebuild": [{"argv": ["npm", "ci"], "chdir": "web/ui", "name": "ui"}, {"argv": ["make"]}]},
    ],
)
def test_validate_accepts(changes: dict) -> None:
    validate(spec(**changes))


@pytest.mark.parametrize(
    ("binaries", "prefix", "packages", "expected"),
    [
        (["kubeadm", "kubelet"], "k8s.io/kubernetes/cmd/", {},
         {"kubeadm": "k8s.io/kubernetes/cmd/kubeadm", "kubelet": "k8s.io/kubernetes/cmd/kubelet"}),
        (["etcd"], "", {"etcd": "go.etcd.io/etcd/server/v3"}, {"etcd": "go.etcd.io/etcd/server/v3"}),
        ([], "", {"argocd": "./cmd"}, {"argocd": "./cmd"}),
    ],
)
def test_resolve_packages(binaries: list, prefix: str, packages: dict, expected: dict) -> None:
    assert resolve_packages(binaries, prefix, packages) == expected


def test_resolve_packages_rejects_paths_as_names() -> None:
    with pytest.raises(GoBuildError, match="plain file name"):
        resolve_packages(["../kubectl"], "k8s.io/kubernetes/cmd/", {})


# ----- environment -----------------------------------------------------------------------------------


def test_go_environment_is_explicit() -> None:
    process = {"HOME": "/root", "PATH": "/somewhere", "GOFLAGS": "-race", "SECRET_TOKEN": "x", "https_proxy": "http://p"}
    env = go_environment(process, GO, "/usr/local/go/bin", cgo=False, extra={}, mod_mod=False)
    assert env == {
        "HOME": "/root", "https_proxy": "http://p", "PATH": "/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin",
        "LC_ALL": "C", "GOGC": "400", "GOPATH": "/g", "GOMODCACHE": "/m", "GOCACHE": "/c",
        "GOPROXY": "https://proxy.golang.org,direct", "GOSUMDB": "sum.golang.org",
        "GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1",  # the target the recipe records, pinned
        "GOENV": "off", "GOWORK": "off", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false",
    }


def test_go_environment_keeps_the_callers_gogc() -> None:
    assert go_environment({"GOGC": "off"}, GO, "/go/bin", cgo=False, extra={}, mod_mod=False)["GOGC"] == "off"


@pytest.mark.parametrize(
    ("cgo", "extra", "mod_mod", "expected"),
    [
        (True, {}, False, {"CGO_ENABLED": "1", "GOFLAGS": "-buildvcs=false"}),
        (False, {}, True, {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=mod"}),
        (False, {"GOFLAGS": "-tags=netgo", "GOCACHE": "/tmp/c"}, False,
         {"GOFLAGS": "-buildvcs=false -tags=netgo", "GOCACHE": "/tmp/c"}),
        (False, {"GOTOOLCHAIN": "go1.26.8", "GOPROXY": "off"}, False, {"GOTOOLCHAIN": "go1.26.8", "GOPROXY": "off"}),
        (False, {"GOGC": "100"}, False, {"GOGC": "100"}),
    ],
)
def test_go_environment_options(cgo: bool, extra: dict, mod_mod: bool, expected: dict) -> None:
    env = go_environment({"HOME": "/root"}, GO, "/go/bin", cgo, extra, mod_mod)
    assert {key: env.get(key) for key in expected} == expected


# ----- messages --------------------------------------------------------------------------------------


def test_proxy_error_names_the_proxy_and_its_answer() -> None:
    error = ("github.com/yannh/kubeconform@v0.0.99: reading https://proxy.golang.org/github.com/yannh/kubeconform/"
             "@v/v0.0.99.info: 403 Forbidden\n\tserver response: This module version is not available.")
    message = proxy_error("github.com/yannh/kubeconform", "v0.0.99", error, "https://proxy.golang.org,direct")
    assert message == (
        "The Go module proxy does not serve github.com/yannh/kubeconform@v0.0.99 (GOPROXY=https://proxy.golang.org,"
        "direct): https://proxy.golang.org/github.com/yannh/kubeconform/@v/v0.0.99.info answered 403 Forbidden; "
        "server response: This module version is not available.")
    other = proxy_error("m", "v1.0.0", "m@v1.0.0: dial tcp: lookup proxy.golang.org: no such host", "https://p")
    assert other == "go mod download m@v1.0.0 failed (GOPROXY=https://p): m@v1.0.0: dial tcp: lookup " \
                    "proxy.golang.org: no such host"


def test_output_tail_leaves_out_download_progress() -> None:
    text = "go: downloading a v1\n" * 50 + "# pkg\n./x.go:3:2: undefined: y\n\n"
    assert output_tail(text) == ["# pkg", "./x.go:3:2: undefined: y"]
    assert len(output_tail("\n".join(f"line {i}" for i in range(40)))) == 15


def test_summary() -> None:
    message = summary("kubernetes", "v1.33.4", {"download": 3.04, "go get": 40.2, "kubeadm": 60.4},
                      512.3, {"kubeadm": 100 * 1048576, "kubelet": 212 * 1048576})
    assert message == ("Built kubernetes v1.33.4 (2 binaries, 312.0 MiB) in 512 s: download 3.0 s, go get 40 s, "
                       "kubeadm 60 s")
    assert "(1 binary," in summary("pause", "3.10", {}, 1.0, {"pause": 1})


def test_spec_is_not_modified() -> None:
    original = spec()
    kept = copy.deepcopy(original)
    recipe(original, GO)
    validate(original)
    assert original == kept
