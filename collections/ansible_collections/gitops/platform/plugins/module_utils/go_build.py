# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Pure helpers of the gitops.platform.go_build module: the recipe and its hash, placeholder expansion,
the wrapper go.mod, the go environment and the stamp rules. Nothing here runs a process or touches a
file, so every rule is tested by a table (tests/unit/plugins/module_utils/test_go_build.py)."""

from __future__ import annotations

import hashlib
import json
import re

# Bump when the build steps change in a way that alters binaries, so every cached build is rebuilt.
# 2: GCFLAGS added (every earlier build is rebuilt once).
RECIPE_REVISION = 2
# The compiler's flags for every package. The linker's -w drops the debug information anyway; not generating it
# makes a cold build about 14 % cheaper (CoreDNS from an empty build cache on 2 CPUs: 340 to 289 CPU seconds).
GCFLAGS = "all=-dwarf=false"
# Written last into <dest>, removed first: without it a build is never taken for a complete one.
STAMP_NAME = ".go-build.json"
MODES = ("wrapper", "tree")
# Prefix of the wrapper module's path (the main module in wrapper mode).
WRAPPER_MODULE_PREFIX = "gitops-platform.local/go-build/"
# Environment variables that say where Go finds or keeps things, or how fast it builds, not what it builds: they stay
# out of the recipe, so moving a cache or a proxy, or tuning the compiler's memory, does not rebuild anything.
LOCATION_ENV = frozenset({
    "GOGC", "GOMEMLIMIT",
    "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GONOSUMDB", "GONOSUMCHECK",
    "GOSUMDB", "GOINSECURE", "GOTMPDIR", "GOAUTH", "HOME", "TMPDIR", "PATH", "HTTP_PROXY", "HTTPS_PROXY",
    "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_CONFIG_GLOBAL",
})
# Copied from `go env` into the build's environment, so the user's module cache, build cache and
# proxy settings (in the environment or in `go env -w`'s file) apply although GOENV is off.
INHERITED_GO_ENV = ("GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GONOSUMDB",
                    "GOSUMDB", "GOINSECURE", "GOTMPDIR")
# Passed through from the environment the module runs in, when set.
PASSTHROUGH_ENV = ("HOME", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                   "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR")
# The Go compiler's and linker's own garbage collector: fewer collections for more memory. GOGC=400 made a cold
# `go build` of kube-score 30 % faster here (50 s -> 35 s on 2 CPUs; GOGC=off 31-39 s but twice the memory of 400 for
# k8s.io/api/core/v1, 1.15 GB). It changes how fast the build runs, not what it builds: never part of the recipe.
# A GOGC in the caller's environment wins (GOGC=100 is Go's default).
COMPILER_GOGC = "400"
# What `go env` says about the target that changes the machine code: part of the recipe.
TARGET_GO_ENV = ("GOVERSION", "GOOS", "GOARCH", "GOAMD64", "GOARM64", "GOARM", "GO386", "GOEXPERIMENT")
# A module version the cache can trust: a release, pre-release or pseudo-version, never a query.
SEMVER = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
PLACEHOLDER = re.compile(r"\{([a-z_]+(?::[^{}\s]+)?)\}")
LDFLAGS_PLACEHOLDERS = ("version", "commit", "commit_short", "date", "module_time")
CHECK_PLACEHOLDERS = ("name", "version")


class GoBuildError(Exception):
    """A problem with the inputs or with what Go answered, said in one sentence."""


def is_local_path(path: str) -> bool:
    """True for a replace target that is a directory (./x, ../x, /x), not a module."""
    return path.startswith(("./", "../", "/")) or path in (".", "..")


def resolve_packages(binaries: list[str], package_prefix: str, packages: dict[str, str]) -> dict[str, str]:
    """Binary name -> package: prefix+name for each of `binaries`, then `packages` (which may override)."""
    resolved = {name: package_prefix + name for name in binaries}
    resolved.update(packages)
    for name in resolved:
        if not name or "/" in name or name.startswith("."):
            raise GoBuildError(f"binary name {name!r} must be a plain file name")
    return resolved


def validate(spec: dict) -> None:
    """Raise GoBuildError when the options cannot describe a build; `spec` holds the module's options."""
    mode, module, version = spec["mode"], spec["module"], spec["version"]
    if not spec["packages"]:
        raise GoBuildError("nothing to build: give packages (binary: package) or binaries with package_prefix")
    if spec.get("source") and mode != "tree":
        raise GoBuildError(f"source (a local directory) is built in tree mode, not in {mode} mode")
    if not spec.get("source"):
        if not module:
            raise GoBuildError(f"{mode} mode needs module (the Go module path), or source in tree mode")
        if not SEMVER.match(version or ""):
            raise GoBuildError(
                f"version {version!r} of {module} is no semantic version (vX.Y.Z, a pre-release or a "
                "pseudo-version): a query like latest or a branch would make the cache lie")
    if mode == "wrapper":
        owners = [module] + list(spec["requires"])
        for name, package in spec["packages"].items():
            if not _within(package, owners):
                raise GoBuildError(
                    f"{name}: {package} is in none of the modules required at {version} ({', '.join(owners)})")
    if mode == "tree" and spec["requires"]:
        raise GoBuildError("requires pins modules of a wrapper build; in tree mode the module's own go.mod does")
    upgrades = spec.get("upgrades") or []
    if upgrades and mode != "wrapper":
        raise GoBuildError("upgrades raise dependencies in the wrapper's go.mod, which only wrapper mode writes")
    for upgrade in upgrades:
        path, wanted = (str(upgrade).split("@", 1) + [""])[:2]
        if not path or any(c.isspace() for c in path) or not SEMVER.match(wanted):
            raise GoBuildError(f"upgrades: {upgrade!r} must be <module path>@<semantic version>, like "
                               "golang.org/x/net@v0.38.0")
        if path in [module] + list(spec["requires"]):
            raise GoBuildError(f"upgrades: {path} is the module built (or one of requires), which version pins")
    for key, template in spec["ldflags_x"].items():
        if not key or "=" in key or any(c.isspace() for c in key):
            raise GoBuildError(f"ldflags_x key {key!r} must be a Go symbol path like main.version")
        for placeholder in PLACEHOLDER.findall(str(template)):
            if placeholder not in LDFLAGS_PLACEHOLDERS and not placeholder.startswith("dep:"):
                raise GoBuildError(
                    f"ldflags_x {key}: unknown placeholder {{{placeholder}}} (known: "
                    + ", ".join("{" + p + "}" for p in LDFLAGS_PLACEHOLDERS) + ", {dep:<module path>})")
    for path in spec.get("module_files") or []:
        if not is_plain_relative_path(path):
            raise GoBuildError(f"module_files: {path!r} must be a plain path inside the module (no /, .. or empty part)")
    if spec.get("module_files") and spec.get("source"):
        raise GoBuildError("module_files are copied from a module's download; a local source has none")
    prebuild = spec.get("prebuild") or []
    if prebuild and mode != "tree":
        raise GoBuildError("prebuild runs commands in a copy of the source, which only tree mode makes")
    for index, step in enumerate(prebuild):
        validate_prebuild_step(index, step)
    for name in spec["checks"]:
        if name != "default" and name not in spec["packages"]:
            raise GoBuildError(f"checks names {name!r}, which is no binary of this build (nor default)")


