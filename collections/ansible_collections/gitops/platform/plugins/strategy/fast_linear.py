# -*- coding: utf-8 -*-
"""The linear strategy, run through Mitogen when it is installed (it is pinned in requirements.txt).

Every task of a local play otherwise forks a worker and starts a new Python for its module: about 0.3 s
a task on a 2-core machine, which a no-op site.yml (some 300 tasks) spends mostly on overhead. Mitogen
keeps one interpreter and runs the modules in it, several times faster. Without Mitogen (an Ansible
installed without the project's requirements), this is plain `linear`, so playbooks run unchanged.

Mitogen's CPU affinity policy is switched off. It keeps one CPU (2-3 CPUs) or two (4 and more) for its own
processes and confines every process a task starts to the others, for good: on this project's 2-CPU machine that
was one CPU for the Docker daemon that site.yml starts, so for every container and kind node after it, and for
every `go build`.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: fast_linear
short_description: Ansible's linear strategy, accelerated by Mitogen when it is installed
description:
  - Runs tasks exactly like C(ansible.builtin.linear).
  - When the C(mitogen) package is importable, module execution goes through Mitogen's persistent interpreters.
  - Otherwise it is C(ansible.builtin.linear) itself.
author: gitops platform maintainers (!UNKNOWN)
"""

try:
    import ansible_mitogen.affinity
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError:  # Mitogen is optional: fall back to the built-in strategy.
    from ansible.plugins.strategy import linear

    StrategyModule = linear.StrategyModule
else:
    # The base Policy assigns nothing: every process keeps the CPUs it was started with.
    ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

    class StrategyModule(
        ansible_mitogen.strategy.StrategyMixin,
        ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True),
    ):
        """Linear, with modules executed by Mitogen."""
