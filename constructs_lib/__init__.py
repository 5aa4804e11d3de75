"""ECS on EC2 in bridge network mode: constructs, and a port plan checked at synth.

Importing this package is cheap: every public name loads on first use (PEP 562), so the
constructs and the CDK plugin (which start the jsii runtime through ``aws_cdk``) cost nothing
to ``python -m constructs_lib`` and the port-plan core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "PortMapping": "constructs_lib.ports",
    "PortRange": "constructs_lib.ports",
    "BridgeVpc": "constructs_lib.vpc",
    "BridgeCluster": "constructs_lib.cluster",
    "BridgeTaskDefinition": "constructs_lib.task_definition",
    "BridgeService": "constructs_lib.service",
    "LoadBalancedBridgeService": "constructs_lib.load_balanced_service",
    "PortPlanChecks": "constructs_lib.plugin",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:
    from constructs_lib.cluster import BridgeCluster
    from constructs_lib.load_balanced_service import LoadBalancedBridgeService
    from constructs_lib.plugin import PortPlanChecks
    from constructs_lib.ports import PortMapping, PortRange
    from constructs_lib.service import BridgeService
    from constructs_lib.task_definition import BridgeTaskDefinition
    from constructs_lib.vpc import BridgeVpc


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'constructs_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
