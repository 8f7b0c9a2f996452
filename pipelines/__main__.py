"""python -m pipelines: the pipelines' command line (see pipelines/__init__.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import gitops
from pipelines.tools import ROOT, PipelineError


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("gitops", help="validate the gitops repository's charts, stage by stage",
                                   description=gitops.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    validate.add_argument("--stage", action="append", choices=gitops.STAGES, dest="stages",
                          help="run only this stage (repeatable); default: all, dry-run only with --kube-context")
    validate.add_argument("--skip", action="append", choices=gitops.STAGES, default=[], help="leave a stage out")
    validate.add_argument("--base", default="HEAD", help="revision the manifest diff compares with (default: HEAD)")
    validate.add_argument("--helm-dir", type=Path, default=ROOT / "helm", help="the charts (default: helm/)")
    validate.add_argument("--kube-context", help="cluster of the server-side dry-run")
    crds = commands.add_parser("crds", help="install the CRDs the charts use (Argo Rollouts, VPA, Sealed Secrets) into a cluster")
    crds.add_argument("--kube-context", required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "crds":
            from pipelines import dry_run, kubeconform_schemas

            names = dry_run.install_crds(args.kube_context, kubeconform_schemas.crd_documents())
            print(f"installed {len(names)} CRDs into {args.kube_context}: {', '.join(names)}")
            return 0
        stages = [name for name in (args.stages or gitops.default_stages(args.kube_context)) if name not in args.skip]
        results = gitops.validate(stages, args.helm_dir.resolve(), args.base, args.kube_context)
    except PipelineError as error:
        print(f"gitops validation: {error}", file=sys.stderr)
        return 2
    failed = [result.name for result in results if not result.passed]
    print(f"gitops validation: {len(results) - len(failed)} of {len(results)} stages passed"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
