#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: go_build
short_description: Build Go binaries from source through the Go module proxy, cached by a recipe hash
description:
  - Builds the binaries of one component (a Go module at a pinned version, or a local source directory)
    into C(<dest>/bin), static by default, with C(-trimpath), C(-ldflags "-s -w -X ...") and
    C(-gcflags=all=-dwarf=false). The linker's C(-w) drops the debug information anyway, and not generating it
    while compiling makes a cold build about 14 % cheaper (CoreDNS from an empty build cache on 2 CPUs took 289
    CPU seconds instead of 340).
  - Two ways to build, chosen by O(mode). C(wrapper) generates a go.mod that requires the module at
    O(version) (and O(requires) at the same version), then runs C(go get) and C(go build) in it; the
    module's directory replaces can become the published modules (O(replace_local_with)), which is how
    Kubernetes (staging repositories) is built. C(tree) copies the module's own source out of the module
    cache (or O(source), a local directory) and builds it as the main module, so its replace directives
    apply (Argo CD, dex); replaces that point at directories the module zip leaves out are dropped.
  - A wrapper build gives the same bytes as C(go install package@version) with the same flags (checked with
    helm, kind and kubeconform), so wrapper mode also builds what upstreams document as a C(go install) (helm,
    kind).
  - Every run works out the recipe (all options that change the binaries, the Go version and target,
    and a revision of this module) and its SHA-256. When C(<dest>/.go-build.json) (the stamp) holds
    the same hash, every binary has the size the stamp recorded and every check passes, nothing is
    built (RV(cached)). The stamp is removed before a build starts and written after the binaries
    passed their checks, so an interrupted or failed build is never taken for a complete one.
  - The linker's C(-X) values may hold placeholders filled from the Go module proxy and the module's
    go.mod; see O(ldflags_x).
  - Go runs with an explicit environment, not the caller's. C(HOME), C(TMPDIR) and proxy/TLS variables
    are passed through. C(GOPATH), C(GOMODCACHE), C(GOCACHE), the C(GOPROXY)/C(GOSUMDB)/C(GOPRIVATE)
    family and the target (C(GOOS), C(GOARCH), C(GOAMD64)...) come from C(go env), which reads the
    caller's environment and C(go env -w)'s file, so the user's module and build caches are shared.
    C(GOENV=off), C(GOWORK=off), C(GOTOOLCHAIN=local), C(CGO_ENABLED) is set from O(cgo), and
    C(GOFLAGS=-buildvcs=false), plus C(-mod=mod) in tree mode so that go can complete go.sum after a dropped
    replace. C(GOGC=400) (unless the caller sets C(GOGC)) lets the compiler collect its garbage less often,
    trading memory for speed (a cold build 30 percent faster, measured); it is not part of the recipe.
    O(env) comes last and wins.
  - In check mode nothing is built. When the build is not cached the module asks the proxy whether
    it serves O(module)@O(version) (C(go list -m), which fetches no source), and reports a change.
version_added: "0.2.0"
author: gitops platform maintainers (!UNKNOWN)
requirements:
  - Go 1.24 or newer on the target (C(go) on PATH, or O(go)), and a reachable Go module proxy
    or a module cache that holds every module the build needs.
