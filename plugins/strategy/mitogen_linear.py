# -*- coding: utf-8 -*-
"""The strategy ansible.cfg selects: Ansible's linear strategy run by Mitogen.

Mitogen (the `mitogen` package pinned in requirements.txt) keeps one Python
interpreter per host for the whole playbook run and sends it each task's
module, instead of starting a new interpreter (and copying the module) for
every task. The plays, the order of tasks and their results are those of the
linear strategy; a no-op site.yml runs in a little over half the time
(bench/results.md: 37 s instead of 69 s).

Connections Mitogen replaces: ssh (production) and docker (the sandbox);
any other connection runs as stock Ansible would.

Stock Ansible, no Mitogen: ANSIBLE_STRATEGY=linear ansible-playbook ...
(the molecule scenarios and one end-to-end test run that way).
"""

from __future__ import annotations

from ansible.errors import AnsibleError

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError as error:  # pragma: no cover - depends on the controller's packages
    raise AnsibleError(
        f"the strategy mitogen_linear (ansible.cfg) needs the mitogen package ({error}): install the "
        "controller's tools with `make venv` (or pip install -r requirements.txt), or run stock Ansible "
        "with ANSIBLE_STRATEGY=linear"
    ) from error

__all__ = ["StrategyModule"]

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    """Linear, with Mitogen's connections and module runner."""
