"""What a launch template's (or launch configuration's) user data tells the ECS agent.

On Linux the agent reads /etc/ecs/ecs.config, which user data writes
(`echo ECS_CLUSTER=... >> /etc/ecs/ecs.config`); on Windows it reads machine environment
variables, which PowerShell user data sets
(`[Environment]::SetEnvironmentVariable("ECS_CLUSTER", "...", "Machine")`) before
`Initialize-ECSAgent -Cluster ...` starts it. Both spellings are read alike. The settings read
here: ECS_CLUSTER, ECS_DYNAMIC_HOST_PORT_RANGE, ECS_RESERVED_PORTS(_UDP), ECS_INSTANCE_ATTRIBUTES
and ECS_ENABLE_TASK_IAM_ROLE (on Windows the credential proxy then holds port 80).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ...ports import WINDOWS_DYNAMIC_PORT_RANGE
from ..intrinsics import Resolver, ResourceRef, Unknown, as_int
from .cluster_query import symbol
from .entities import DEFAULT_DYNAMIC_RANGE

_AGENT_SETTING = re.compile(
    r"(?<![A-Za-z0-9_])(ECS_CLUSTER|ECS_DYNAMIC_HOST_PORT_RANGE|ECS_RESERVED_PORTS_UDP|ECS_RESERVED_PORTS"
    r"|ECS_ENABLE_TASK_IAM_ROLE)"
    r"=[\"']?(\[[^\]]*\]|[^\s\"'>;|&]*)"
)
_ATTRIBUTES = re.compile(r"(?<![A-Za-z0-9_])ECS_INSTANCE_ATTRIBUTES=[\"']?(\{[^}]*\})")
# PowerShell: [Environment]::SetEnvironmentVariable("ECS_CLUSTER", "name", "Machine"), either quote.
_POWERSHELL_SETTING = re.compile(
    r"SetEnvironmentVariable\(\s*([\"'])(ECS_[A-Z_]+)\1\s*,\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE
)
_INITIALIZE = re.compile(r"Initialize-ECSAgent\b([^\n<]*)", re.IGNORECASE)
_INITIALIZE_CLUSTER = re.compile(r"-Cluster\s+(?:\"([^\"]*)\"|'([^']*)'|([^\s'\"]+))", re.IGNORECASE)
# EC2Launch and EC2Config run user data between these tags on Windows only.
_WINDOWS_USER_DATA = re.compile(r"<(powershell|script)>", re.IGNORECASE)
_TOKEN = re.compile("\x00(\\d+)\x00")


class AgentSettings(NamedTuple):
    """What user data tells the ECS agent: the cluster to join, the dynamic range, extra reserved ports,
    the custom attributes it registers, whether the user data is Windows', and whether task IAM roles
    are on (ECS_ENABLE_TASK_IAM_ROLE, or Initialize-ECSAgent -EnableTaskIAMRole)."""

    cluster: ResourceRef | str | Unknown | None
    dynamic_range: tuple[int, int] | Unknown
    reserved_tcp: tuple[int, ...] | Unknown
    reserved_udp: tuple[int, ...] | Unknown
    attributes: Mapping[str, str] | Unknown = {}
    windows: bool = False
    task_iam_role: bool = False


def agent_settings(resolver: Resolver, user_data: Any, windows: bool = False) -> AgentSettings:
    """Read the ECS agent settings a launch template's user data writes (ecs.config lines, or PowerShell
    environment variables); `windows` says the AMI is a Windows one, whose dynamic range is Windows'."""
    if user_data is None:
        return AgentSettings(None, _default_range(windows), (), (), windows=windows)
    if isinstance(user_data, str):
        user_data = _decoded(user_data)  # a literal UserData is already base64-encoded
    parts = resolver.parts(user_data)
    if len(parts) == 1 and isinstance(parts[0], Unknown):
        unknown = Unknown(f"the user data is unknown ({parts[0].reason})")
        return AgentSettings(unknown, unknown, (), ())
    tokens: list[ResourceRef | Unknown] = []
    chunks = []
    for part in parts:
        if isinstance(part, str):
            chunks.append(part)
        else:
            chunks.append(f"\x00{len(tokens)}\x00")
            tokens.append(part)
    text = "".join(chunks)
    settings = {name: value for name, value in _AGENT_SETTING.findall(text)}
    windows = windows or _WINDOWS_USER_DATA.search(text) is not None
    attributes = [match.group(1) for match in _ATTRIBUTES.finditer(text)]
    task_iam_role = False
    if windows:
        for match in _POWERSHELL_SETTING.finditer(text):
            value = match.group(3) if match.group(3) is not None else match.group(4)
            if match.group(2).upper() == "ECS_INSTANCE_ATTRIBUTES":
                attributes.append(value)
            else:
                settings[match.group(2).upper()] = value
        for match in _INITIALIZE.finditer(text):
            named = _INITIALIZE_CLUSTER.search(match.group(1))
            if named is not None:
                settings["ECS_CLUSTER"] = next(g for g in named.groups() if g is not None)
            task_iam_role = task_iam_role or "-enabletaskiamrole" in match.group(1).lower()
    task_iam_role = task_iam_role or settings.get("ECS_ENABLE_TASK_IAM_ROLE", "").lower() == "true"
    cluster = _detokenized(settings["ECS_CLUSTER"], tokens, "ECS_CLUSTER") if "ECS_CLUSTER" in settings else None
    return AgentSettings(
        cluster=cluster,
        dynamic_range=_port_range(settings.get("ECS_DYNAMIC_HOST_PORT_RANGE"), tokens, _default_range(windows)),
        reserved_tcp=_port_list(settings.get("ECS_RESERVED_PORTS"), tokens, "ECS_RESERVED_PORTS"),
        reserved_udp=_port_list(settings.get("ECS_RESERVED_PORTS_UDP"), tokens, "ECS_RESERVED_PORTS_UDP"),
        attributes=_attributes(attributes, tokens),
        windows=windows,
        task_iam_role=task_iam_role,
    )


