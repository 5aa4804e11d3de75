"""How ECS counts a rolling deployment's bounds: shared by the rules and the constructs' defaults.

ECS rounds minimumHealthyPercent of the desired count *up* and maximumPercent *down*.
"""

from __future__ import annotations


def healthy_floor(desired: int, minimum_healthy_percent: int) -> int:
    """Tasks that must stay running during a rollout: ceil(desired x minimum / 100)."""
    return -(-desired * minimum_healthy_percent // 100)


def task_ceiling(desired: int, maximum_percent: int) -> int:
    """Tasks that may run at once during a rollout: floor(desired x maximum / 100)."""
    return desired * maximum_percent // 100


def stop_first_percent(desired: int) -> int:
    """The largest minimumHealthyPercent that still lets one of ``desired`` tasks stop first."""
    return (desired - 1) * 100 // desired if desired > 1 else 0
