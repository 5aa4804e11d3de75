"""What a task asks of a container instance, and what an instance offers ECS: CPU, memory, ENIs.

A task asks (as ECS's scheduler reserves it on EC2):
- CPU units: the task-level Cpu when given, else the sum of its containers' Cpu (a container
  without one reserves none);
- memory (MiB): the task-level Memory when given, else the sum over its containers of
  MemoryReservation (the soft limit) when given, else Memory (the hard limit);
- one ENI when its network mode is awsvpc (bridge, host and none tasks use the instance's).

An instance offers:
- 1024 CPU units per vCPU;
- the memory the agent registers: the operating system's total memory (MemTotal), which is less
  than the instance's memory by what the kernel keeps, minus ECS_RESERVED_MEMORY. The model scales
  the instance's memory by the one ratio ECS publishes (an m4.large, 8192 MiB, registers 7985 MiB:
  "Reserving Amazon ECS Linux container instance memory", Amazon ECS Developer Guide). Real figures
  vary with the AMI and kernel, usually a little lower: the plan's counts are then upper bounds, and
  its errors stay certain. DescribeContainerInstances shows what an instance registered.
- awsvpc tasks: one per ENI beyond the primary one. With `awsvpcTrunking` on in the account's ECS
  settings, trunking types take more (`InstanceType.trunking_task_limit`); account settings are out
  of the templates' sight, so the plan counts without trunking and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .instance_types import InstanceType, instance_type, source
from .intrinsics import Unknown
from .model import AutoScalingGroup, TaskDefinition

REGISTERED_MEMORY = (7985, 8192)
"""MiB registered per MiB installed: ECS's published m4.large example (8192 MiB installed, 7985 registered)."""

RESOURCES = ("CPU", "memory", "ENIs")
"""The instance resources a task reserves, as messages and the plan name them."""

UNITS = {"CPU": "CPU units", "memory": "MiB", "ENIs": "awsvpc ENIs"}
"""How messages count each resource."""

PENDING_REASONS = {"CPU": "RESOURCE:CPU", "memory": "RESOURCE:MEMORY", "ENIs": "RESOURCE:ENI"}
"""The reason ECS gives for a task left PENDING for lack of each resource."""


@dataclass(frozen=True, slots=True)
class Ask:
    """What one task reserves on an instance: CPU units, MiB of memory, ENIs (1 for awsvpc)."""

    cpu: int
    memory: int
    enis: int

    def amounts(self) -> tuple[int, int, int]:
        return (self.cpu, self.memory, self.enis)


@dataclass(frozen=True, slots=True)
class Offer:
    """What an instance of a capacity offers ECS: `types` are the instance types it may get, and the
    amounts those of the smallest (each resource the least any of them offers)."""

    types: tuple[str, ...]
    cpu: int
    memory: int
    enis: int

    def amounts(self) -> tuple[int, int, int]:
        return (self.cpu, self.memory, self.enis)

    @property
    def label(self) -> str:
        """`t3.small`, or `the smallest of t3.small, m5.large`."""
        return self.types[0] if len(self.types) == 1 else "the smallest of " + ", ".join(self.types)


def _or_zero(value: int | Unknown | None) -> int | Unknown:
    return 0 if value is None else value


def task_ask(definition: TaskDefinition) -> Ask | Unknown | None:
    """What each task of `definition` reserves; None when ECS rejects its sizes (`size_problems`),
    Unknown when the templates leave a size open."""
    if definition.sizes_doubt is not None:
        return Unknown(definition.sizes_doubt)
    if size_problems(definition):
        return None
    cpu: int | Unknown = _or_zero(definition.cpu)
    if definition.cpu is None:
        cpu = 0
        for container in definition.containers:
            value = _or_zero(container.cpu)
            if isinstance(value, Unknown):
                return Unknown(f"the Cpu of container {container.name} is unknown ({value.reason})")
            cpu += max(value, 0)
    memory: int | Unknown | None = definition.memory
    if memory is None:
        memory = 0
        for container in definition.containers:
            share = container.memory_reservation if container.memory_reservation is not None else container.memory
            if isinstance(share, Unknown):
                return Unknown(f"the memory of container {container.name} is unknown ({share.reason})")
            memory += max(share or 0, 0)
    if isinstance(cpu, Unknown):
        return Unknown(f"its task-level Cpu is unknown ({cpu.reason})")
    if isinstance(memory, Unknown):
        return Unknown(f"its task-level Memory is unknown ({memory.reason})")
    mode = definition.network_mode
    return Ask(max(cpu, 0), max(memory, 0), 1 if mode == "awsvpc" else 0)


