# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
name: settings
short_description: Every variable whose name matches a pattern, with its value, for a fingerprint of a run's settings
description:
  - Returns one dictionary of every variable in scope whose name matches one of the regular expressions given as
    terms (anchored at the start, as M(ansible.builtin.varnames) matches), with its templated value.
  - A variable that cannot be templated here (an inventory setting built from a role default, which only exists
    inside the role) keeps its raw text, so the dictionary is always complete; the text is part of the setting.
  - Names matching O(exclude) are left out.
version_added: "0.4.0"
author: gitops platform maintainers (!UNKNOWN)
options:
  _terms:
    description: Regular expressions of variable names.
    required: true
    type: list
    elements: str
  exclude:
    description: Regular expression of names to leave out; empty leaves none out.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Hash the platform's settings, -e overrides included
  ansible.builtin.debug:
    msg: "{{ lookup('gitops.platform.settings', '^platform_', '^argocd_', exclude='^platform_started_at$')
      | to_json(sort_keys=true) | hash('sha256') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary, variable name to value.
  type: list
  elements: dict
"""

import re

from ansible.errors import AnsibleError, AnsibleUndefinedVariable
from ansible.plugins.lookup import LookupBase


def matching(names, patterns, exclude=""):
    """The names that match one of `patterns` (at their start) and not `exclude`, sorted."""
    compiled = [re.compile(pattern) for pattern in patterns]
    skip = re.compile(exclude) if exclude else None
    return sorted(name for name in names
                  if any(pattern.match(name) for pattern in compiled) and not (skip and skip.match(name)))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        out = {}
        for name in matching(variables, terms, self.get_option("exclude")):
            raw = variables[name]
            try:
                out[name] = self._templar.template(raw)
            except (AnsibleUndefinedVariable, AnsibleError):
                out[name] = str(raw)
        return [out]
