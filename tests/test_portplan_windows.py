"""Windows container instances: their dynamic range, reserved ports and PowerShell agent settings."""

from __future__ import annotations

from typing import Any

from portplan_builders import Stack, check, ids, ref, static_app

from constructs_lib.portplan import build_model
from constructs_lib.portplan.plan import build_plan

WINDOWS_AMI = "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-ECS_Optimized/image_id"


def windows(stack: Stack, *settings: tuple[str, str], iam_role: bool = False) -> Stack:
    """Turn the stack's group Windows: the ECS-optimized Windows AMI and PowerShell user data as CDK writes it."""
    stack.parameters["WindowsAmi"] = {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", "Default": WINDOWS_AMI}
    data = stack.props("AsgTemplate")["LaunchTemplateData"]
    data["ImageId"] = ref("WindowsAmi")
    lines: list[Any] = ['<powershell>Import-Module ECSTools\n[Environment]::SetEnvironmentVariable("ECS_CLUSTER", "']
    lines += [ref("Cluster"), '", "Machine")\n']
    lines += [f'[Environment]::SetEnvironmentVariable("{name}", "{value}", "Machine")\n' for name, value in settings]
    lines += ["Initialize-ECSAgent -Cluster '", ref("Cluster"), "'" + (" -EnableTaskIAMRole" if iam_role else "")]
    data["UserData"] = {"Fn::Base64": {"Fn::Join": ["", [*lines, "</powershell>"]]}}
    return stack


def test_windows_dynamic_range_is_49152_65535() -> None:
    # GIVEN a static port inside Linux's dynamic range but below Windows'
    stack = windows(static_app(tasks=1, instances=1, host_port=40000))
    assert check(stack) == []
    row = build_plan(build_model([stack.loaded()]))["clusters"][0]
    assert row["dynamic_range"] == [49152, 65535]
    # WHEN the port lies in Windows' range THEN it is the warning
    stack = windows(static_app(tasks=1, instances=1, host_port=50000))
    [finding] = check(stack)
    assert finding.rule == "static-port-in-dynamic-range" and "range 49152-65535" in finding.message


def test_powershell_settings_read_like_linux_ones() -> None:
    stack = windows(
        static_app(tasks=1, instances=1, host_port=50000), ("ECS_DYNAMIC_HOST_PORT_RANGE", "55000-65535")
    )
    assert check(stack) == []


def test_windows_reserved_ports() -> None:
    # GIVEN host port 3389 (Remote Desktop) on Windows, and 22 (SSH, reserved on Linux only)
    [finding] = check(windows(static_app(tasks=1, instances=1, host_port=3389)))
    assert finding.rule == "reserved-host-port"
    assert "reserves by default on Windows capacity Stack/Asg/ASG (Remote Desktop)" in finding.message
    assert check(windows(static_app(tasks=1, instances=1, host_port=22))) == []
    assert ids(check(static_app(tasks=1, instances=1, host_port=22))) == {("reserved-host-port", "Task")}


def test_task_iam_roles_reserve_port_80_on_windows() -> None:
    assert check(windows(static_app(tasks=1, instances=1, host_port=80))) == []
    [finding] = check(windows(static_app(tasks=1, instances=1, host_port=80), iam_role=True))
    assert "(the credential proxy of task IAM roles)" in finding.message


def test_windows_reserved_port_limit_counts_its_own_defaults() -> None:
    # Windows reserves 11 ports by default: 89 of a task's own fit, 90 do not
    def many(count: int) -> Stack:
        stack = Stack()
        stack.cluster()
        stack.capacity(min_size=1)
        stack.task("Task", [(p, p, "tcp") for p in range(10000, 10000 + count)])
        stack.service("Service", "Task", desired=1)
        return windows(stack)

    assert check(many(89)) == []
    [finding] = check(many(90))
    assert finding.rule == "reserved-port-limit" and "11 reserved by the agent by default" in finding.message


def test_windows_default_network_mode_in_the_plan() -> None:
    stack = windows(static_app(tasks=1, instances=1))
    stack.props("Task").pop("NetworkMode")
    service = build_plan(build_model([stack.loaded()]))["clusters"][0]["services"][0]
    assert service["network_mode"] == "default"
    assert build_plan(build_model([static_app().loaded()]))["clusters"][0]["services"][0]["network_mode"] == "bridge"
