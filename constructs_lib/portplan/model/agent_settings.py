"""What a launch template's (or launch configuration's) user data tells the ECS agent.

The agent reads /etc/ecs/ecs.config; user data writes it (`echo ECS_CLUSTER=... >> /etc/ecs/ecs.config`).
The settings read here: ECS_CLUSTER, ECS_DYNAMIC_HOST_PORT_RANGE, ECS_RESERVED_PORTS(_UDP).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, NamedTuple

from ..intrinsics import Resolver, ResourceRef, Unknown, as_int
from .entities import DEFAULT_DYNAMIC_RANGE

_AGENT_SETTING = re.compile(
    r"(?<![A-Za-z0-9_])(ECS_CLUSTER|ECS_DYNAMIC_HOST_PORT_RANGE|ECS_RESERVED_PORTS_UDP|ECS_RESERVED_PORTS)"
    r"=[\"']?(\[[^\]]*\]|[^\s\"'>;|&]*)"
)
_TOKEN = re.compile("\x00(\\d+)\x00")


class AgentSettings(NamedTuple):
    """What user data tells the ECS agent: the cluster to join, the dynamic range, extra reserved ports."""

    cluster: ResourceRef | str | Unknown | None
    dynamic_range: tuple[int, int] | Unknown
    reserved_tcp: tuple[int, ...] | Unknown
    reserved_udp: tuple[int, ...] | Unknown


def agent_settings(resolver: Resolver, user_data: Any) -> AgentSettings:
    """Read the ECS agent settings a launch template's user data writes (ecs.config lines)."""
    if user_data is None:
        return AgentSettings(None, DEFAULT_DYNAMIC_RANGE, (), ())
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
    settings = {name: value for name, value in _AGENT_SETTING.findall("".join(chunks))}
    cluster = _detokenized(settings["ECS_CLUSTER"], tokens, "ECS_CLUSTER") if "ECS_CLUSTER" in settings else None
    return AgentSettings(
        cluster=cluster,
        dynamic_range=_port_range(settings.get("ECS_DYNAMIC_HOST_PORT_RANGE"), tokens),
        reserved_tcp=_port_list(settings.get("ECS_RESERVED_PORTS"), tokens, "ECS_RESERVED_PORTS"),
        reserved_udp=_port_list(settings.get("ECS_RESERVED_PORTS_UDP"), tokens, "ECS_RESERVED_PORTS_UDP"),
    )


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


def _port_range(value: str | None, tokens: list[ResourceRef | Unknown]) -> tuple[int, int] | Unknown:
    if value is None:
        return DEFAULT_DYNAMIC_RANGE
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
