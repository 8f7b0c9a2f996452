"""The gitops.platform collection as a consumer gets it: built, installed, used by FQCN from an empty directory.

scripts/build-collection.py builds the tarball (plugins plus the repository's roles and playbooks); it is
installed with `ansible-galaxy collection install` into an empty directory, and every playbook then runs from
another empty directory with only that directory as collections path: no project ansible.cfg, inventory,
group_vars or roles path. Nothing needs Docker or a cluster: the promotion role and modules work on a bare git
repository made here, the other roles are checked up to their argument-spec validation and preflight.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
VALUES = "helm/demo/values.yaml"

# Roles that still reach outside themselves (role_path/../..) and so cannot work from the collection, with
# what they need; the test fails once one no longer does, so that its entry goes.
KNOWN_OUTSIDE_ROLE: dict[str, str] = {}


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@dataclass
class Installed:
    tarball: Path
    collections: Path
    build_stderr: str


@dataclass
class Consumer:
    """An empty directory, and the environment a consumer of the installed collection has."""

    workdir: Path
    env: dict[str, str]

    def playbook(self, text: str, *args: str) -> subprocess.CompletedProcess:
        (self.workdir / "playbook.yml").write_text(text)
        return self.run("ansible-playbook", "playbook.yml", *args)

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / command), *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("collection")
    build = subprocess.run([sys.executable, str(ROOT / "scripts" / "build-collection.py"), "--output-dir", str(base / "dist")],
                           capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = Path(build.stdout.strip().splitlines()[-1])
    assert tarball.parent == base / "dist" and tarball.is_file(), build.stdout
    collections = base / "installed"
    collections.mkdir()
    install = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(collections), "--offline", "--no-deps"],
        cwd=base, capture_output=True, text=True, timeout=300, check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return Installed(tarball, collections, build.stderr)


@pytest.fixture()
def consumer(installed: Installed, tmp_path: Path) -> Consumer:
    workdir = tmp_path / "consumer"
    workdir.mkdir()
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nretry_files_enabled = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "GITOPS_", "MOLECULE_"))}
    env.update(
        ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(installed.collections), ANSIBLE_ROLES_PATH="",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_NOCOLOR="1",
        # The platform defaults read these; online, and no generated secrets in the real home directory.
        GITOPS_OFFLINE="false", HOME=str(tmp_path / "home"),
    )
    (tmp_path / "home").mkdir()
    return Consumer(workdir, env)


@pytest.fixture()
def remote(tmp_path: Path) -> Path:
    """A bare gitops repository whose helm/demo/values.yaml has image.tag 0.1.0."""
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(seed))
    (seed / "helm" / "demo").mkdir(parents=True)
    (seed / VALUES).write_text('# The demo chart.\nimage:\n  repository: ghcr.io/acme/demo\n  # Set by promotions.\n  tag: "0.1.0"\n')
    git("add", "-A", cwd=seed)
    git("-c", "user.name=seed", "-c", "user.email=seed@localhost", "commit", "--quiet", "-m", "Seed", cwd=seed)
    git("push", "--quiet", "origin", "HEAD:main", cwd=seed)
    return bare


def test_tarball_holds_plugins_roles_and_playbooks(installed: Installed) -> None:
    with tarfile.open(installed.tarball) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["namespace"] == "gitops" and manifest["collection_info"]["name"] == "platform"
    for role in (path.name for path in (ROOT / "roles").iterdir() if path.is_dir()):
        assert f"roles/{role}/meta/main.yml" in names, role
        assert f"roles/{role}/README.md" in names, role
    for playbook in ["site.yml", *(path.name for path in (ROOT / "playbooks").glob("*.yml"))]:
        assert f"playbooks/{playbook.replace('-', '_')}" in names, playbook
    assert {"playbooks/tasks/offline-images-key.yml", "playbooks/vars/offline-images.yml",
            "playbooks/group_vars/all/platform.yml", "playbooks/group_vars/all/versions.yml",
            "roles/platform/defaults/main/platform.yml", "plugins/modules/image_tag_promote.py",
            "plugins/strategy/fast_linear.py", "plugins/filter/platform_status.yml",
            "roles/local_git_server/files/git-http-server.py"} <= names
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/output")]
    # The links of roles/platform became the files they point to.
    with tarfile.open(installed.tarball) as tar:
        member = tar.getmember("roles/platform/defaults/main/versions.yml")
        assert member.isfile()
        assert yaml.safe_load(tar.extractfile(member))["platform_versions"]["kind"]


def test_build_writes_nothing_into_the_source_tree(installed: Installed) -> None:
    source = ROOT / "collections" / "ansible_collections" / "gitops" / "platform"
    artefacts = ["roles", "playbooks", "MANIFEST.json", "FILES.json", "tests/output"]
    assert [name for name in artefacts if (source / name).exists()] == []
    assert list(source.glob("*.tar.gz")) == [] and list(ROOT.glob("*.tar.gz")) == []
    assert ROOT not in installed.tarball.parents


def test_collection_playbooks_import_by_their_new_names(installed: Installed) -> None:
    site = (installed.collections / "ansible_collections/gitops/platform/playbooks/site.yml").read_text()
    assert "import_playbook: prerequisites.yml" in site and "playbooks/" not in site.split("- name:", 1)[1]
    offline = (installed.collections / "ansible_collections/gitops/platform/playbooks/offline_images.yml").read_text()
    assert "import_playbook: build_app_image.yml" in offline


def test_roles_stay_inside_themselves(installed: Installed) -> None:
    outside = {line.split("roles/", 1)[1].split("/", 1)[0] for line in installed.build_stderr.splitlines()
               if "reaches outside the role" in line}
    assert outside <= set(KNOWN_OUTSIDE_ROLE), f"roles reaching outside themselves: {installed.build_stderr}"
    fixed = set(KNOWN_OUTSIDE_ROLE) - outside
    assert not fixed, f"{sorted(fixed)} no longer reach outside the role: remove them from KNOWN_OUTSIDE_ROLE"


@pytest.mark.parametrize(
    "playbook", sorted(["site", *(path.stem.replace("-", "_") for path in (ROOT / "playbooks").glob("*.yml"))]),
)
def test_every_collection_playbook_loads(consumer: Consumer, playbook: str) -> None:
    """Imports, roles (by short name inside the collection) and vars files all resolve from the install."""
    run = consumer.run("ansible-playbook", "--syntax-check", f"gitops.platform.{playbook}")
    assert run.returncode == 0, run.stdout + run.stderr


PROMOTE_BY_FQCN = """\
---
- name: Promote through the collection's role
  hosts: localhost
  gather_facts: false
  roles:
    - role: gitops.platform.image_promotion
      vars:
        image_promotion_repo: "{{ remote }}"
        image_promotion_chart: demo
        image_promotion_tag: "1.2.3"
        image_promotion_source_commit: 064193f2c1d8

