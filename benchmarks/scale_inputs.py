"""Compact cloud assemblies for the scale goals: many services, little else.

Each stack holds one ECS cluster, one Auto Scaling group that registers with it (launch template user
data setting ``ECS_CLUSTER``), a capacity provider, and per service a task definition and the service:
"a service, its task definition and little else". The shapes are the ones the issue measured:

- ``shared_pool``: every service holds ``per_service`` static host ports drawn from a pool of
  ``pool`` ports, so the services compete for ports (one large contention component);
- ``ring``: services in a ring of shared ports (the exact search's hardest small shape);
- ``huge_capacity``: a few services on shared ports with an Auto Scaling group of ``MaxSize``
  1,000,000,000 under managed scaling (instance counts must be handled arithmetically);
- ``compact``: services alone on their ports (static or dynamic), to measure the fixed and
  per-service costs of ``check`` against a bare ``json.load`` of the same files.

Output is deterministic per seed. Usage:

    python benchmarks/scale_inputs.py OUTDIR shared-pool --services 25000 [--instances 2000]
    python benchmarks/scale_inputs.py OUTDIR compact --services 10000
    python benchmarks/scale_inputs.py OUTDIR huge-capacity
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

FIRST_PORT = 8000
SERVICES_PER_STACK = 5000

Ports = Sequence[Tuple[int, int]]  # (container port, host port: 0 for dynamic)


def _ref(logical_id: str) -> Dict[str, Any]:
    return {"Ref": logical_id}


def _stack(name: str, services: Iterable[Tuple[Ports, int]], *, min_size: int, max_size: int,
           managed: bool, paths: bool = True, rolling: bool = False,
           instance_type: str = "m7i.large") -> Dict[str, Any]:
    """One stack: cluster, group, provider, and a task definition and service per (ports, desired),
    with construct paths (``aws:cdk:path`` metadata) unless ``paths`` is False. The services deploy
    with minimumHealthyPercent 0 (no rolling-deployment deadlock to look for), or, with ``rolling``,
    with ECS's defaults (100 %, 200 %: every service's deployment needs a spare instance). Tasks
    reserve 128 MiB; an m7i.large registers room for 60 of them."""
    resources: Dict[str, Any] = {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Metadata": {"aws:cdk:path": f"{name}/Cluster/Resource"}},
        "Template": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": {
                "InstanceType": instance_type,
                "UserData": {"Fn::Base64": {"Fn::Join": ["", [
                    "#!/bin/bash\necho ECS_CLUSTER=", _ref("Cluster"), " >> /etc/ecs/ecs.config"]]}},
            }},
        },
        "Asg": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "MinSize": str(min_size),
                "MaxSize": str(max_size),
                "LaunchTemplate": {"LaunchTemplateId": _ref("Template"),
                                   "Version": {"Fn::GetAtt": ["Template", "LatestVersionNumber"]}},
            },
            "Metadata": {"aws:cdk:path": f"{name}/Asg/ASG"},
        },
        "Provider": {
            "Type": "AWS::ECS::CapacityProvider",
            "Properties": {"AutoScalingGroupProvider": {
                "AutoScalingGroupArn": _ref("Asg"),
                "ManagedScaling": {"Status": "ENABLED" if managed else "DISABLED"},
            }},
        },
    }
    for index, (ports, desired) in enumerate(services):
        task, service = f"Task{index:05d}", f"Service{index:05d}"
        resources[task] = {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "NetworkMode": "bridge",
                "ContainerDefinitions": [{
                    "Name": "web", "Image": "nginx", "Memory": 128,
                    "PortMappings": [{"ContainerPort": c, "HostPort": h, "Protocol": "tcp"} for c, h in ports],
                }],
            },
        }
        resources[service] = {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": _ref("Cluster"),
                "TaskDefinition": _ref(task),
                "DesiredCount": desired,
                "CapacityProviderStrategy": [{"CapacityProvider": _ref("Provider"), "Weight": 1}],
                "DeploymentConfiguration": {"MinimumHealthyPercent": 0, "MaximumPercent": 100},
            },
        }
        if rolling:
            del resources[service]["Properties"]["DeploymentConfiguration"]
        if paths:
            resources[task]["Metadata"] = {"aws:cdk:path": f"{name}/{task}/Resource"}
            resources[service]["Metadata"] = {"aws:cdk:path": f"{name}/{service}/Service"}
    return {"Resources": resources}


def write_assembly(outdir: str, stacks: Dict[str, Dict[str, Any]]) -> int:
    """Write ``stacks`` (name -> template) as a cloud assembly into ``outdir`` (replaced); returns bytes."""
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    artifacts = {}
    written = 0
    for name, body in stacks.items():
        text = json.dumps(body, indent=1)
        written += len(text)
        with open(os.path.join(outdir, f"{name}.template.json"), "w") as stream:
            stream.write(text)
        artifacts[name] = {"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
                           "properties": {"templateFile": f"{name}.template.json"}, "displayName": name}
    with open(os.path.join(outdir, "manifest.json"), "w") as stream:
        json.dump({"version": "55.0.0", "artifacts": artifacts}, stream, indent=1)
    return written


def shared_pool_services(services: int, *, pool: int = 40, per_service: int = 3, desired: int = 1,
                         seed: int = 1) -> List[Tuple[Ports, int]]:
    """``services`` services, each holding ``per_service`` distinct host ports out of ``pool``."""
    rng = random.Random(seed)
    ports = [FIRST_PORT + i for i in range(pool)]
    return [([(80 + j, p) for j, p in enumerate(sorted(rng.sample(ports, per_service)))], desired)
            for _ in range(services)]


def shared_pool(outdir: str, services: int, *, instances: int, pool: int = 40, per_service: int = 3,
                desired: int = 1, seed: int = 1, max_size: Optional[int] = None, rolling: bool = False) -> int:
    """One cluster of ``instances`` instances (``max_size`` under managed scaling when given) whose
    services all draw their static host ports from one pool: one large contention component
    (``rolling``: deployed with ECS's default rolling settings, see ``_stack``)."""
    chosen = shared_pool_services(services, pool=pool, per_service=per_service, desired=desired, seed=seed)
    body = _stack("Pool", chosen, min_size=instances, max_size=max_size or instances, managed=max_size is not None,
                  rolling=rolling)
    return write_assembly(outdir, {"Pool": body})


def huge_capacity(outdir: str, *, max_size: int = 1_000_000_000, desired: int = 2) -> int:
    """Three services with two static host ports each, pairwise sharing one (a triangle), on a group of
    ``max_size`` instances under managed scaling."""
    chosen = [([(80, 8001), (81, 8002)], desired), ([(80, 8002), (81, 8003)], desired),
              ([(80, 8001), (81, 8003)], desired)]
    body = _stack("Huge", chosen, min_size=1, max_size=max_size, managed=True)
    return write_assembly(outdir, {"Huge": body})


def ring(outdir: str, services: int, *, instances: int) -> int:
    """``services`` services in a ring, each sharing one static host port with the next: with an odd
    count they need 3 instances, which no per-port count shows (every port is wanted twice). The
    instances have memory for them all (m7i.8xlarge: about 125 GiB), so only the ports are in question."""
    chosen = [([(80, FIRST_PORT + i), (81, FIRST_PORT + (i + 1) % services)], 1) for i in range(services)]
    body = _stack("Ring", chosen, min_size=instances, max_size=instances, managed=False, instance_type="m7i.8xlarge")
    return write_assembly(outdir, {"Ring": body})


def compact(outdir: str, services: int, *, per_stack: int = SERVICES_PER_STACK, seed: int = 1) -> int:
    """Services alone on their ports: every third one a static host port of its own (fewer tasks than
    instances), the others dynamic; ``per_stack`` services to a stack (each stack its own cluster and
    capacity), no construct paths. The plan is valid: no findings."""
    rng = random.Random(seed)
    stacks = {}
    for first in range(0, services, per_stack):
        count = min(per_stack, services - first)
        chosen: List[Tuple[Ports, int]] = []
        for index in range(count):
            static = index % 3 == 0
            port = FIRST_PORT + index // 3 if static else 0
            chosen.append(([(80, port)], rng.randint(1, 3) if static else rng.randint(1, 10)))
        name = f"Compact{first // per_stack + 1:05d}"
        stacks[name] = _stack(name, chosen, min_size=4, max_size=4, managed=False, paths=False)
    return write_assembly(outdir, stacks)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("shape", choices=("shared-pool", "huge-capacity", "compact"))
    parser.add_argument("--services", type=int, default=25_000)
    parser.add_argument("--instances", type=int, default=2_000)
    parser.add_argument("--max-size", type=int)
    parser.add_argument("--pool", type=int, default=40)
    parser.add_argument("--per-service", type=int, default=3)
    parser.add_argument("--desired", type=int, default=1)
    parser.add_argument("--per-stack", type=int, default=SERVICES_PER_STACK)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rolling", action="store_true",
                        help="shared-pool: ECS's default rolling deployment settings (100 %%, 200 %%)")
    args = parser.parse_args(argv)
    if args.shape == "shared-pool":
        written = shared_pool(args.outdir, args.services, instances=args.instances, pool=args.pool,
                              per_service=args.per_service, desired=args.desired, seed=args.seed,
                              max_size=args.max_size, rolling=args.rolling)
    elif args.shape == "huge-capacity":
        written = huge_capacity(args.outdir, **({"max_size": args.max_size} if args.max_size else {}))
    else:
        written = compact(args.outdir, args.services, per_stack=args.per_stack, seed=args.seed)
    print(f"{args.outdir}: {written / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
