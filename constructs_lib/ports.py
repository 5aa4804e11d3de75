"""Port settings that travel together: a container's port mapping and a host port range.

Plain Python (no ``aws_cdk`` import), shared by the constructs and their validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

Protocol = Literal["tcp", "udp"]

#: A whole number, or a CDK number token (a float standing for a deploy-time value, such as
#: ``CfnParameter(...).value_as_number``).
Number = Union[int, float]

#: Linux's default ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``), where dynamic host
#: ports come from unless the agent's ``ECS_DYNAMIC_HOST_PORT_RANGE`` pins another.
LINUX_DYNAMIC_PORT_RANGE = (32768, 60999)

#: The agent's default ``ECS_RESERVED_PORTS`` on Linux, counted toward its limit of 100 reserved ports.
AGENT_DEFAULT_RESERVED_PORTS = (22, 2375, 2376, 51678, 51679)

#: Windows' dynamic (ephemeral) port range, which the agent uses on Windows container instances
#: unless ``ECS_DYNAMIC_HOST_PORT_RANGE`` pins another (amazon-ecs-agent,
#: agent/utils/ephemeral_ports_windows.go).
WINDOWS_DYNAMIC_PORT_RANGE = (49152, 65535)

#: The agent's default reserved tcp ports on Windows (amazon-ecs-agent, agent/config/config_windows.go),
#: and what holds each; with task IAM roles on, the credential proxy holds 80 as well.
WINDOWS_AGENT_RESERVED_PORTS = {
    53: "DNS",
    135: "RPC",
    139: "NetBIOS",
    445: "SMB",
    2375: "the Docker daemon",
    2376: "the Docker daemon (TLS)",
    3389: "Remote Desktop",
    5985: "WinRM (HTTP)",
    5986: "WinRM (HTTPS)",
    51678: "the ECS agent's introspection API",
    51679: "the ECS agent's credentials endpoint",
}
WINDOWS_TASK_IAM_ROLE_PORT = 80

#: Every host port a Linux container instance never hands to a task, and what holds it
#: (51680 only when the agent's Prometheus metrics are on).
AGENT_RESERVED_PORTS = {
    22: "SSH",
    2375: "the Docker daemon",
    2376: "the Docker daemon (TLS)",
    51678: "the ECS agent's introspection API",
    51679: "the ECS agent's credentials endpoint",
    51680: "the ECS agent's Prometheus metrics",
}


@dataclass(frozen=True)
class PortRange:
    """An inclusive range of host ports, such as the agent's dynamic host port range.

    :param low: first port of the range. Constraint: 1-65535.
    :param high: last port of the range. Constraint: ``low`` <= ``high`` <= 65535.
    """

    low: int
    high: int

    def __post_init__(self) -> None:
        if not (1 <= self.low <= self.high <= 65535):
            raise ValueError(
                f"PortRange {self.low}-{self.high} is invalid: need 1 <= low <= high <= 65535."
            )

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"

    @property
    def size(self) -> int:
        """How many ports the range holds."""
        return self.high - self.low + 1


DEFAULT_DYNAMIC_PORT_RANGE = PortRange(*LINUX_DYNAMIC_PORT_RANGE)


def is_token(value: object) -> bool:
    """True when ``value`` is a CDK token: a value known only at deploy time.

    Whole numbers never are, so literal ports cost nothing and this module stays free of the
    jsii runtime for the port plan; anything else is asked of ``aws_cdk``'s ``Token``.
    """
    if value is None or isinstance(value, (bool, int)):
        return False
    if not isinstance(value, (float, str)):
        return False
    from aws_cdk import Token  # deferred: only a construct ever holds a float or string here

    return bool(Token.is_unresolved(value))


def describe(value: object) -> str:
    """``value`` for a message: a token reads as what it is, not as its encoded placeholder."""
    return "a deploy-time value (token)" if is_token(value) else str(value)


@dataclass(frozen=True)
class PortMapping:
    """A container port published on the instance in bridge network mode.

    :param container_port: the port the container listens on. Constraint: 1-65535, or a token
        (e.g. ``CfnParameter(...).value_as_number``). A token is accepted: the container port
        only names what the balancer forwards to; whether tasks fit is decided by the host port,
        so nothing this library decides at synth depends on its value. Its range is then
        checked by ECS at deploy and reported as ``unverifiable`` by the port plan.
    :param host_port: the instance port. Default: - ``None``, a dynamic port the agent picks
        from the instance's dynamic range (same as ``0``). A fixed port is a *static* mapping:
        only one task holding it fits on an instance. Constraint: 0-65535, and not a token.
        A token is rejected: whether the mapping is static or dynamic decides, at synth, the
        service's rollout percentages, the balancer's ingress (one port or the whole dynamic
        range) and how many tasks fit, and a deploy-time value could be 0 (dynamic) or any
        port; aws-cdk would open only ``tcp(token)``, which is wrong when it resolves to 0.
    :param protocol: ``"tcp"`` or ``"udp"``. Default: ``"tcp"``. Constraint: not a token; it
        decides the security-group rules and whether a balancer can reach the port.
    """

    container_port: Number
    host_port: int | None = None
    protocol: Protocol = "tcp"

    def __post_init__(self) -> None:
        if not is_token(self.container_port):
            _check_port("container_port", self.container_port, low=1, allowed="1-65535")
        if is_token(self.host_port):
            raise ValueError(
                "PortMapping host_port is a deploy-time value (a token), but whether the mapping is "
                "static or dynamic must be known at synth (rollout percentages, the balancer's ingress, "
                "how many tasks fit): pass the port number, or leave host_port out for a dynamic mapping."
            )
        if self.host_port is not None:
            _check_port(
                "host_port", self.host_port, low=0, allowed="0-65535 (0 or None means dynamic)"
            )
        if is_token(self.protocol):
            raise ValueError(
                "PortMapping protocol is a deploy-time value (a token), but the security-group rules "
                "are written at synth: pass 'tcp' or 'udp'."
            )
        if self.protocol not in ("tcp", "udp"):
            raise ValueError(f"PortMapping protocol {self.protocol!r} must be 'tcp' or 'udp'.")

    @property
    def is_static(self) -> bool:
        """True when the mapping holds a fixed host port."""
        return bool(self.host_port)

    def __str__(self) -> str:
        host = self.host_port if self.is_static else 0
        container = "<token>" if is_token(self.container_port) else self.container_port
        return f"{host}:{container}/{self.protocol}"


def _check_port(name: str, value: object, *, low: int, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"PortMapping {name} {value!r} is not a whole number; allowed: {allowed}.")
    if not low <= value <= 65535:
        raise ValueError(f"PortMapping {name} {value} is outside {allowed}.")