- name: Read the tag history through the collection's module
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the history
      gitops.platform.image_tag_history:
        repo: "{{ remote }}"
        values_file: helm/demo/values.yaml
      register: history

    - name: Show it
      ansible.builtin.debug:
        msg: "HISTORY {{ history.current }} {{ history.previous | default('none', true) }}"
"""


def test_role_by_fqcn_in_check_mode_changes_nothing(consumer: Consumer, remote: Path) -> None:
    before = git("rev-parse", "main", cwd=remote).strip()
    run = consumer.playbook(PROMOTE_BY_FQCN, "-e", f"remote={remote}", "--check", "--diff")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f'+++ after: {VALUES}' in run.stdout and '-  tag: "0.1.0"' in run.stdout and '+  tag: "1.2.3"' in run.stdout
    assert "would change image.tag from 0.1.0 to 1.2.3" in run.stdout
    assert "HISTORY 0.1.0 none" in run.stdout
    assert git("rev-parse", "main", cwd=remote).strip() == before
    assert '  tag: "0.1.0"' in git("show", f"main:{VALUES}", cwd=remote)


def test_role_by_fqcn_promotes(consumer: Consumer, remote: Path) -> None:
    run = consumer.playbook(PROMOTE_BY_FQCN, "-e", f"remote={remote}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert git("show", f"main:{VALUES}", cwd=remote).splitlines()[4] == '  tag: "1.2.3"'
    message = git("log", "-1", "--format=%B", "main", cwd=remote)
    assert "Promoted-To: 1.2.3" in message and "Source-Commit: 064193f2c1d8" in message
    # The branch came from the platform defaults (roles/platform) that the role depends on: no inventory here.
    assert "HISTORY 1.2.3 0.1.0" in run.stdout


def test_collection_playbook_by_fqcn(consumer: Consumer, remote: Path) -> None:
    """promote.yml as CI calls it, from the collection: its plays read the shipped platform settings."""
    before = git("rev-parse", "main", cwd=remote).strip()
    # environment= (empty): the chart's values.yaml, as the consumer's repository has no environments' files.
    run = consumer.run("ansible-playbook", "gitops.platform.promote", "-e", f"gitops_repo={remote}", "-e", "image_tag=2.0.0",
                       "-e", "chart=demo", "-e", "environment=", "--check", "--diff")
    assert run.returncode == 0, run.stdout + run.stderr
    assert '+  tag: "2.0.0"' in run.stdout
    # The same playbook imported by FQCN into a consumer's own playbook.
    imported = consumer.playbook("---\n- name: Promote\n  ansible.builtin.import_playbook: gitops.platform.promote\n",
                                 "-e", f"gitops_repo={remote}", "-e", "image_tag=2.0.1", "-e", "chart=demo", "-e", "environment=",
                                 "--check")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "would change image.tag from 0.1.0 to 2.0.1" in imported.stdout
    assert git("rev-parse", "main", cwd=remote).strip() == before


HTPASSWD_BY_FQCN = """\
---
- name: Keep an htpasswd file through the collection's module
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write the accounts
      gitops.platform.htpasswd_bcrypt:
        path: "{{ path }}"
        accounts: [{name: pusher, password: push-secret-1}]
        cost: 4
        mode: "0600"
      register: written

    - name: Show the result
      ansible.builtin.debug:
        msg: "WRITTEN {{ written.changed }} {{ written.rehashed }}"
