"""memberOf expressions in ECS's cluster query language, decided per Auto Scaling group."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from portplan_builders import Stack

from constructs_lib.portplan import Unknown, build_model
from constructs_lib.portplan.model import AutoScalingGroup
from constructs_lib.portplan.model.cluster_query import QueryError, member_of, parse, symbol


def group(**changes: Any) -> AutoScalingGroup:
    """A one-type Linux group (t3.small, in us-east-1a) with the given fields changed."""
    stack = Stack()
    stack.cluster()
    stack.capacity()
    found = build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]
    base = {"instance_types": ("t3.small",), "availability_zones": ("us-east-1a",), "attributes": {"tier": "web"}}
    return dataclasses.replace(found, **{**base, **changes})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute:ecs.instance-type == t3.small", True),
        ("attribute:ecs.instance-type equals t3.large", False),
        ("attribute:ecs.instance-type != t3.large", True),
        ("attribute:ecs.instance-type =~ t3\\..*", True),
        ("attribute:ecs.instance-type matches m5.*", False),
        ("attribute:ecs.instance-type !~ t3.*", False),
        ("attribute:ecs.instance-type in [t3.small, t3.medium]", True),
        ("attribute:ecs.instance-type not_in [t3.small]", False),
        ("attribute:ecs.cpu-architecture == x86_64", True),
        ("attribute:ecs.cpu-architecture == arm64", False),
        ("attribute:ecs.os-type == linux", True),
        ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", True),
        ("attribute:tier == web", True),
        ("attribute:tier exists", True),
        ("attribute:ecs.os-type == windows or attribute:tier == web", True),
        ("attribute:ecs.os-type == windows || attribute:tier == api", False),
        ("not (attribute:ecs.os-type == windows) && attribute:tier == web", True),
        ("!(attribute:ecs.instance-type == t3.small)", False),
    ],
)
def test_expressions_on_what_the_templates_tell(expression: str, expected: bool) -> None:
    assert member_of(expression, group()) is expected


def test_graviton_types_are_arm64() -> None:
    assert member_of("attribute:ecs.cpu-architecture == arm64", group(instance_types=("t4g.small",))) is True


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("agentVersion >= 1.70.0", "agentVersion is known only when the instances run"),
        ("task:group == service:web", "task:group is known only when the instances run"),
        ("attribute:ecs.ami-id == ami-1", "attribute ecs.ami-id is not one the templates tell"),
        ("attribute:team == blue", "custom attribute team is not set by the instances' user data"),
        ("attribute:ecs.instance-type > t3", "ordering comparisons"),
        ("attribute:ecs.instance-type ==", "cannot be read"),
        ("(attribute:ecs.instance-type == t3.small", "cannot be read"),
    ],
)
def test_what_cannot_be_decided_is_unknown_naming_the_expression(expression: str, named: str) -> None:
    verdict = member_of(expression, group())
    assert isinstance(verdict, Unknown)
    assert named in verdict.reason
    assert "memberOf expression" in verdict.reason


def test_false_decides_an_and_true_an_or_despite_unknowns() -> None:
    assert member_of("agentVersion >= 1 and attribute:ecs.os-type == windows", group()) is False
    assert member_of("agentVersion >= 1 or attribute:ecs.os-type == linux", group()) is True


def test_mixed_instance_types_decide_only_when_all_agree() -> None:
    mixed = group(instance_types=("t3.small", "m5.large"))
    assert member_of("attribute:ecs.instance-type in [t3.small, m5.large]", mixed) is True
    assert member_of("attribute:ecs.cpu-architecture == arm64", mixed) is False
    verdict = member_of("attribute:ecs.instance-type == t3.small", mixed)
    assert isinstance(verdict, Unknown) and "some instances" in verdict.reason


def test_zones_the_template_does_not_name_are_unknown_only_when_asked() -> None:
    unnamed = group(availability_zones=Unknown("the template does not name them"))
    assert isinstance(member_of("attribute:ecs.availability-zone == us-east-1a", unnamed), Unknown)
    assert member_of("attribute:ecs.instance-type == t3.small", unnamed) is True


def test_deploy_time_values_compare_as_symbols() -> None:
    # GIVEN the user data sets the attribute from a parameter, and the expression compares it with the same one
    option = Unknown("parameter Option of T is set at deployment")
    other = Unknown("parameter Other of T is set at deployment")
    tagged = group(attributes={"purchase": symbol(option)})
    # THEN the same value matches, another cannot be decided, and messages show no raw symbol
    assert member_of(f"attribute:purchase == {symbol(option)}", tagged) is True
    assert member_of(f"attribute:purchase != {symbol(option)}", tagged) is False
    verdict = member_of(f"attribute:purchase == {symbol(other)}", tagged)
    assert isinstance(verdict, Unknown) and "\x00" not in verdict.reason and "${...}" in verdict.reason


def test_parse_errors() -> None:
    for text in ("", "attribute:a", "attribute:a in a", "attribute:a in [a b]", "attribute:a == b extra"):
        with pytest.raises(QueryError):
            parse(text)
