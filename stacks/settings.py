"""The lab's context knobs: parsed strictly and checked in one place, before any construct is built.

A knob comes from ``cdk.json`` (a JSON value: number, string, list, boolean) or from
``-c name=value`` (always a string). Each knob accepts one form per JSON type and nothing
near it: integers are JSON integers or strings of ASCII digits (``\\d`` and ``int()`` would
also read ``٣`` as 3), with a bounded length (``int()`` refuses strings of more than 4,300
digits with a traceback); booleans, fractions and lists are refused; list items must be strings.
Every refusal is a ``SettingsError`` whose message is one line naming the knob, the value (cut
short and with control characters escaped) and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, FrozenSet, Iterable, Mapping, Optional

LABS = ("static", "dynamic")

#: Every ``lab:*`` knob the app reads, in the README's order. Any other ``lab:*`` name is a typo.
KNOBS = ("lab:instanceCount", "lab:instanceType", "lab:staticDesiredCount", "lab:dynamicDesiredCount", "lab:labs")
KNOB_PREFIX = "lab:"

#: An optional minus sign and ASCII digits: ``[0-9]``, not ``\d``, which matches every Unicode
#: digit. Nine digits bound the work and the message; every knob's range is far smaller.
_INTEGER = re.compile(r"-?[0-9]{1,9}")

#: EC2's naming: a family with a one- or two-digit generation, optional capability letters and
#: an optional ``-flex``-style suffix, then a size. This is also the form CDK's ``InstanceType``
#: parses to pick the AMI's architecture (types outside it, such as ``u-6tb1.metal``, make CDK
#: throw deep inside synth).
_INSTANCE_TYPE = re.compile(
    r"[a-z]+[0-9]{1,2}[a-z]*(?:-[a-z]+)?"
    r"\.(?:nano|micro|small|medium|large|xlarge|[1-9][0-9]{0,2}xlarge|metal(?:-[1-9][0-9]{0,2}xl)?)"
)
_INSTANCE_TYPE_MAX_CHARS = 32
_LABS_MAX_CHARS = 64
_SHOWN_MAX_CHARS = 40


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
    def from_app_context(cls, context: Mapping[str, Any]) -> "LabSettings":
        """Read the knobs from every context value (``app.node.get_all_context()``).

        Besides what ``from_context`` checks, an unknown ``lab:*`` name and a knob present with
        no value (JSON numbers too large to read arrive as null) are errors.
        """
        check_knob_names(context)
        for knob in KNOBS:
            if knob in context and context[knob] is None:
                raise SettingsError(
                    f"{knob} has no value (null, or a number too large to read); remove it or give it a value."
                )
        return cls.from_context(context.get)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> "LabSettings":
        """Read the knobs through ``get`` (``app.node.try_get_context``; None means unset)."""
        instance_count = _integer(get, "lab:instanceCount", 2, low=1, high=10)
        raw_type = get("lab:instanceType")
        instance_type = "t3.small" if raw_type is None else parse_instance_type(raw_type)
        static_count = _integer(
            get, "lab:staticDesiredCount", instance_count, low=0, high=instance_count,
            why=f"static host port 8080 fits one task per instance and lab:instanceCount is {instance_count}",
        )
        dynamic_count = _integer(get, "lab:dynamicDesiredCount", 4, low=0, high=50)
        labs = _labs(get("lab:labs"))
        return cls(instance_count, instance_type, static_count, dynamic_count, labs)


def check_knob_names(names: Iterable[str]) -> None:
    """Refuse a ``lab:*`` name the app does not read (a typo such as ``lab:instancecount``)."""
    for name in names:
        if not isinstance(name, str) or name[: len(KNOB_PREFIX)].lower() != KNOB_PREFIX or name in KNOBS:
            continue
        close = [knob for knob in KNOBS if knob.lower() == name.lower()]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SettingsError(f"unknown knob {_show(name)}{hint}; known knobs: {', '.join(KNOBS)}.")


def parse_instance_type(raw: object) -> str:
    """The one place ``lab:instanceType`` is judged: by form (lowercase ASCII, EC2's ``family.size``
    naming, at most 32 characters, which is also what CDK can read), then against the instance
    types the port plan's instance facts know (``constructs_lib.portplan.instance_types``)."""
    from constructs_lib.portplan.instance_types import instance_type, source

    allowed = "allowed: a lowercase EC2 instance type such as t3.small, m7i.large or t4g.medium"
    if not isinstance(raw, str) or len(raw) > _INSTANCE_TYPE_MAX_CHARS or not _INSTANCE_TYPE.fullmatch(raw):
        raise SettingsError(f"lab:instanceType={_show(raw)} is not an EC2 instance type; {allowed}.")
    if instance_type(raw) is None:
        raise SettingsError(
            f"lab:instanceType={_show(raw)} is not an EC2 instance type ECS can run on; {allowed} "
            f"(the known types: {source()})."
        )
    return raw


def parse_compliance(raw: object, packs: Collection[str]) -> Optional[str]:
    """The ``compliance`` knob: unset, or the name of one of ``packs``."""
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in packs:
        raise SettingsError(f"compliance={_show(raw)} is not a known pack; allowed: {', '.join(packs)}.")
    return raw


def _integer(
    get: Callable[[str], Any], knob: str, default: int, *, low: int, high: int, why: Optional[str] = None
) -> int:
    raw = get(knob)
    if raw is None:
        return default
    allowed = f"allowed: an integer from {low} to {high}" + (f" ({why})" if why else "")
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _INTEGER.fullmatch(raw):
        value = int(raw)
    else:
        raise SettingsError(f"{knob}={_show(raw)} is not an integer; {allowed}.")
    if not low <= value <= high:
        raise SettingsError(f"{knob}={_show(value)} is out of range; {allowed}.")
    return value


def _labs(raw: Any) -> FrozenSet[str]:
    if raw is None:
        return frozenset(LABS)
    if isinstance(raw, str) and len(raw) <= _LABS_MAX_CHARS:
        names: Optional[list] = [part.strip(" ") for part in raw.split(",")]
    elif isinstance(raw, list) and len(raw) <= len(LABS) and all(isinstance(item, str) for item in raw):
        names = [item.strip(" ") for item in raw]
    else:
        names = None
    if not names or any(name not in LABS for name in names) or len(set(names)) != len(names):
        raise SettingsError(
            f"lab:labs={_show(raw)} is not a list of labs; allowed: a comma-separated subset of "
            f"{', '.join(LABS)}, at least one, each once."
        )
    return frozenset(names)


def _show(value: object, depth: int = 0) -> str:
    """``value`` for a one-line message: short, and with control characters escaped (``repr``)."""
    if isinstance(value, str) and len(value) > _SHOWN_MAX_CHARS:
        return f"{value[:_SHOWN_MAX_CHARS // 2]!r}... ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, list):
        if depth >= 2:
            return "[...]"
        items = [_show(item, depth + 1) for item in value[:4]] + (["..."] if len(value) > 4 else [])
        return "[" + ", ".join(items) + "]"
    return f"<a JSON {'object' if isinstance(value, dict) else type(value).__name__}>"
