#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_assemble
short_description: Assemble a container image from built files on scratch or a local base, cached by a recipe hash
description:
  - Puts files (binaries built by M(gitops.platform.go_build), scripts), generated texts, directories and
    symlinks into one layer, written as a reproducible tar (sorted entries, numeric owners, mtime 0), and
    makes an image of it under every reference of O(refs).
  - On C(scratch) (O(base)) the layer becomes the image with C(docker import), its configuration given as
    C(--change) instructions. On a base image from the local Docker engine (a Debian base made by the
    C(debian_base_image) role, for example) the classic builder runs C(FROM base), C(ADD layer.tar /), the
    commands of O(run) in one layer, then the configuration; nothing is downloaded (C(--network none)).
  - Every run works out the recipe (the base image's ID, each file's SHA-256 and metadata, the texts,
    directories, links, commands, configuration, labels and O(extra_recipe)) and its SHA-256. When every
    reference holds one image whose label O(recipe_label) is that hash, nothing is built.
  - After a build each smoke test runs in a throw-away container without network. An image whose smoke
    test fails is removed again, so the next run rebuilds it, and the task fails with what the container
    printed.
  - File capabilities (C(capabilities) of an entry of O(files)) are written as the C(security.capability) extended
    attribute, so a non-root process can, for example, bind port 53 with only C(NET_BIND_SERVICE).
version_added: "0.3.0"
author: gitops platform maintainers (!UNKNOWN)
requirements:
  - The docker CLI and a running Docker engine on the target.
options:
  name:
    description:
      - Name of the image, in messages and as the default C(org.opencontainers.image.title) label.
    type: str
    required: true
  refs:
    description:
      - References the image is tagged with; the first is the one the smoke tests run.
    type: list
    elements: str
    required: true
  base:
    description:
      - C(scratch), or a base image in the local Docker engine (never pulled).
    type: str
    default: scratch
  files:
    description:
      - Files from the target's filesystem, each a dict with C(src), C(dest) (a path in the image), C(mode)
        (default C(0755)), C(uid), C(gid) (default 0) and C(capabilities) (for example C([cap_net_bind_service])).
    type: list
    elements: dict
    default: []
  texts:
    description:
      - Files written from text, each a dict with C(dest), C(content), C(mode) (default C(0644)), C(uid), C(gid).
    type: list
    elements: dict
    default: []
  dirs:
    description:
      - Directories, each a dict with C(path), C(mode) (default C(0755)), C(uid), C(gid). Parents of every
        entry are added with mode C(0755).
    type: list
    elements: dict
    default: []
  symlinks:
    description:
      - Symbolic links, each a dict with C(path) and C(target).
    type: list
    elements: dict
    default: []
  run:
    description:
      - Shell commands run in one C(RUN) layer after the files are added (users, links to a base's
        programs). Needs a base image with a shell.
    type: list
    elements: str
    default: []
  config:
    description:
      - Dockerfile instructions of the image's configuration, in order (C(ENV), C(USER), C(WORKDIR),
        C(ENTRYPOINT), C(CMD), C(EXPOSE), C(LABEL), C(VOLUME); and C(STOPSIGNAL) on a base).
    type: list
    elements: str
    default: []
  labels:
    description:
      - Labels of the image, name to value.
    type: dict
    default: {}
  smoke:
    description:
      - Smoke tests run after a build, each a dict with C(args) (list, after the image in C(docker run)),
        optionally C(entrypoint), C(expect) (a string the output must contain) and C(rc) (allowed exit
        codes, default C([0])).
    type: list
    elements: dict
    default: []
  extra_recipe:
    description:
      - Free data that enters the recipe hash (a version the files do not show). Changing it rebuilds.
    type: dict
    default: {}
  recipe_label:
    description:
      - Label that carries the recipe hash.
    type: str
    default: io.gitops-platform.image.recipe-sha256
  force:
    description:
      - Build even when the image carries the same recipe hash.
    type: bool
    default: false
  work_dir:
    description:
      - Directory for the layer and the build context (removed after the build); empty uses the system's
        temporary directory.
    type: path
  timeout:
    description:
      - Seconds each docker command may take.
    type: int
    default: 1800
  docker:
    description:
      - The docker command.
    type: str
    default: docker
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is built; the result says whether and why a build would run.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: CoreDNS on scratch, non-root, allowed to bind port 53
  gitops.platform.image_assemble:
    name: coredns
    refs: [registry.k8s.io/coredns/coredns:v1.12.0]
    files:
      - {src: /cache/coredns-v1.12.0/bin/coredns, dest: /coredns, capabilities: [cap_net_bind_service]}
    texts:
      - {dest: /etc/passwd, content: "nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"}
    config: [USER 65532:65532, 'ENTRYPOINT ["/coredns"]']
    smoke:
      - {args: [-version], expect: CoreDNS-1.12.0}