"""


def test_module_by_fqcn(consumer: Consumer, tmp_path: Path) -> None:
    target = tmp_path / "htpasswd"
    checked = consumer.playbook(HTPASSWD_BY_FQCN, "-e", f"path={target}", "--check", "--diff")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WRITTEN True ['pusher']" in checked.stdout and not target.exists()
    applied = consumer.playbook(HTPASSWD_BY_FQCN, "-e", f"path={target}")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert target.read_text().startswith("pusher:$2b$04$") and "push-secret-1" not in applied.stdout
    doc = consumer.run("ansible-doc", "gitops.platform.htpasswd_bcrypt")
    assert doc.returncode == 0 and "bcrypt" in doc.stdout, doc.stderr


def role_by_fqcn(role: str) -> str:
    """A consumer's playbook that applies one role of the collection by its FQCN."""
    return (f"---\n- name: Use the collection's {role} role\n  hosts: localhost\n  gather_facts: false\n"
            f"  roles:\n    - role: gitops.platform.{role}\n")


def test_status_role_by_fqcn_reports_what_does_not_answer(consumer: Consumer, tmp_path: Path) -> None:
    """platform_status and its filter from the install: no cluster, no app, a report all the same."""
    consumer.env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    run = consumer.playbook(role_by_fqcn("platform_status"), "-e", "platform_status_version_url=http://127.0.0.1:1/version",
                            "--check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Nodes        not reachable (" in run.stdout, run.stdout
    assert "ENVIRONMENT  GIT TAG" in run.stdout, run.stdout
    assert "http://127.0.0.1:1/version  no answer (" in run.stdout
    assert "Gitops repo  git: " in run.stdout
    assert "changed=0" in run.stdout and "failed=0" in run.stdout


KIND_CLUSTER_BY_FQCN = role_by_fqcn("kind_cluster")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"kind_cluster_provider": "minikube"},
         "value of kind_cluster_provider must be one of: kind, existing, got: minikube"),
        ({"kind_cluster_workers": "many"}, "kind_cluster_workers' is of type str and we were unable to convert to int"),
        ({"kind_cluster_name": "Bad_Name"}, "kind_cluster_name 'Bad_Name' is not a valid kind cluster name"),
    ],
    ids=["argument-spec-choice", "argument-spec-type", "preflight-name"],
)
def test_role_by_fqcn_refuses_bad_input(consumer: Consumer, variables: dict, message: str) -> None:
    run = consumer.playbook(KIND_CLUSTER_BY_FQCN, "-e", json.dumps(variables), "--check")
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stdout, run.stdout
    # Refused before any command ran: validation or the first preflight check failed, nothing else.
    assert "changed=0" in run.stdout and "failed=1" in run.stdout


def test_installed_copy_is_self_contained(installed: Installed, tmp_path: Path) -> None:
    """The install needs nothing from the repository: it still works after a copy elsewhere."""
    copy = tmp_path / "copy"
    shutil.copytree(installed.collections, copy, symlinks=True)
    links = [path for path in copy.rglob("*") if path.is_symlink()]
    assert not links, links


def test_collection_playbook_includes_roles_by_short_name(consumer: Consumer, tmp_path: Path) -> None:
    """argocd_refresh includes `argocd_app` (short name) with tasks_from: sync; from the collection that is
    gitops.platform.argocd_app, validated against its `sync` entry point, then stopped by the missing cluster."""
    consumer.env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    run = consumer.run("ansible-playbook", "gitops.platform.argocd_refresh", "-e", "argocd_refresh_timeout=5")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "TASK [gitops.platform.argocd_app : Validating arguments against arg spec 'sync'" in run.stdout, run.stdout
    assert "TASK [gitops.platform.argocd_app : Ask Argo CD for a hard refresh]" in run.stdout, run.stdout
    bad = consumer.run("ansible-playbook", "gitops.platform.argocd_refresh", "-e", "argocd_refresh_timeout=soon")
    assert bad.returncode == 2 and "argocd_app_wait_timeout' is of type str" in bad.stdout, bad.stdout
