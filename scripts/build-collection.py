#!/usr/bin/env python3
"""Build the installable gitops.platform collection: its plugins plus the repository's roles and playbooks.

The repository keeps its layout (top-level roles/ and playbooks/, the collection's plugins under
collections/ansible_collections/gitops/platform). This script assembles a staging copy of the collection
outside the source tree and builds the tarball from it with `ansible-galaxy collection build`:

  collection source     -> <stage>/                    (plugins, meta, docs, unit tests)
  roles/<role>/         -> <stage>/roles/<role>/       (symlinks resolved: roles/platform's defaults
                                                        are inventory/group_vars/all)
  playbooks/*.yml       -> <stage>/playbooks/<name>.yml, '-' in names becomes '_' so that each is
  site.yml                 callable as `ansible-playbook gitops.platform.<name>`; import_playbook
                           references are rewritten to the new names
  playbooks/<dir>/      -> <stage>/playbooks/<dir>/    (tasks/ and vars/ the playbooks read)
  inventory/group_vars/all/*.yml -> <stage>/playbooks/group_vars/all/: the platform settings the
                           playbooks' plays read, loaded by Ansible as playbook group_vars

    scripts/build-collection.py                       # build/collection/gitops-platform-<version>.tar.gz
    scripts/build-collection.py --output-dir DIR
    scripts/build-collection.py --stage DIR --no-build  # DIR/ansible_collections/gitops/platform only

Nothing is written into the source tree except the output directory (build/ by default, git-ignored).
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
NAMESPACE, NAME = "gitops", "platform"
COLLECTION_SRC = REPO / "collections" / "ansible_collections" / NAMESPACE / NAME
DEFAULT_OUTPUT = REPO / "build" / "collection"

# Never copied into the stage: caches, test output and editor litter.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.retry", ".ansible")
IMPORT_PLAYBOOK = re.compile(r"^(?P<head>\s*(?:ansible\.builtin\.)?import_playbook:\s*)(?P<target>\S+?)\s*$")
# A role path that climbs out of the role: it resolves nowhere once the role lives in a collection.
OUTSIDE_ROLE = re.compile(r"role_path\s*(?:}}\s*|~\s*['\"])/\.\.")


def ignore_in_collection(directory: str, names: list[str]) -> set[str]:
    """IGNORED, plus ansible-test's results (tests/output) of a run in the source tree."""
    ignored = set(IGNORED(directory, names))
    if Path(directory) == COLLECTION_SRC / "tests":
        ignored.update({"output"} & set(names))
    return ignored


class BuildError(Exception):
    """The repository cannot be packaged as it is; the message says what to fix."""


def collection_playbook_name(path: Path) -> str:
    """The file name a playbook gets in the collection: FQCN resource names allow only [A-Za-z0-9_]."""
    name = path.stem.replace("-", "_")
    if not name.isidentifier():
        raise BuildError(f"{path.relative_to(REPO)}: {name!r} cannot be a collection playbook name")
    return name + ".yml"


def repository_playbooks() -> dict[str, Path]:
    """Each playbook the collection ships, by its path relative to the repository root."""
    playbooks = {"site.yml": REPO / "site.yml"}
    playbooks.update({f"playbooks/{p.name}": p for p in sorted((REPO / "playbooks").glob("*.yml"))})
    return playbooks


def rewrite_imports(text: str, source: str, renamed: dict[str, str]) -> str:
    """Point every import_playbook of `source` (a repository path) at the collection's file name."""
    base = Path(source).parent
    out = []
    for line in text.splitlines(keepends=True):
        found = IMPORT_PLAYBOOK.match(line.rstrip("\n"))
        if found:
            target = (base / found["target"]).as_posix()
            if target not in renamed:
                raise BuildError(f"{source}: import_playbook {found['target']} is not a playbook the collection ships")
            line = f"{found['head']}{renamed[target]}\n"
        out.append(line)
    return "".join(out)


