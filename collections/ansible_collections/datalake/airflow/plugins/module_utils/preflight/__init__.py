# -*- coding: utf-8 -*-
"""Every preflight rule, registered in core.RULES by importing its module.

One module per role's settings (the rule's `role`); core.run() runs those
of a phase. README: "The preflight".
"""

from . import (cluster, connections, firewall, hostroles, housekeeping, image, network, stack, storage,  # noqa: F401
               tls, tree, users)
from .core import RULES, Cluster, Host, Problem, run  # noqa: F401