options:
  name:
    description:
      - Name of the component, in messages, in the stamp and in the wrapper module's path.
    type: str
    required: true
  mode:
    description:
      - C(wrapper) builds packages of O(module) and O(requires) as dependencies of a generated module. Its go
        and godebug lines are upstream's, and C(godebug default=go<upstream go line>) is added where upstream
        has none, so that C(go get) raising the go line leaves the GODEBUG defaults as upstream has them.
      - C(tree) builds a copy of the module's own source (or of O(source)) as the main module; for modules
        whose replace directives must apply. The binaries record the main module as C((devel)).
    type: str
    choices: [wrapper, tree]
    default: wrapper
  module:
    description:
      - Go module path fetched from the Go module proxy. Required unless O(source) is given.
    type: str
    default: ""
  version:
    description:
      - Version of O(module) (and of O(requires)), a semantic version, pre-release or pseudo-version; never
        a query such as C(latest), which would make the cache lie.
      - With O(source), a free label (for example C(3.10)) for messages and the V({version}) placeholder.
    type: str
    required: true
  source:
    description:
      - A local directory with a go.mod, built instead of a module in tree mode (a program of the role's own).
        The content of all its files enters the recipe.
    type: path
  requires:
    description:
      - Further modules required at the same O(version) in wrapper mode, which pins every dependency to the
        versions of that release (etcd requires C(go.etcd.io/etcd/server/v3) and friends).
    type: list
    elements: str
    default: []
  upgrades:
    description:
      - Dependencies raised above what the release requires, as C(path@version), in wrapper mode. The wrapper's
        go.mod requires them too, and minimal version selection takes the higher version; for a release whose
        libraries have known flaws fixed in later versions (C(golang.org/x/net@v0.38.0)). Part of the recipe.
    type: list
    elements: str
    default: []
  binaries:
    description:
      - Binaries named after their package, each built from O(package_prefix) followed by its name.
    type: list
    elements: str
    default: []
  package_prefix:
    description:
      - Import path prefix of O(binaries), for example C(k8s.io/kubernetes/cmd/).
    type: str
    default: ""
  packages:
    description:
      - Binary name to package, added to (and overriding) O(binaries). Import paths; in tree mode also paths
        relative to the module's root (C(./cmd)).
    type: dict
    default: {}
  tags:
    description:
      - Build tags (C(-tags)), also given to C(go get) so tagged imports resolve.
    type: list
    elements: str
    default: []
  ldflags_x:
    description:
      - Linker C(-X) settings, symbol to value, after C(-s -w). Placeholders in values
        V({version}) (O(version)), V({commit}) (the commit the proxy's .info records, else O(commit_fallback)),
        V({commit_short}) (its first 8 characters), V({module_time}) and V({date}) (the release time the
        proxy's .info records, RFC 3339), and V({dep:<module path>}) (the version of that module in the
        module's go.mod, a replace winning over the require, a directory replace counting as
        O(replace_local_with)).
      - A setting whose value expands to nothing is left out, so the variable keeps its source default.
    type: dict
    default: {}
  replace_local_with:
    description:
      - Version given to the modules that the module's go.mod replaces with directories (Kubernetes'
        staging repositories, published as C(v0.X.Y) for C(v1.X.Y)). Wrapper mode writes such replaces into
        the generated go.mod; tree mode rewrites them in the copy. Empty leaves them (tree mode drops those
        whose directory the module zip leaves out).
    type: str
    default: ""
  commit_fallback:
    description:
      - Value of V({commit}) when the proxy's .info records no commit (its C(Origin) is often missing).
    type: str
    default: ""
  cgo:
    description:
      - Build with cgo (C(CGO_ENABLED=1)); the default makes static binaries.
    type: bool
    default: false
  overlay:
    description:
      - Files written into the source before building, path relative to the source root to content, where
        the source has no such file (Argo CD's server embeds C(ui/dist/app), empty in the module zip).
        Wrapper and tree mode. Their content enters the recipe.
    type: dict
    default: {}
  prebuild:
    description:
      - Commands run in the copy of the source (tree mode) after O(overlay) and before C(go build), in order,
        for what a Go build needs generated first (a web UI built with npm and embedded with C(go:embed)).
      - Each is a dict with C(argv) (the program, looked up on the build's C(PATH), then its arguments), optionally
        C(chdir) (a directory relative to the source root) and C(name) (for messages and RV(durations)).
      - They run with the go commands' environment (C(HOME), C(PATH), proxies) and O(timeout) each; a failing
        one fails the task with the last lines of its output. C(argv) and C(chdir) enter the recipe.
    type: list
    elements: dict
    default: []
  module_files:
    description:
      - Files of the module (paths relative to its root) copied into C(<dest>/files/) after the build, for
        what a deployment of the binaries needs besides them (the CustomResourceDefinitions of a
        controller). A path that names a directory copies it with everything in it (a Helm chart).
        They enter the recipe; a missing copy is rebuilt. Not with O(source).
    type: list
    elements: str
    default: []
  extra_recipe:
    description:
      - Free data that enters the recipe hash, for inputs the module cannot see (the hash of files a role
        adds to an image with these binaries, a patch level). Changing it rebuilds.
    type: dict
    default: {}
  checks:
    description:
      - Per binary (or C(default) for every binary without its own), a dict with C(args) (list, run as
        C(<dest>/bin/<binary> args...)), C(expect) (a string its stdout and stderr must contain) and
        optionally C(rc) (the exit code it must have; by default any). V({name}) (the binary) and
        V({version}) are replaced in C(args) and C(expect).
      - The checks run on every run; a cached build whose check fails is rebuilt, a fresh build whose
        check fails fails the task with what the binary printed and what was expected.
    type: dict
    default: {}
  dest:
    description:
      - Directory of this component and version. Binaries go to C(<dest>/bin), the stamp to
        C(<dest>/.go-build.json), the source of wrapper and tree builds to C(<dest>/src) (a tree copy is
        removed after a successful build). C(<dest>/.go-build.lock) serialises runs on the same dest (a
        second run waits for the first, then finds its build cached).
    type: path
    required: true
  env:
    description:
      - Extra environment of the go commands (C(GOPROXY), C(GOCACHE), C(GOMODCACHE), C(GOFLAGS), C(GOAMD64), ...),
        applied last; C(GOFLAGS) is appended to the module's own. Variables that locate things (caches,
        GOPATH, the proxy and checksum database settings, HOME, TMPDIR, proxies) stay out of the recipe;
        all others enter it.
    type: dict
    default: {}
  jobs:
    description:
      - Packages compiled in parallel (C(go build -p)); 0 leaves Go's default, the number of CPUs.
    type: int
    default: 0
  timeout:
    description:
      - Seconds each go command may take before it is stopped (with all its children) and the task fails.
    type: int
    default: 3600
  force:
    description:
      - Build even when the stamp matches the recipe.
    type: bool
    default: false
  go:
    description:
      - The go command, a name looked up on PATH (then C(/usr/local/go/bin)) or a path.
    type: str
    default: go
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is built; the proxy is asked whether it serves the module version.
  diff_mode:
    support: full
    details: The diff shows the recipe of the build in dest against the recipe asked for.
  platform:
    platforms: posix
notes:
  - The recipe leaves out O(dest), O(jobs), O(timeout), O(force) and O(checks); checks run on every run.
  - A binary is written under a temporary name and renamed, so C(<dest>/bin/<name>) is never half written.
"""

EXAMPLES = r"""
- name: Build Kubernetes' node binaries from the Go module proxy
  gitops.platform.go_build:
    name: kubernetes
    module: k8s.io/kubernetes
    version: v1.33.4
    replace_local_with: v0.33.4
    tags: [selinux, notest]
    commit_fallback: "0000000000000000000000000000000000000000"
    binaries: [kubeadm, kubelet, kubectl]
    package_prefix: k8s.io/kubernetes/cmd/
    ldflags_x:
      k8s.io/component-base/version.gitVersion: "{version}"
      k8s.io/component-base/version.gitCommit: "{commit}"
      k8s.io/component-base/version.buildDate: "{date}"
    checks:
      default: {args: [--version], expect: "Kubernetes {version}"}
      kubeadm: {args: [version, -o, short], expect: "{version}"}
      kubectl: {args: [version, --client, -o, json], expect: '"gitVersion": "{version}"'}
    dest: "{{ platform_cache_dir }}/bundle/kubernetes-v1.33.4"
    jobs: 2

- name: Build the argocd binary as the main module of a copy of its source (its go.mod has replaces)
  gitops.platform.go_build:
    name: argocd
    mode: tree
    module: github.com/argoproj/argo-cd/v3
    version: v3.1.9
    packages: {argocd: ./cmd}
    overlay:
      ui/dist/app/index.html: "{{ lookup('ansible.builtin.template', 'ui-index.html.j2') }}"
    ldflags_x:
      github.com/argoproj/argo-cd/v3/common.version: "3.1.9"
      github.com/argoproj/argo-cd/v3/common.buildDate: "{module_time}"
      github.com/argoproj/argo-cd/v3/common.kubectlVersion: "{dep:k8s.io/client-go}"
    checks:
      argocd: {args: [version, --client], expect: "argocd: v3.1.9", rc: 0}
    dest: "{{ platform_cache_dir }}/build/argocd-v3.1.9"
    jobs: 1
  register: argocd_build

- name: Build helm (the same bytes as `go install helm.sh/helm/v3/cmd/helm@v3.19.5`)
  gitops.platform.go_build:
    name: helm
    module: helm.sh/helm/v3
    version: v3.19.5
    packages: {helm: helm.sh/helm/v3/cmd/helm}
    ldflags_x:
      helm.sh/helm/v3/internal/version.version: "{version}"
      helm.sh/helm/v3/internal/version.gitTreeState: clean
    checks:
      helm: {args: [version, --short], expect: "{version}"}
    dest: "{{ platform_cache_dir }}/tools/helm-v3.19.5"

- name: Build a program of the role's own
  gitops.platform.go_build:
    name: pause
    mode: tree
    source: "{{ role_path }}/files/pause"
    version: "3.10"
    packages: {pause: .}
    ldflags_x: {main.version: "{version}"}
    checks: {pause: {args: [-v], expect: "pause {version}"}}
    dest: "{{ platform_cache_dir }}/bundle/pause-3.10"
"""

RETURN = r"""
cached:
  description: True when the build in dest was made from the same recipe and nothing was built.
  returned: always
  type: bool
  sample: false
binaries:
  description: Binary name to its path.
  returned: always
  type: dict
  sample: {kubeadm: /var/cache/platform/bundle/kubernetes-v1.33.4/bin/kubeadm}
bin_dir:
  description: The directory of the binaries, C(<dest>/bin).
  returned: always
  type: str
files:
  description: Path of each of O(module_files) (relative path to its copy in C(<dest>/files)).
  returned: always
  type: dict
stamp:
  description: Path of the stamp file.
  returned: always
  type: str
recipe:
  description: SHA-256 of the recipe.
  returned: always
  type: str
  sample: 3f1c2a...
reason:
  description: Why a build ran or would run (empty when cached).
  returned: always
  type: str
  sample: the recipe changed (ldflags_x)
commit:
  description: Commit recorded in the binaries (the proxy's, or commit_fallback, or empty).
  returned: when built or cached
  type: str
go_version:
  description: The Go toolchain (C(go env GOVERSION)).
  returned: always
  type: str
  sample: go1.26.8
ldflags:
  description: The linker flags of the build.
  returned: when built or cached
  type: str
  sample: -s -w -X main.version=v0.8.0
module_dir:
  description: The module's directory in the module cache (its source, read-only), for files a role needs.
  returned: when built in wrapper or tree mode from a module
  type: str
durations:
  description: Seconds per step of the build (download, copy or go get, one per binary, checks), or of the
    checks alone when cached.
  returned: always
  type: dict
  sample: {download: 1.2, "go get": 40.1, kubeadm: 60.3, checks: 0.4}
seconds:
  description: Seconds the task took.
  returned: always
  type: float
sizes:
  description: Binary name to size in bytes.
  returned: when built or cached
  type: dict
checks:
  description: Each check that ran, with the first line of what the binary printed.
  returned: always
  type: list
  elements: dict
  sample: [{binary: kubeconform, output: v0.8.0}]
msg:
  description: One line saying what happened.
  returned: always
  type: str
  sample: "Built kubeconform v0.8.0 (1 binary, 6.1 MiB) in 21 s: download 0.3 s, go get 2.0 s, kubeconform 18 s, checks 0.1 s"
output_tail:
  description: On a failed go command, the last lines of its output.
  returned: failure
  type: list
  elements: str
"""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gitops.platform.plugins.module_utils.go_build import (
    GCFLAGS,
    STAMP_NAME,
    GoBuildError,
    check_problem,
    go_environment,
    ldflags,
    local_replaces,
    output_tail,
    placeholders,
    prebuild_steps,
    proxy_error,
    recipe,
    recipe_hash,
    resolve_checks,
    resolve_packages,
    stamp_problem,
    summary,
    validate,
    wrapper_gomod,
)

CHECK_TIMEOUT = 120
LOCK_NAME = ".go-build.lock"

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    mode=dict(type="str", default="wrapper", choices=["wrapper", "tree"]),
    module=dict(type="str", default=""),
    version=dict(type="str", required=True),
    source=dict(type="path"),
    requires=dict(type="list", elements="str", default=[]),
    upgrades=dict(type="list", elements="str", default=[]),
    binaries=dict(type="list", elements="str", default=[]),
    package_prefix=dict(type="str", default=""),
    packages=dict(type="dict", default={}),
    tags=dict(type="list", elements="str", default=[]),
    ldflags_x=dict(type="dict", default={}),
    replace_local_with=dict(type="str", default=""),
    commit_fallback=dict(type="str", default=""),
    cgo=dict(type="bool", default=False),
    overlay=dict(type="dict", default={}),
    prebuild=dict(type="list", elements="dict", default=[]),
    module_files=dict(type="list", elements="str", default=[]),
    extra_recipe=dict(type="dict", default={}),
    checks=dict(type="dict", default={}),
    dest=dict(type="path", required=True),
    env=dict(type="dict", default={}),
    jobs=dict(type="int", default=0),
    timeout=dict(type="int", default=3600),
    force=dict(type="bool", default=False),
    go=dict(type="str", default="go"),
)


class GoCommandFailed(Exception):
    def __init__(self, message: str, tail: list[str]):
        super().__init__(message)
        self.tail = tail


class Build:
    """One component: decide whether the build in dest is current, and build it when it is not."""

    def __init__(self, module: AnsibleModule, scratch: str):
        self.module = module
        self.p = module.params
        self.started = time.monotonic()
        self.durations: dict[str, float] = {}
        self.dest = self.p["dest"]
        self.bin_dir = os.path.join(self.dest, "bin")
        self.src_dir = os.path.join(self.dest, "src")
        self.stamp_path = os.path.join(self.dest, STAMP_NAME)
        self.files_dir = os.path.join(self.dest, "files")
        self.scratch = scratch  # an empty working directory for go commands that need no module
        self.spec = {key: self.p[key] for key in (
            "name", "mode", "module", "version", "source", "requires", "upgrades", "tags", "ldflags_x", "replace_local_with",
            "commit_fallback", "cgo", "overlay", "prebuild", "module_files", "extra_recipe", "checks", "env")}
        self.spec["module"] = self.spec["module"] or ""
        self.spec["env"] = {k: str(v) for k, v in self.spec["env"].items()}
        self.spec["packages"] = resolve_packages(self.p["binaries"], self.p["package_prefix"], self.p["packages"])
        validate(self.spec)
        self.packages = self.spec["packages"]
        self.go = self._find_go()
        self.go_env = self._go_env()
        self.base_env = go_environment(dict(os.environ), self.go_env, os.path.dirname(self.go), self.p["cgo"],
                                       self.spec["env"], mod_mod=False)
        self.build_env = go_environment(dict(os.environ), self.go_env, os.path.dirname(self.go), self.p["cgo"],
                                        self.spec["env"], mod_mod=self.p["mode"] == "tree")
        self.checks = resolve_checks(self.p["checks"], list(self.packages), self.p["version"])
        self.recipe = recipe(self.spec, self.go_env, self._source_digest())
        self.hash = recipe_hash(self.recipe)
        self.check_results: list[dict] = []
        self.lock = None

    # ----- what is there -------------------------------------------------------------------------

    def _find_go(self) -> str:
        name = self.p["go"]
        if "/" in name:
            if not os.access(name, os.X_OK):
                raise GoBuildError(f"{name} is no executable go command")
            return os.path.abspath(name)
        found = self.module.get_bin_path(name, opt_dirs=["/usr/local/go/bin"])
        if not found:
            raise GoBuildError(f"{self.p['name']} is built from source with Go, and `{name}` is neither on PATH "
                               "nor in /usr/local/go/bin: install Go 1.24 or newer")
        return found

    def _go_env(self) -> dict:
        env = dict(os.environ)
        env.update({"GOTOOLCHAIN": "local", "GOWORK": "off"})
        env.update(self.spec["env"])
        result = self._run([self.go, "env", "-json"], self.scratch, env, "go env", timeout=60)
        try:
            return json.loads(result.stdout)
        except ValueError as exc:
            raise GoBuildError(f"`go env -json` printed no JSON: {result.stdout[:200]!r}") from exc

    def _source_digest(self) -> str:
        source = self.p["source"]
        if not source:
            return ""
        if not os.path.isfile(os.path.join(source, "go.mod")):
            raise GoBuildError(f"source {source} holds no go.mod")
        digest = []
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                with open(path, "rb") as handle:
                    content = handle.read()
                executable = os.access(path, os.X_OK)
                digest.append(f"{os.path.relpath(path, source)} {int(executable)} {_sha256_bytes(content)}")
        return _sha256_bytes("\n".join(digest).encode())

    def _read_stamp(self) -> str | None:
        try:
            with open(self.stamp_path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def _sizes(self) -> dict[str, int | None]:
        sizes = {}
        for name in self.packages:
            path = os.path.join(self.bin_dir, name)
            sizes[name] = os.path.getsize(path) if os.path.isfile(path) else None
        return sizes

    def _run_checks(self) -> str | None:
        """Run every check; the first problem, or None."""
        started = time.monotonic()
        self.check_results = []
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C"}
        try:
            for name, check in self.checks.items():
                argv = [os.path.join(self.bin_dir, name)] + check["args"]
                try:
                    done = subprocess.run(argv, cwd=self.scratch, env=env, stdin=subprocess.DEVNULL,
                                          capture_output=True, text=True, errors="replace",
                                          timeout=CHECK_TIMEOUT, check=False)
                except subprocess.TimeoutExpired:
                    return f"`bin/{name} {' '.join(check['args'])}` did not finish within {CHECK_TIMEOUT} s"
                except OSError as exc:
                    return f"bin/{name} does not run: {exc}"
                output = done.stdout + ("\n" if done.stdout and done.stderr else "") + done.stderr
                self.check_results.append({"binary": name, "output": (output.strip().splitlines() or [""])[0]})
                problem = check_problem(name, check["args"], done.returncode, output, check["expect"], check["rc"])
                if problem:
                    return problem
            return None
        finally:
            if self.checks:
                self.durations["checks"] = round(time.monotonic() - started, 1)

    # ----- running go ----------------------------------------------------------------------------

    def _run(self, argv: list[str], cwd: str, env: dict, step: str, timeout: int | None = None,
             allow_fail: bool = False) -> subprocess.CompletedProcess:
        limit = timeout or self.p["timeout"]
        started = time.monotonic()
        with subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True) as proc:
            try:
                stdout, stderr = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise GoCommandFailed(
                    f"{step} of {self.p['name']} {self.p['version']} did not finish within {limit} s "
                    f"(`{' '.join(argv[:3])} ...` stopped; raise timeout if the machine is slow)", []) from None
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
        done = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
        done.seconds = time.monotonic() - started  # type: ignore[attr-defined]
        if done.returncode != 0 and not allow_fail:
            tail = output_tail(stderr or stdout)
            raise GoCommandFailed(
                f"{step} of {self.p['name']} {self.p['version']} failed (exit {done.returncode}); "
                f"last lines of its output:\n" + "\n".join(tail), tail)
        return done

    def _timed(self, step: str, argv: list[str], cwd: str, env: dict) -> subprocess.CompletedProcess:
        done = self._run(argv, cwd, env, step)
        self.durations[step] = round(self.durations.get(step, 0) + done.seconds, 1)  # type: ignore[attr-defined]
        return done

    def _mod_edit_json(self, path: str) -> dict:
        done = self._run([self.go, "mod", "edit", "-json", path], self.scratch, self.base_env, "go mod edit")
        return json.loads(done.stdout)

    def _module_query(self) -> str:
        return f"{self.p['module']}@{self.p['version']}"

    def _ask_proxy(self) -> None:
        """Check mode: fail now if the proxy does not serve the module version (fetches .info and .mod only)."""
        done = self._run([self.go, "list", "-m", "-e", "-json", self._module_query()], self.scratch,
                         self.base_env, "go list -m", timeout=300, allow_fail=True)
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            answer = {"Error": {"Err": done.stderr}}
        error = (answer.get("Error") or {}).get("Err") if isinstance(answer.get("Error"), dict) else answer.get("Error")
        if error or done.returncode != 0:
            raise GoBuildError(proxy_error(self.p["module"], self.p["version"], error or done.stderr,
                                           self.base_env.get("GOPROXY", "")))

    def _download(self) -> dict:
        started = time.monotonic()
        done = self._run([self.go, "mod", "download", "-json", self._module_query()], self.scratch, self.base_env,
                         "go mod download", allow_fail=True)
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            answer = {}
        if done.returncode != 0 or answer.get("Error"):
            raise GoBuildError(proxy_error(self.p["module"], self.p["version"], answer.get("Error") or done.stderr,
                                           self.base_env.get("GOPROXY", "")))
        with open(answer["Info"], encoding="utf-8") as handle:
            answer["info"] = json.load(handle)
        answer["gomod"] = self._mod_edit_json(answer["GoMod"])
        self.durations["download"] = round(time.monotonic() - started, 1)
        return answer

    # ----- building ------------------------------------------------------------------------------

    def build(self, reason: str) -> dict:
        os.makedirs(self.bin_dir, exist_ok=True)
        # Removed first: from here until the stamp is written again, dest holds no complete build.
        if os.path.lexists(self.stamp_path):
            os.unlink(self.stamp_path)
        mode = self.p["mode"]
        if self.p["source"]:
            downloaded = {"info": {}, "gomod": self._mod_edit_json(os.path.join(self.p["source"], "go.mod"))}
        else:
            downloaded = self._download()
        gomod, info = downloaded["gomod"], downloaded["info"]
        # Before the build, so that a wrong path does not cost one.
        absent = [path for path in self.p["module_files"]
                  if not os.path.exists(os.path.join(downloaded.get("Dir", ""), path))]
        if absent:
            raise GoBuildError(f"module_files names {', '.join(absent)}, which {self._module_query()} does not have")
        values = placeholders(self.p["version"], info, self.p["commit_fallback"])
        flags = ldflags(self.spec["ldflags_x"], values, gomod, self.p["replace_local_with"])
        common = ["-trimpath", f"-gcflags={GCFLAGS}"] \
            + (["-p", str(self.p["jobs"])] if self.p["jobs"] > 0 else []) \
            + ([f"-tags={','.join(self.p['tags'])}"] if self.p["tags"] else []) + [f"-ldflags={flags}"]

        if mode == "wrapper":
            self._prepare_wrapper(gomod)
        else:
            self._prepare_tree(downloaded.get("Dir") or self.p["source"], gomod)
            self._prebuild()
        for name, package in self.packages.items():
            partial = os.path.join(self.bin_dir, f".{name}.partial")
            self._timed(name, [self.go, "build"] + common + ["-o", partial, package], self.src_dir, self.build_env)
            os.replace(partial, os.path.join(self.bin_dir, name))
        self._copy_module_files(downloaded.get("Dir", ""))

        problem = self._run_checks()
        if problem:
            raise GoBuildError(f"{self.p['name']} {self.p['version']} was built, and a check failed: {problem}")
        sizes = {name: size for name, size in self._sizes().items() if size is not None}
        seconds = round(time.monotonic() - self.started, 1)
        stamp = {
            "recipe": self.hash,
            "component": self.p["name"],
            "version": self.p["version"],
            "module": self.p["module"] or self.p["source"],
            "mode": mode,
            "commit": values["commit"],
            "go": self.go_env.get("GOVERSION", ""),
            "ldflags": flags,
            "gcflags": GCFLAGS,
            "tags": self.p["tags"],
            "built_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": reason,
            "durations": self.durations,
            "seconds": seconds,
            "sizes": sizes,
            "recipe_detail": self.recipe,
        }
        _write_atomically(self.stamp_path, json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        if mode == "tree":
            _remove_tree(self.src_dir)
        return {
            "changed": True, "cached": False, "commit": values["commit"], "ldflags": flags, "sizes": sizes,
            "module_dir": downloaded.get("Dir", ""),
            "msg": summary(self.p["name"], self.p["version"], self.durations, seconds, sizes) + f"; why: {reason}",
        }

    def _copy_module_files(self, module_dir: str) -> None:
        for relative in self.p["module_files"]:
            origin = os.path.join(module_dir, relative)
            target = os.path.join(self.files_dir, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(origin):
                # A tree is swapped in whole: the old copy goes only once the new one is complete.
                _remove_tree(target + ".partial")
                # Plain copies, writable: the module cache's files and directories are read-only.
                shutil.copytree(origin, target + ".partial", copy_function=shutil.copyfile)
                for root, dirs, _files in os.walk(target + ".partial"):
                    for name in dirs:
                        os.chmod(os.path.join(root, name), 0o755)
                os.chmod(target + ".partial", 0o755)
                _remove_tree(target)
            else:
                shutil.copyfile(origin, target + ".partial")
            os.replace(target + ".partial", target)

    def _prepare_wrapper(self, upstream: dict) -> None:
        _remove_tree(self.src_dir)
        os.makedirs(self.src_dir)
        content = wrapper_gomod(self.p["name"], self.p["module"], self.p["version"], self.p["requires"], upstream,
                                self.p["replace_local_with"], self.p["upgrades"])
        with open(os.path.join(self.src_dir, "go.mod"), "w", encoding="utf-8") as handle:
            handle.write(content)
        self._write_overlay()
        query = [f"{path}@{self.p['version']}" for path in
                 _unique([self.p["module"]] + self.p["requires"] + list(self.packages.values()))]
        query += list(self.p["upgrades"])
        tags = [f"-tags={','.join(self.p['tags'])}"] if self.p["tags"] else []
        self._timed("go get", [self.go, "get"] + tags + query, self.src_dir, self.base_env)

    def _prepare_tree(self, origin: str, gomod: dict) -> None:
        started = time.monotonic()
        _remove_tree(self.src_dir)
        _copy_tree(origin, self.src_dir)
        edits = []
        for replace in local_replaces(gomod):
            old = replace["Old"]["Path"] + (f"@{replace['Old']['Version']}" if replace["Old"].get("Version") else "")
            if self.p["replace_local_with"]:
                edits.append(f"-replace={old}={replace['Old']['Path']}@{self.p['replace_local_with']}")
            elif not os.path.isdir(os.path.join(self.src_dir, replace["New"]["Path"])):
                # A module zip leaves out nested modules (dex: ./api/v2): the required version is used.
                edits.append(f"-dropreplace={old}")
        if edits:
            self._run([self.go, "mod", "edit"] + edits, self.src_dir, self.base_env, "go mod edit")
        self._write_overlay()
        self.durations["copy"] = round(time.monotonic() - started, 1)

    def _prebuild(self) -> None:
        for step in prebuild_steps(self.p["prebuild"]):
            cwd = os.path.join(self.src_dir, step["chdir"])
            if not os.path.isdir(cwd):
                raise GoBuildError(f"prebuild step {step['name']!r}: {step['chdir']} is no directory of the source")
            self._timed(step["name"], step["argv"], cwd, self.build_env)

    def _write_overlay(self) -> None:
        root = os.path.realpath(self.src_dir)
        for relative, content in self.p["overlay"].items():
            path = os.path.realpath(os.path.join(root, relative))
            if not path.startswith(root + os.sep):
                raise GoBuildError(f"overlay path {relative!r} leaves the source directory")
            if os.path.exists(path):
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(content))

    # ----- the run -------------------------------------------------------------------------------

    def _lock(self) -> None:
        """Hold dest's lock until the module exits: a second build of the same dest waits, then finds it cached."""
        os.makedirs(self.dest, exist_ok=True)
        handle = open(os.path.join(self.dest, LOCK_NAME), "a", encoding="utf-8")  # pylint: disable=consider-using-with
        deadline = time.monotonic() + self.p["timeout"]
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.lock = handle
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GoBuildError(f"another build holds {os.path.join(self.dest, LOCK_NAME)} for more than "
                                       f"{self.p['timeout']} s") from None
                time.sleep(2)

    def run(self) -> dict:
        if not self.module.check_mode:
            self._lock()
        result = {
            "binaries": {name: os.path.join(self.bin_dir, name) for name in self.packages},
            "bin_dir": self.bin_dir, "stamp": self.stamp_path, "recipe": self.hash,
            "files": {path: os.path.join(self.files_dir, path) for path in self.p["module_files"]},
            "go_version": self.go_env.get("GOVERSION", ""),
        }
        stamp_text = self._read_stamp()
        problem = "forced" if self.p["force"] else stamp_problem(stamp_text, self.hash, self.recipe, self._sizes())
        if problem is None:
            missing = [path for path in self.p["module_files"] if not os.path.exists(os.path.join(self.files_dir, path))]
            problem = f"files/{missing[0]} is missing" if missing else None
        if problem is None:
            failed = self._run_checks()
            problem = f"a check failed: {failed}" if failed else None
        if problem is None:
            stamp = json.loads(stamp_text)
            result.update(
                changed=False, cached=True, reason="", commit=stamp.get("commit", ""), ldflags=stamp.get("ldflags", ""),
                sizes=stamp.get("sizes", {}),
                msg=(f"{self.p['name']} {self.p['version']} is cached in {self.bin_dir} (recipe {self.hash[:12]}, "
                     f"built {stamp.get('built_at', '?')} with {stamp.get('go', '?')}); nothing to build"))
            return self._finish(result)

        result.update(changed=True, cached=False, reason=problem)
        if self.module._diff:
            old = None
            if stamp_text:
                try:
                    old = json.loads(stamp_text).get("recipe_detail")
                except (ValueError, AttributeError):
                    old = None
            result["diff"] = {
                "before": json.dumps(old, indent=2, sort_keys=True) + "\n" if old else "",
                "after": json.dumps(self.recipe, indent=2, sort_keys=True) + "\n",
                "before_header": f"{self.stamp_path} (recipe)", "after_header": f"{self.p['name']} (recipe)",
            }
        if self.module.check_mode:
            if not self.p["source"]:
                self._ask_proxy()
            count = len(self.packages)
            result["msg"] = (f"Would build {self.p['name']} {self.p['version']} ({count} binar{'y' if count == 1 else 'ies'}, "
                             f"{self.p['mode']} mode) into {self.bin_dir}: {problem}")
            return self._finish(result)
        result.update(self.build(problem))
        return self._finish(result)

    def _finish(self, result: dict) -> dict:
        result["durations"] = self.durations
        result["checks"] = self.check_results
        result["seconds"] = round(time.monotonic() - self.started, 1)
        return result


def _unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _copy_tree(origin: str, target: str) -> None:
    """Copy a source tree writable (the module cache is read-only), keeping only the executable bit."""
    for root, dirs, files in os.walk(origin):
        relative = os.path.relpath(root, origin)
        here = os.path.normpath(os.path.join(target, relative))
        os.makedirs(here, mode=0o755, exist_ok=True)
        for name in dirs:
            path = os.path.join(root, name)
            if os.path.islink(path):
                os.symlink(os.readlink(path), os.path.join(here, name))
        for name in files:
            path = os.path.join(root, name)
            copy = os.path.join(here, name)
            if os.path.islink(path) and not os.path.exists(path):
                os.symlink(os.readlink(path), copy)
                continue
            shutil.copyfile(path, copy)
            os.chmod(copy, 0o755 if os.access(path, os.X_OK) else 0o644)


def _remove_tree(path: str) -> None:
    """Remove a directory tree, also one whose directories are read-only (as the module cache's are)."""
    if not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        for root, dirs, _files in os.walk(path):
            for name in dirs:
                if not os.path.islink(os.path.join(root, name)):
                    os.chmod(os.path.join(root, name), 0o755)
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _write_atomically(path: str, content: str) -> None:
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    # Go ignores a go.mod in the system temporary directory, so module-less commands run here.
    scratch = tempfile.mkdtemp(prefix="go-build-")
    try:
        result = Build(module, scratch).run()
    except GoCommandFailed as exc:
        module.fail_json(msg=str(exc), output_tail=exc.tail)
    except GoBuildError as exc:
        module.fail_json(msg=f"{module.params['name']} {module.params['version']}: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