- name: kube-proxy on a Debian base with the packet-filtering tools
  gitops.platform.image_assemble:
    name: kube-proxy
    refs: [registry.k8s.io/kube-proxy:v1.33.4]
    base: gitops-local/kube-proxy-base:bookworm
    files:
      - {src: /cache/kubernetes-v1.33.4/bin/kube-proxy, dest: /usr/local/bin/kube-proxy}
    symlinks:
      - {path: /usr/sbin/iptables, target: iptables-wrapper}
    config: ['ENTRYPOINT ["/usr/local/bin/kube-proxy"]']
    smoke:
      - {args: [--version], expect: Kubernetes v1.33.4}
      - {entrypoint: iptables, args: [--version], expect: iptables v}
"""

RETURN = r"""
id:
  description: The image's ID.
  returned: success, unless in check mode and not built
  type: str
  sample: sha256:0d5c1a...
size:
  description: The image's size in bytes.
  returned: success, unless in check mode and not built
  type: int
recipe:
  description: SHA-256 of the recipe.
  returned: always
  type: str
reason:
  description: Why the image was (or would be) built; empty when it was current.
  returned: always
  type: str
  sample: its recipe changed
smoke:
  description: Each smoke test that ran, with the first line of what it printed.
  returned: when built
  type: list
  elements: dict
seconds:
  description: Seconds the task took.
  returned: always
  type: float
msg:
  description: One line saying what happened.
  returned: always
  type: str
  sample: Built registry.k8s.io/pause:3.10 (0d5c1a9e4b2f, 0.7 MiB) in 1.9 s from scratch; smoke tests passed
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gitops.platform.plugins.module_utils.image_assemble import (
    LAYER_NAME,
    SCRATCH,
    ImageAssembleError,
    dockerfile,
    file_digest,
    import_changes,
    normalise,
    recipe,
    recipe_hash,
    smoke_problem,
    write_layer,
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    refs=dict(type="list", elements="str", required=True),
    base=dict(type="str", default=SCRATCH),
    files=dict(type="list", elements="dict", default=[]),
    texts=dict(type="list", elements="dict", default=[]),
    dirs=dict(type="list", elements="dict", default=[]),
    symlinks=dict(type="list", elements="dict", default=[]),
    run=dict(type="list", elements="str", default=[]),
    config=dict(type="list", elements="str", default=[]),
    labels=dict(type="dict", default={}),
    smoke=dict(type="list", elements="dict", default=[]),
    extra_recipe=dict(type="dict", default={}),
    recipe_label=dict(type="str", default="io.gitops-platform.image.recipe-sha256"),
    force=dict(type="bool", default=False),
    work_dir=dict(type="path"),
    timeout=dict(type="int", default=1800),
    docker=dict(type="str", default="docker"),
)


class DockerFailed(ImageAssembleError):
    pass