def size_problems(definition: TaskDefinition) -> list[tuple[str | None, str]]:
    """Why ECS rejects the task definition's CPU and memory settings for EC2, as (container or None,
    what ECS says) pairs; empty when it accepts them."""
    found: list[tuple[str | None, str]] = []
    task_memory, task_cpu = definition.memory, definition.cpu
    for value, what in ((task_memory, "Memory"), (task_cpu, "Cpu")):
        if isinstance(value, int) and value <= 0:
            found.append((None, f"its task-level {what} is {value}: ECS needs a positive size"))
    reserved = 0
    cpu = 0
    over_alone = False  # a container alone above the task's Memory (said for that container)
    for container in definition.containers:
        name, hard, soft = container.name, container.memory, container.memory_reservation
        if task_memory is None and hard is None and soft is None:
            ecs_says = (
                f"Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be "
                "specified."
            )
            found.append((name, f"container {name} has neither Memory nor MemoryReservation and the task has no "
                                f'task-level Memory; ECS rejects it: "{ecs_says}"'))
        if isinstance(hard, int) and isinstance(soft, int) and soft > hard:
            found.append((name, f"container {name} reserves MemoryReservation {soft} MiB above its Memory limit of "
                                f"{hard} MiB; ECS needs the hard limit (Memory) greater than the soft one"))
        for value, what in ((hard, "Memory"), (soft, "MemoryReservation")):
            if isinstance(value, int) and value <= 0:
                found.append((name, f"container {name} has {what} {value}: ECS needs a positive size"))
        share = soft if soft is not None else hard
        if isinstance(share, int):
            reserved += share
        if isinstance(container.cpu, int):
            cpu += container.cpu
        if isinstance(task_memory, int) and isinstance(hard, int) and hard > task_memory:
            over_alone = True
            found.append((name, f"container {name} has Memory {hard} MiB, more than the task-level Memory of "
                                f"{task_memory} MiB; ECS needs every container's memory within the task's"))
    if isinstance(task_memory, int) and task_memory > 0 and reserved > task_memory and not over_alone:
        found.append(
            (None, f"its containers reserve {reserved} MiB in total, more than its task-level Memory of {task_memory} MiB")
        )
    if isinstance(task_cpu, int) and task_cpu > 0 and cpu > task_cpu:
        found.append((None, f"its containers' Cpu adds up to {cpu} units, more than its task-level Cpu of {task_cpu}"))
    return found


def registered_memory(installed_mib: int, reserved_mib: int = 0) -> int:
    """The MiB the agent registers for tasks on an instance with `installed_mib`, less ECS_RESERVED_MEMORY."""
    return max(installed_mib * REGISTERED_MEMORY[0] // REGISTERED_MEMORY[1] - reserved_mib, 0)


def offer_of(group: AutoScalingGroup, largest: bool = False) -> Offer | Unknown:
    """What an instance of `group` offers: of the smallest instance type it may get (a mixed instances
    policy's overrides), or of the largest when `largest`; Unknown when a type is set at deployment, the
    group names none, or the instance facts do not know it."""
    if group.instance_types_doubt is not None:
        return Unknown(group.instance_types_doubt)
    if not group.instance_types:
        return Unknown(f"capacity {group.origin.label} names no instance type (attribute-based selection or none)")
    facts: list[InstanceType] = []
    for name in group.instance_types:
        found = instance_type(name)
        if found is None:
            return Unknown(f"instance type {name} of capacity {group.origin.label} is not in the instance facts ({source()})")
        facts.append(found)
    reserved = group.reserved_memory
    if isinstance(reserved, Unknown):
        return Unknown(f"the ECS_RESERVED_MEMORY of capacity {group.origin.label} is unknown ({reserved.reason})")
    pick = max if largest else min
    return Offer(
        tuple(t.name for t in facts),
        pick(t.cpu_units for t in facts),
        pick(registered_memory(t.memory_mib, reserved) for t in facts),
        pick(t.awsvpc_task_limit for t in facts),
    )


def per_instance(ask: Ask, offer: tuple[int, int, int]) -> tuple[int | None, str | None]:
    """How many tasks asking `ask` fit on an instance with `offer` (CPU, memory, ENIs) free, and the
    resource that binds; (None, None) when the task reserves none of them."""
    best: int | None = None
    binding: str | None = None
    for need, have, name in zip(ask.amounts(), offer, RESOURCES):
        if need > 0:
            count = max(have, 0) // need
            if best is None or count < best:
                best, binding = count, name
    return best, binding


def describe_ask(ask: Ask) -> str:
    """`256 CPU units, 512 MiB` (and `, 1 ENI` for awsvpc); `512 MiB` alone when it reserves no CPU."""
    text = f"{ask.cpu} CPU units, {ask.memory} MiB" if ask.cpu else f"{ask.memory} MiB"
    return text + (", 1 ENI" if ask.enis else "")


def describe_offer(offer: Offer) -> str:
    """`t3.small: 2048 CPU units, 1996 MiB, 2 awsvpc ENIs`."""
    return f"{offer.label}: {offer.cpu} CPU units, {offer.memory} MiB, {offer.enis} awsvpc ENIs"
