# -*- coding: utf-8 -*-
"""The linear strategy, run through Mitogen when it is installed (it is pinned in requirements.txt).

Every task of a local play otherwise forks a worker and starts a new Python for its module: about 0.3 s
a task on a 2-core machine, which a no-op site.yml (some 300 tasks) spends mostly on overhead. Mitogen
keeps one interpreter and runs the modules in it, several times faster. Without Mitogen (an Ansible
installed without the project's requirements), this is plain `linear`, so playbooks run unchanged.
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
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError:  # Mitogen is optional: fall back to the built-in strategy.
    from ansible.plugins.strategy import linear

    StrategyModule = linear.StrategyModule
else:

    class StrategyModule(
        ansible_mitogen.strategy.StrategyMixin,
        ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True),
    ):
        """Linear, with modules executed by Mitogen."""