def is_plain_relative_path(path: str) -> bool:
    """True for a path that stays inside the directory it is relative to: no leading /, no empty, . or .. part."""
    parts = str(path).split("/")
    return bool(path) and not str(path).startswith("/") and not {"", ".", ".."} & set(parts)


def validate_prebuild_step(index: int, step: dict) -> None:
    """A prebuild step is {argv: [program, args...], chdir: relative directory, name: label}, nothing else."""
    where = f"prebuild[{index}]"
    if not isinstance(step, dict):
        raise GoBuildError(f"{where} must be a dict with argv (and optionally chdir and name)")
    unknown = sorted(set(step) - {"argv", "chdir", "name"})
    if unknown:
        raise GoBuildError(f"{where} has unknown keys {', '.join(unknown)} (known: argv, chdir, name)")
    argv = step.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv) or not argv[0]:
        raise GoBuildError(f"{where}: argv must be a non-empty list of strings (the program, then its arguments)")
    chdir = str(step.get("chdir") or "")
    if chdir and not is_plain_relative_path(chdir):
        raise GoBuildError(f"{where}: chdir {chdir!r} must be a plain path inside the source (no /, .. or empty part)")


def prebuild_steps(prebuild: list[dict]) -> list[dict]:
    """The prebuild steps with their defaults: chdir "" (the source root), name from the command line."""
    return [{"name": str(step.get("name") or " ".join(step["argv"])[:60]), "argv": list(step["argv"]),
             "chdir": str(step.get("chdir") or "")} for step in prebuild]


