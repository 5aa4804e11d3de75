"""The lab's context knobs: parsed and checked in one place, before any construct is built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, FrozenSet, Optional

LABS = ("static", "dynamic")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")


class SettingsError(ValueError):
    """A context knob has a value the lab cannot use; the message is one line."""


@dataclass(frozen=True)
class LabSettings:
    """What the workshop app builds.

    :param instance_count: instances in the cluster (``lab:instanceCount``, 1-10). Default: 2.
    :param instance_type: their EC2 type (``lab:instanceType``). Default: ``t3.small``.
    :param static_desired_count: tasks of the static 8080:80 service (``lab:staticDesiredCount``,
        0 to ``instance_count``: one per instance). Default: ``instance_count``.
    :param dynamic_desired_count: tasks of the dynamic 0:80 service (``lab:dynamicDesiredCount``,
        0-50). Default: 4.
    :param labs: which labs to deploy (``lab:labs``, comma-separated ``static``/``dynamic``).
        Default: both.
    """

    instance_count: int = 2
    instance_type: str = "t3.small"
    static_desired_count: int = 2
    dynamic_desired_count: int = 4
    labs: FrozenSet[str] = frozenset(LABS)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> "LabSettings":
        """Read the knobs through ``get`` (``app.node.try_get_context``); raise SettingsError."""
        instance_count = _integer(get, "lab:instanceCount", 2, low=1, high=10)
        instance_type = get("lab:instanceType")
        instance_type = "t3.small" if instance_type is None else str(instance_type).strip()
        if not _INSTANCE_TYPE.match(instance_type):
            raise SettingsError(
                f"lab:instanceType={instance_type!r} is not an EC2 instance type; "
                "allowed: a type such as t3.small, m7i.large or t4g.medium."
            )
        static_count = _integer(
            get, "lab:staticDesiredCount", instance_count, low=0, high=instance_count,
            why=f"static host port 8080 fits one task per instance and lab:instanceCount is {instance_count}",
        )
        dynamic_count = _integer(get, "lab:dynamicDesiredCount", 4, low=0, high=50)
        labs = _labs(get("lab:labs"))
        return cls(instance_count, instance_type, static_count, dynamic_count, labs)


def _integer(
    get: Callable[[str], Any], knob: str, default: int, *, low: int, high: int, why: Optional[str] = None
) -> int:
    raw = get(knob)
    if raw is None:
        return default
    text = str(raw).strip()
    allowed = f"allowed: an integer from {low} to {high}" + (f" ({why})" if why else "")
    if isinstance(raw, bool) or not re.fullmatch(r"-?\d+", text):
        raise SettingsError(f"{knob}={raw!r} is not an integer; {allowed}.")
    value = int(text)
    if not low <= value <= high:
        raise SettingsError(f"{knob}={value} is out of range; {allowed}.")
    return value


def _labs(raw: Any) -> FrozenSet[str]:
    if raw is None:
        return frozenset(LABS)
    names = [part.strip() for part in (raw if isinstance(raw, list) else str(raw).split(","))]
    names = [str(name) for name in names if name]
    unknown = sorted(set(names) - set(LABS))
    if unknown or not names:
        raise SettingsError(
            f"lab:labs={raw!r} is not a list of labs; allowed: a comma-separated subset of "
            f"{', '.join(LABS)}, at least one."
        )
    return frozenset(names)
