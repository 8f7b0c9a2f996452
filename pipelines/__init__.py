"""The seed's two CI pipelines as commands that run here, online or offline; the workflows only call them.

    python -m pipelines gitops [--stage NAME ...] [--base REV] [--kube-context CONTEXT]

The gitops repository's validation (pipelines/gitops.py): helm lint --strict of every release, the rendered
manifests, yamllint, kubeconform (strict, the pinned Kubernetes' schemas and the CRDs the charts use), kube-score,
the security rules (pipelines/rules.py), a manifest diff against a base revision and a server-side dry-run on a
cluster. The app's pipeline is a chain of make targets (`make app-lint app-test app-image app-e2e app-promote`).
"""