def _within(package: str, modules: list[str]) -> bool:
    return any(package == m or package.startswith(m + "/") for m in modules if m)


def dep_version(gomod: dict, path: str, replace_local_with: str = "") -> str | None:
    """Version of module `path` as `gomod` (go mod edit -json) builds it: a replace wins over the require;
    a replace by a directory counts as replace_local_with (the wrapper's rewrite), if given."""
    for replace in gomod.get("Replace") or []:
        if replace["Old"]["Path"] != path:
            continue
        new = replace["New"]
        if is_local_path(new["Path"]):
            return replace_local_with or None
        if new.get("Version"):
            return new["Version"]
    for require in gomod.get("Require") or []:
        if require["Path"] == path:
            return require["Version"]
    return None


def local_replaces(gomod: dict) -> list[dict]:
    """The replace directives of `gomod` whose target is a directory, in file order."""
    return [r for r in gomod.get("Replace") or [] if is_local_path(r["New"]["Path"])]


def placeholders(version: str, info: dict, commit_fallback: str) -> dict[str, str]:
    """The values of the ldflags placeholders, from the proxy's .info (Time, Origin.Hash) of the module."""
    commit = (info.get("Origin") or {}).get("Hash") or commit_fallback or ""
    return {
        "version": version or "",
        "commit": commit,
        "commit_short": commit[:8],
        "date": info.get("Time") or "",
        "module_time": info.get("Time") or "",
    }


def expand(template: str, values: dict[str, str], gomod: dict | None = None, replace_local_with: str = "",
           where: str = "") -> str:
    """Replace {name} placeholders from `values` and {dep:<module>} from `gomod`; unknown ones are errors."""
    def one(match: re.Match) -> str:
        key = match.group(1)
        if key.startswith("dep:"):
            found = dep_version(gomod or {}, key[4:], replace_local_with)
            if not found:
                raise GoBuildError(f"{where or template}: {{{key}}} names a module that the go.mod of the "
                                   "module does not require")
            return found
        if key not in values:
            raise GoBuildError(f"{where or template}: unknown placeholder {{{key}}}")
        return values[key]
    return PLACEHOLDER.sub(one, str(template))


def ldflags(ldflags_x: dict[str, str], values: dict[str, str], gomod: dict | None = None,
            replace_local_with: str = "") -> str:
    """`-s -w` and one -X per setting, in the given order; a setting that expands to nothing is left out
    (the variable keeps its source default), a value with blanks is quoted the way go splits -ldflags."""
    flags = ["-s", "-w"]
    for key, template in ldflags_x.items():
        value = expand(template, values, gomod, replace_local_with, where=f"ldflags_x {key}")
        if not value:
            continue
        setting = f"{key}={value}"
        if any(c.isspace() for c in setting) or "'" in setting or '"' in setting:
            if "'" in setting and '"' in setting:
                raise GoBuildError(f"ldflags_x {key}: a value cannot hold both ' and \"")
            quote = '"' if "'" in setting else "'"
            setting = quote + setting + quote
        flags += ["-X", setting]
    return " ".join(flags)


def wrapper_gomod(name: str, module: str, version: str, requires: list[str], upstream: dict,
                  replace_local_with: str = "", upgrades: list[str] | None = None) -> str:
    """go.mod of the wrapper module: requires module (and `requires`) at version, with upstream's go and
    godebug lines (so the binaries keep upstream's GODEBUG defaults, the ones `go install module@version`
    gives them) and, given replace_local_with, upstream's directory replaces as the published modules at
    that version. `upgrades` (path@version) are required too: minimal version selection raises those
    dependencies to at least that version (a release with known flaws built with the fixed libraries)."""
    lines = [
        f"// Generated by gitops.platform.go_build ({name} {version}): a wrapper module whose dependencies",
        "// come from the Go module proxy. Its go and godebug lines are copied from",
        f"// {module}'s own go.mod, so the binaries keep upstream's defaults.",
        f"module {WRAPPER_MODULE_PREFIX}{name}",
        "",
    ]
    godebug = upstream.get("GoDebug") or upstream.get("Godebug") or []
    if upstream.get("Go"):
        lines.append(f"go {upstream['Go']}")
        # GODEBUG defaults follow the main module's go line, and `go get` raises that line when a
        # dependency needs a newer Go: pinning the default keeps upstream's (as `go install` has them).
        if not any(setting["Key"] == "default" for setting in godebug):
            lines.append(f"godebug default=go{upstream['Go']}")
    for setting in godebug:
        lines.append(f"godebug {setting['Key']}={setting['Value']}")
    lines += ["", "require ("]
    seen = []
    for path in [module] + list(requires):
        if path not in seen:
            seen.append(path)
            lines.append(f"\t{path} {version}")
    if upgrades:
        lines.append("\t// Raised above what the release requires (upgrades).")
        lines += ["\t" + str(upgrade).replace("@", " ", 1) for upgrade in upgrades]
    lines.append(")")
    replaces = local_replaces(upstream) if replace_local_with else []
    if replaces:
        lines += [
            "",
            f"// {module} replaces these with directories of its own repository; here they are the",
            "// published modules at the matching version.",
            "replace (",
        ]
        for replace in replaces:
            old = replace["Old"]["Path"]
            lines.append(f"\t{old} => {old} {replace_local_with}")
        lines.append(")")
    return "\n".join(lines) + "\n"


