# -*- coding: utf-8 -*-
"""Every preflight rule, registered in core.RULES by importing its module.

One module per role's settings (the rule's `role`); core.run() runs those
of a phase. README: "The preflight".
"""

<<<<<<< HEAD
from . import cluster, firewall, hostroles, housekeeping, image, network, stack, storage, tls, tree, users  # noqa: F401
=======
from . import cluster, connections, firewall, hostroles, housekeeping, image, network, stack, tls, tree, users  # noqa: F401
>>>>>>> objects
from .core import RULES, Cluster, Host, Problem, run  # noqa: F401
