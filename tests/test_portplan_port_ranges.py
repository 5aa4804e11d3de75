"""invalid-port for containerPortRange: where ECS allows ranges, and whether the dynamic range holds them."""

from __future__ import annotations

from typing import Any

import pytest
from portplan_builders import Stack, check, ids

RULE = "invalid-port"


def ranged(*mappings: dict[str, Any], mode: str = "bridge", settings: tuple[str, ...] = ()) -> Stack:
    stack = Stack()
    stack.cluster()
    stack.capacity(settings=settings)
    stack.task("Task", containers=[{"Name": "web", "Image": "x", "Memory": 128, "PortMappings": list(mappings)}], mode=mode)
    stack.service("Service", "Task")
    return stack


def messages(stack: Stack) -> list[str]:
    return [f.message for f in check(stack) if f.rule == RULE]


@pytest.mark.parametrize("mode", ["bridge", "awsvpc"])
def test_ranges_in_bridge_and_awsvpc_are_fine(mode: str) -> None:
    assert check(ranged({"ContainerPortRange": "8000-8099"}, {"ContainerPort": 9000}, mode=mode)) == []


def test_ranges_in_host_mode_are_rejected() -> None:
    [message] = messages(ranged({"ContainerPortRange": "8000-8099"}, mode="host"))
    assert "maps a containerPortRange in host network mode, which only bridge and awsvpc allow" in message


def test_more_than_100_ranges_per_container() -> None:
    spans = [{"ContainerPortRange": f"{10000 + 2 * i}-{10001 + 2 * i}"} for i in range(101)]
    [message] = messages(ranged(*spans))
    assert "maps 101 containerPortRanges, more than the 100 ECS allows per container" in message
    assert messages(ranged(*spans[:100])) == []


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ({"ContainerPortRange": "9000-8000"}, "the first port must be below the last"),
        ({"ContainerPortRange": "8000-70000"}, "both within 1-65535"),
        ({"ContainerPortRange": "eight"}, "containerPortRange 'eight', which is not a range of port numbers"),
        ({"ContainerPortRange": "100-200", "HostPort": 150}, "with a hostPort, which ECS sets itself"),
    ],
)
def test_malformed_ranges(mapping: dict[str, Any], expected: str) -> None:
    [message] = messages(ranged(mapping))
    assert expected in message


def test_overlapping_mappings_of_one_container() -> None:
    [message] = messages(ranged({"ContainerPortRange": "100-200"}, {"ContainerPort": 150}))
    assert "maps port 150 in more than one of its mappings" in message


def test_a_range_set_at_deployment_is_no_error() -> None:
    stack = ranged({"ContainerPortRange": {"Ref": "Span"}})
    stack.parameters["Span"] = {"Type": "String"}
    assert messages(stack) == []


def test_bridge_ranges_must_fit_the_dynamic_range_in_force() -> None:
    # GIVEN 3000 ports of ranges and a dynamic range pinned to 2001 ports
    stack = ranged(
        {"ContainerPortRange": "10000-11999"},
        {"ContainerPortRange": "20000-20999"},
        settings=("ECS_DYNAMIC_HOST_PORT_RANGE=50000-52000",),
    )
    [message] = messages(stack)
    assert "need 3000 host ports, bound to contiguous ports of the dynamic range 50000-52000 in force" in message
    assert '"3000 contiguous host ports are unavailable"' in message
    # WHEN the range in force is Linux's default THEN they fit
    assert messages(ranged({"ContainerPortRange": "10000-11999"}, {"ContainerPortRange": "20000-20999"})) == []


def test_ranges_are_dynamic_host_ports_not_doubts() -> None:
    # bridge ranges used to make the task definition unverifiable; they are dynamic host ports
    assert ids(check(ranged({"ContainerPortRange": "8000-8099"}))) == set()