def go_environment(process_env: dict[str, str], go_env: dict[str, str], go_bin_dir: str, cgo: bool,
                   extra: dict[str, str], mod_mod: bool) -> dict[str, str]:
    """The complete environment of every go command: nothing inherited by accident.

    HOME and the proxy/TLS variables come from the process; the caches, GOPATH, the proxy settings and
    the target (GOOS, GOARCH, GOAMD64...) from `go env` (which read the environment and `go env -w`'s
    file); GOENV=off so that file adds nothing else; GOWORK=off, as a go.work shipped in a module's source
    is not this build's; GOTOOLCHAIN=local so the installed Go builds (never a downloaded one); CGO_ENABLED from
    cgo; GOFLAGS -buildvcs=false (copies carry no VCS data) and -mod=mod where the build may complete
    go.sum; GOGC (the compiler's own collector) COMPILER_GOGC unless the process sets it. `extra` comes last and
    wins (its GOFLAGS is appended, so its flags win too)."""
    env = {key: process_env[key] for key in PASSTHROUGH_ENV if process_env.get(key)}
    env["PATH"] = go_bin_dir + ":/usr/local/bin:/usr/bin:/bin"
    env["LC_ALL"] = "C"
    env["GOGC"] = process_env.get("GOGC") or COMPILER_GOGC
    # The caches and proxy settings as `go env` resolved them, and the target it reported (which the
    # recipe records), set explicitly so the build is exactly the one the recipe describes.
    for key in INHERITED_GO_ENV + TARGET_GO_ENV[1:]:
        if go_env.get(key):
            env[key] = go_env[key]
    env.update({
        "GOENV": "off",
        # A go.work in the copied source (Prometheus ships one for its web UI's tools) is not the build's.
        "GOWORK": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "1" if cgo else "0",
        "GOFLAGS": "-buildvcs=false" + (" -mod=mod" if mod_mod else ""),
    })
    for key, value in extra.items():
        if key == "GOFLAGS":
            env["GOFLAGS"] = (env["GOFLAGS"] + " " + str(value)).strip()
        else:
            env[key] = str(value)
    return env


def recipe(spec: dict, go_target: dict[str, str], source_digest: str = "") -> dict:
    """Everything that changes the binaries (and the module files copied beside them). Not in it: dest,
    jobs, force, timeout, checks (they run on every run anyway) and environment variables that only locate
    things (LOCATION_ENV). module_files, upgrades and prebuild enter only when given, so the recipes of components
    without them keep their hash."""
    optional = {"module_files": list(spec["module_files"])} if spec.get("module_files") else {}
    if spec.get("upgrades"):
        optional["upgrades"] = sorted(spec["upgrades"])
    if spec.get("prebuild"):
        optional["prebuild"] = [{"argv": step["argv"], "chdir": step["chdir"]} for step in prebuild_steps(spec["prebuild"])]
    return optional | {
        "revision": RECIPE_REVISION,
        "name": spec["name"],
        "mode": spec["mode"],
        "module": spec["module"] or "",
        "version": spec["version"] or "",
        "requires": list(spec["requires"]),
        "packages": dict(spec["packages"]),
        "tags": list(spec["tags"]),
        "ldflags_x": {k: str(v) for k, v in spec["ldflags_x"].items()},
        "replace_local_with": spec["replace_local_with"] or "",
        "commit_fallback": spec["commit_fallback"] or "",
        "cgo": bool(spec["cgo"]),
        "overlay": {path: _sha256(str(content)) for path, content in sorted(spec["overlay"].items())},
        "source": source_digest,
        "env": {k: str(v) for k, v in sorted(spec["env"].items()) if k not in LOCATION_ENV},
        "go": {k: go_target[k] for k in TARGET_GO_ENV if go_target.get(k)},
        "extra": spec["extra_recipe"],
    }