def _default_range(windows: bool) -> tuple[int, int]:
    """The dynamic range when ECS_DYNAMIC_HOST_PORT_RANGE is unset: the agent falls back to the OS's
    ephemeral range, 49152-65535 on Windows (amazon-ecs-agent, agent/utils/ephemeral_ports_windows.go)."""
    return WINDOWS_DYNAMIC_PORT_RANGE if windows else DEFAULT_DYNAMIC_RANGE


def _decoded(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return text


def _detokenized(value: str, tokens: list[ResourceRef | Unknown], setting: str) -> ResourceRef | str | Unknown:
    if "\x00" not in value:
        return value
    match = _TOKEN.fullmatch(value)
    if match:
        return tokens[int(match.group(1))]
    return Unknown(f"{setting} is assembled from values known only at deployment")


def _attributes(values: list[str], tokens: list[ResourceRef | Unknown]) -> Mapping[str, str] | Unknown:
    """ECS_INSTANCE_ATTRIBUTES, a JSON object of names to values; values set at deployment become
    symbols (see cluster_query.symbol), so an expression built from the same value still matches."""
    found: dict[str, str] = {}
    for value in values:
        try:
            document = json.loads(value.replace('\\"', '"'), strict=False)
        except ValueError:
            return Unknown(f"ECS_INSTANCE_ATTRIBUTES={value} is not a JSON object")
        if not isinstance(document, dict):
            return Unknown(f"ECS_INSTANCE_ATTRIBUTES={value} is not a JSON object")
        for name, item in document.items():
            if "\x00" in name or not isinstance(item, str):
                return Unknown("ECS_INSTANCE_ATTRIBUTES names an attribute only known at deployment")
            found[name] = _TOKEN.sub(lambda m: symbol(tokens[int(m.group(1))]), item)
    return found


def _port_range(
    value: str | None, tokens: list[ResourceRef | Unknown], default: tuple[int, int] = DEFAULT_DYNAMIC_RANGE
) -> tuple[int, int] | Unknown:
    if value is None:
        return default
    text = _detokenized(value, tokens, "ECS_DYNAMIC_HOST_PORT_RANGE")
    if not isinstance(text, str):
        return text if isinstance(text, Unknown) else Unknown("ECS_DYNAMIC_HOST_PORT_RANGE is set at deployment")
    low, _, high = text.partition("-")
    low_port, high_port = as_int(low), as_int(high)
    if isinstance(low_port, int) and isinstance(high_port, int) and 1 <= low_port <= high_port <= 65535:
        return (low_port, high_port)
    return Unknown(f"ECS_DYNAMIC_HOST_PORT_RANGE={text} is not a port range")


def _port_list(value: str | None, tokens: list[ResourceRef | Unknown], setting: str) -> tuple[int, ...] | Unknown:
    if value is None:
        return ()
    if "\x00" in value or not value.startswith("["):
        return Unknown(f"{setting} is not a list of port numbers")
    ports = []
    for item in value.strip("[]").split(","):
        if not item.strip():
            continue
        port = as_int(item.strip().strip("\"'"))
        if not isinstance(port, int):
            return Unknown(f"{setting}={value} is not a list of port numbers")
        ports.append(port)
    return tuple(ports)