def stage_roles(stage: Path) -> list[str]:
    """Copy every role; return the warnings about paths that leave a role."""
    warnings = []
    for role in sorted(p for p in (REPO / "roles").iterdir() if p.is_dir()):
        target = stage / "roles" / role.name
        if target.exists():
            raise BuildError(f"the collection source already has roles/{role.name}")
        shutil.copytree(role, target, symlinks=False, ignore=IGNORED)
        for path in sorted(target.rglob("*.yml")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if OUTSIDE_ROLE.search(line):
                    warnings.append(f"roles/{path.relative_to(stage / 'roles')}:{number}: reaches outside the role: "
                                    f"{line.strip()}")
    return warnings


def stage_playbooks(stage: Path) -> None:
    playbooks = repository_playbooks()
    renamed = {source: collection_playbook_name(path) for source, path in playbooks.items()}
    if len(set(renamed.values())) != len(renamed):
        raise BuildError(f"two playbooks get the same collection name: {sorted(renamed.items())}")
    target_dir = stage / "playbooks"
    target_dir.mkdir()
    for source, path in playbooks.items():
        (target_dir / renamed[source]).write_text(rewrite_imports(path.read_text(), source, renamed))
    # What the playbooks read by relative path (include_tasks tasks/..., vars_files vars/...).
    for sub in sorted(p for p in (REPO / "playbooks").iterdir() if p.is_dir()):
        shutil.copytree(sub, target_dir / sub.name, symlinks=False, ignore=IGNORED)
    # The platform settings the plays themselves read (module_defaults, play vars, tasks outside roles).
    group_vars = target_dir / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    for path in sorted((REPO / "inventory" / "group_vars" / "all").glob("*.yml")):
        shutil.copyfile(path, group_vars / path.name)


def plugin_descriptions(stage: Path, warnings: list[str]) -> list[tuple[str, str, str]]:
    """(name, type, short description) of every documented plugin: DOCUMENTATION in .py or in a filter's .yml.

    A plugin whose documentation does not parse is left out with a warning; ansible-test sanity says why.
    """
    found = []
    for path in sorted((stage / "plugins").glob("*/*")):
        kind = path.parent.name
        if kind in ("module_utils", "doc_fragments") or path.suffix not in (".py", ".yml"):
            continue
        try:
            if path.suffix == ".yml":
                doc = (yaml.safe_load(path.read_text()) or {}).get("DOCUMENTATION")
            else:
                doc = next((yaml.safe_load(node.value.value) for node in ast.parse(path.read_text()).body
                            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                            and any(getattr(target, "id", "") == "DOCUMENTATION" for target in node.targets)), None)
        except (SyntaxError, yaml.YAMLError) as error:
            warnings.append(f"{path.relative_to(stage)}: documentation does not parse, left out of the README: "
                            f"{' '.join(str(error).split())}")
            continue
        if doc:
            name = doc.get("module") or doc.get("name") or path.stem
            found.append((f"{NAMESPACE}.{NAME}.{name}", kind.rstrip("s"), doc.get("short_description", "")))
    return found


def role_description(role: Path) -> str:
    """The short description of the role's main entry point, else its galaxy_info description."""
    for path, keys in ((role / "meta" / "argument_specs.yml", ("argument_specs", "main", "short_description")),
                       (role / "meta" / "main.yml", ("galaxy_info", "description"))):
        node = yaml.safe_load(path.read_text()) if path.is_file() else None
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node:
            return str(node)
    return ""


def contents_section(stage: Path, warnings: list[str]) -> str:
    """README section listing what this build holds, from the plugins', roles' and playbooks' own descriptions."""
    lines = ["", "## Contents of this build", "",
             "Listed by `scripts/build-collection.py` from the plugins' documentation, the roles' argument specs and "
             "the playbooks' first plays.", "", "| plugin | type | what it does |", "|---|---|---|"]
    lines += [f"| `{name}` | {kind} | {text} |" for name, kind, text in plugin_descriptions(stage, warnings)]
    lines += ["", "| role | what it does |", "|---|---|"]
    for role in sorted(p for p in (stage / "roles").iterdir() if p.is_dir()):
        text = role_description(role)
        if not text:
            warnings.append(f"roles/{role.name}: no description in meta/argument_specs.yml (main) or meta/main.yml")
        lines.append(f"| `{NAMESPACE}.{NAME}.{role.name}` | {text} |")
    lines += ["", "| playbook | first play |", "|---|---|"]
    for playbook in sorted((stage / "playbooks").glob("*.yml")):
        plays = yaml.safe_load(playbook.read_text()) or [{}]
        lines.append(f"| `{NAMESPACE}.{NAME}.{playbook.stem}` | {plays[0].get('name', '')} |")
    return "\n".join(lines) + "\n"


def stage_collection(root: Path) -> tuple[Path, list[str]]:
    """Assemble the collection under root/ansible_collections/gitops/platform; return it and the warnings."""
    stage = root / "ansible_collections" / NAMESPACE / NAME
    if stage.exists():
        raise BuildError(f"{stage} exists; give an empty directory")
    shutil.copytree(COLLECTION_SRC, stage, symlinks=False, ignore=ignore_in_collection)
    warnings = stage_roles(stage)
    stage_playbooks(stage)
    readme = stage / "README.md"
    readme.write_text(readme.read_text() + contents_section(stage, warnings))
    return stage, warnings


def build(stage: Path, output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    run = subprocess.run(
        [str(galaxy), "collection", "build", str(stage), "--output-path", str(output_dir), "--force"],
        capture_output=True, text=True, check=False,
    )
    if run.returncode != 0:
        raise BuildError(f"ansible-galaxy collection build failed:\n{run.stdout}{run.stderr}")
    version = yaml.safe_load((stage / "galaxy.yml").read_text())["version"]
    return output_dir / f"{NAMESPACE}-{NAME}-{version}.tar.gz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where the tarball is written")
    parser.add_argument("--stage", type=Path,
                        help="assemble into STAGE/ansible_collections/gitops/platform and keep it (default: a temporary directory)")
    parser.add_argument("--no-build", action="store_true", help="only assemble the stage (needs --stage)")
    args = parser.parse_args(argv)
    if args.no_build and not args.stage:
        parser.error("--no-build needs --stage")
    try:
        if args.stage:
            stage, warnings = stage_collection(args.stage.resolve())
            tarball = None if args.no_build else build(stage, args.output_dir.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="gitops-collection-") as tmp:
                stage, warnings = stage_collection(Path(tmp))
                tarball = build(stage, args.output_dir.resolve())
    except BuildError as error:
        print(f"build-collection: {error}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"build-collection: warning: {warning}", file=sys.stderr)
    print(tarball if tarball else stage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