def recipe_hash(value: dict) -> str:
    return _sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))


def recipe_changes(old: dict | None, new: dict) -> list[str]:
    """Top-level keys of the recipe that differ (for saying why a build runs)."""
    if not isinstance(old, dict):
        return []
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def stamp_problem(stamp_text: str | None, expected_hash: str, new_recipe: dict,
                  files: dict[str, int | None]) -> str | None:
    """Why the build in dest is not the build the recipe asks for, or None when it is.

    `stamp_text` is the stamp file's content (None: no stamp); `files` maps each binary to its size
    (None: missing). The stamp records each binary's size, so a binary replaced or truncated after
    the build is noticed."""
    if stamp_text is None:
        return "no stamp (never built here, or the last build did not finish)"
    try:
        stamp = json.loads(stamp_text)
    except ValueError:
        return "the stamp is no JSON"
    if not isinstance(stamp, dict):
        return "the stamp is no JSON object"
    if stamp.get("recipe") != expected_hash:
        changed = recipe_changes(stamp.get("recipe_detail"), new_recipe)
        return "the recipe changed" + (f" ({', '.join(changed)})" if changed else "")
    sizes = stamp.get("sizes") or {}
    for name, size in files.items():
        if size is None:
            return f"bin/{name} is missing"
        if name not in sizes:
            return f"the stamp does not record bin/{name}"
        if sizes[name] != size:
            return f"bin/{name} is not the binary the stamp recorded ({size} bytes, stamp: {sizes[name]})"
    return None


def check_problem(name: str, args: list[str], rc: int, output: str, expect: str, want_rc: int | None) -> str | None:
    """What is wrong with one check's outcome, or None."""
    shown = " ".join([f"bin/{name}"] + list(args))
    if want_rc is not None and rc != want_rc:
        return f"`{shown}` exited {rc}, not {want_rc}: {_short(output)}"
    if expect not in output:
        return f"`{shown}` printed {_short(output)!r}, which does not contain {expect!r}"
    return None


def resolve_checks(checks: dict, binaries: list[str], version: str) -> dict[str, dict]:
    """Binary -> {args, expect, rc}: its own entry, else `default`, with {name} and {version} filled;
    binaries without either are not checked."""
    resolved = {}
    for name in binaries:
        entry = checks.get(name) or checks.get("default")
        if not entry:
            continue
        values = {"name": name, "version": version or ""}
        resolved[name] = {
            "args": [expand(str(a), values, where=f"checks {name} args") for a in entry.get("args") or []],
            "expect": expand(str(entry.get("expect") or ""), values, where=f"checks {name} expect"),
            "rc": entry.get("rc"),
        }
    return resolved


def proxy_error(module: str, version: str, error: str, goproxy: str) -> str:
    """One sentence for a failed `go mod download`, naming the proxy and what it answered."""
    text = " ".join((error or "").split())
    answer = re.search(r"reading (https?://\S+): (.*)$", text)
    if answer:
        return (f"The Go module proxy does not serve {module}@{version} (GOPROXY={goproxy}): "
                f"{answer.group(1)} answered {answer.group(2).replace(' server response: ', '; server response: ')}")
    return f"go mod download {module}@{version} failed (GOPROXY={goproxy}): {text or 'no error text'}"


def output_tail(text: str, lines: int = 15) -> list[str]:
    """The last lines of a command's output that say something (not the `go: downloading` progress)."""
    kept = [line for line in (text or "").splitlines() if line.strip() and not line.startswith("go: downloading ")]
    return kept[-lines:]


def summary(name: str, version: str, durations: dict[str, float], total: float, sizes: dict[str, int]) -> str:
    """'Built kubernetes v1.33.4 (7 binaries, 312.0 MiB) in 512 s: download 3.0 s, go get 40 s, kubeadm 60 s, …'."""
    mib = sum(sizes.values()) / 1048576
    steps = ", ".join(f"{step} {_seconds(sec)} s" for step, sec in durations.items())
    count = len(sizes)
    return (f"Built {name} {version} ({count} binar{'y' if count == 1 else 'ies'}, {mib:.1f} MiB) "
            f"in {_seconds(total)} s: {steps}")


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