class Assembly:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.p = module.params
        self.started = time.monotonic()
        if not self.p["refs"]:
            raise ImageAssembleError("refs names no reference to tag the image with")
        self.docker = module.get_bin_path(self.p["docker"])
        if not self.docker:
            raise ImageAssembleError(f"`{self.p['docker']}` is not on PATH: install Docker (make prerequisites)")
        self.layout = normalise(self.p)
        self.layout["labels"] = {"org.opencontainers.image.title": self.p["name"], **self.layout["labels"]}

    def docker_run(self, argv: list[str], what: str, allow_fail: bool = False,
                   env: dict | None = None) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run([self.docker] + argv, capture_output=True, text=True, errors="replace",
                                  stdin=subprocess.DEVNULL, timeout=self.p["timeout"], check=False,
                                  env={**os.environ, **(env or {})})
        except subprocess.TimeoutExpired:
            raise DockerFailed(f"{what} did not finish within {self.p['timeout']} s") from None
        if done.returncode != 0 and not allow_fail:
            message = (done.stderr or done.stdout).strip().splitlines()
            if any("Cannot connect to the Docker daemon" in line for line in message):
                raise DockerFailed("the Docker engine is not running: start it (make prerequisites) and run again")
            raise DockerFailed(f"{what} failed: {' '.join(message[-5:])}")
        return done

    def inspect(self, ref: str) -> dict | None:
        done = self.docker_run(["image", "inspect", ref], f"docker image inspect {ref}", allow_fail=True)
        if done.returncode != 0:
            if "No such" in done.stderr or "no such" in done.stderr:
                return None
            raise DockerFailed(f"docker image inspect {ref} failed: {done.stderr.strip()}")
        return json.loads(done.stdout)[0]

    def run(self) -> dict:
        layout = self.layout
        base_id = ""
        if layout["base"] != SCRATCH:
            base = self.inspect(layout["base"])
            if base is None and self.module.check_mode:
                return self.finish({"changed": True, "recipe": "", "refs": self.p["refs"],
                                    "reason": f"its base image {layout['base']} is not built yet",
                                    "msg": f"Would build {', '.join(self.p['refs'])} once {layout['base']} is built"})
            if base is None:
                raise ImageAssembleError(f"its base image {layout['base']} is not in the local Docker engine "
                                         "(it is never pulled): build the base first")
            base_id = base["Id"]
        missing = [item["src"] for item in layout["files"] if not os.path.isfile(item["src"])]
        digests = {item["src"]: file_digest(item["src"]) for item in layout["files"] if item["src"] not in missing}
        self.recipe_detail = recipe(layout, base_id, digests, self.p["extra_recipe"])
        self.hash = recipe_hash(self.recipe_detail)
        result = {"recipe": self.hash, "refs": self.p["refs"]}

        images = [self.inspect(ref) for ref in self.p["refs"]]
        reason = self.stale(images)
        if reason is None:
            current = images[0]
            result.update(changed=False, reason="", id=current["Id"], size=current.get("Size", 0),
                          msg=f"{self.p['refs'][0]} is up to date (recipe {self.hash[:12]}, image "
                              f"{current['Id'][7:19]}); nothing to build")
            return self.finish(result)
        if missing and not self.module.check_mode:
            raise ImageAssembleError(f"the image needs files that are missing: {', '.join(missing)}")
        result.update(changed=True, reason=reason)
        if self.module.check_mode:
            result["msg"] = f"Would build {', '.join(self.p['refs'])} ({reason})"
            return self.finish(result)
        result.update(self.build(reason))
        return self.finish(result)

    def stale(self, images: list) -> str | None:
        if self.p["force"]:
            return "forced"
        if any(image is None for image in images):
            return "no such image" if all(image is None for image in images) else "a reference is missing"
        if len({image["Id"] for image in images}) != 1:
            return "the references name different images"
        labels = (images[0].get("Config") or {}).get("Labels") or {}
        if labels.get(self.p["recipe_label"]) != self.hash:
            return "its recipe changed"
        return None

    def build(self, reason: str) -> dict:
        work = tempfile.mkdtemp(prefix=f"image-{self.p['name']}-", dir=self.p["work_dir"] or None)
        try:
            with open(os.path.join(work, LAYER_NAME), "wb") as out:
                layer = write_layer(self.layout, out)
            refs = self.p["refs"]
            if self.layout["base"] == SCRATCH:
                changes = import_changes(self.layout, self.p["recipe_label"], self.hash)
                self.docker_run(["import"] + [f"--change={change}" for change in changes]
                                + [os.path.join(work, LAYER_NAME), refs[0]], f"docker import {refs[0]}")
                for ref in refs[1:]:
                    self.docker_run(["tag", refs[0], ref], f"docker tag {ref}")
            else:
                with open(os.path.join(work, "Dockerfile"), "w", encoding="utf-8") as handle:
                    handle.write(dockerfile(self.layout, self.layout["base"], self.p["recipe_label"], self.hash))
                tags = [f"--tag={ref}" for ref in refs]
                self.docker_run(["build", "--network", "none", "--force-rm"] + tags + [work],
                                f"docker build {refs[0]}", env={"DOCKER_BUILDKIT": "0"})
        finally:
            shutil.rmtree(work, ignore_errors=True)

        built = [self.inspect(ref) for ref in refs]
        problem = self.stale(built)
        if problem:
            self.remove()
            raise ImageAssembleError(f"the built image does not check out ({problem})")
        outputs = []
        for test in self.p["smoke"]:
            if not isinstance(test.get("args"), list):
                self.remove()
                raise ImageAssembleError(f"smoke test {test!r} needs args, a list")
            argv = ["run", "--rm", "--network", "none"] + (["--entrypoint", test["entrypoint"]] if test.get("entrypoint") else [])
            done = self.docker_run(argv + [refs[0]] + [str(arg) for arg in test["args"]], "docker run", allow_fail=True)
            output = (done.stdout + done.stderr).strip()
            problem = smoke_problem(test, done.returncode, output)
            if problem:
                self.remove()
                tail = " | ".join(output.splitlines()[-5:])
                raise ImageAssembleError(f"the image was built, and its smoke test failed: {problem}; it printed: "
                                         f"{tail or '(nothing)'}. The image was removed, so the next run builds it again")
            outputs.append({"args": test["args"], "output": (output.splitlines() or [""])[0]})
        image = built[0]
        return {"id": image["Id"], "size": image.get("Size", 0), "smoke": outputs,
                "msg": (f"Built {', '.join(refs)} ({image['Id'][7:19]}, {image.get('Size', 0) / 1048576:.1f} MiB, "
                        f"{layer['entries']} entries) from {self.layout['base']} in "
                        f"{time.monotonic() - self.started:.1f} s ({reason})"
                        + ("; smoke tests passed" if outputs else ""))}

    def remove(self) -> None:
        for ref in self.p["refs"]:
            self.docker_run(["image", "rm", ref], f"docker image rm {ref}", allow_fail=True)

    def finish(self, result: dict) -> dict:
        result["seconds"] = round(time.monotonic() - self.started, 1)
        return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = Assembly(module).run()
    except ImageAssembleError as exc:
        module.fail_json(msg=f"Image {module.params['name']} ({', '.join(module.params['refs'] or [])}): {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
