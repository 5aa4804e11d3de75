#!/usr/bin/env python3
"""Build constructs_lib/portplan/data/instance_types.json from two public sources.

    pip download --no-deps --dest /tmp moto==5.2.5
    git show a35b7671c57c:doc_source/container-instance-eni.md > /tmp/container-instance-eni.md  # in a
        # clone of github.com/awsdocs/amazon-ecs-developer-guide (archived; deleted from its head)
    python scripts/generate_instance_types.py \\
        --ec2 /tmp/moto-5.2.5-py3-none-any.whl \\
        --ecs-trunking /tmp/container-instance-eni.md \\
        --ecs-revision "Amazon ECS Developer Guide as archived on GitHub, awsdocs/amazon-ecs-developer-guide@a35b7671c57c doc_source/container-instance-eni.md of 2023-04-18"

Where each fact comes from:

- vCPUs, memory (MiB), maximum ENIs, IPv4 addresses per ENI and CPU architectures: EC2's
  DescribeInstanceTypes answer. `--ec2` takes any of
  * a moto wheel from PyPI (`pip download --no-deps moto`): moto ships the answer of every region
    and partition as `moto/ec2/resources/instance_types.json.gz`; the revision is read from the wheel;
  * that file itself, plain or gzipped (getmoto/moto on GitHub, `moto/ec2/resources/instance_types.json`);
  * your own `aws ec2 describe-instance-types --output json` (the `{"InstanceTypes": [...]}` shape);
  each but the wheel needs `--ec2-revision` (say what it is and of when).
  `MaximumNetworkInterfaces` counts every network card of the type; ECS counts them all too (its
  "task limit without trunking" is that number minus the primary ENI, p4d.24xlarge included).
- The awsvpc task limit with ENI trunking: the Amazon ECS Developer Guide's tables of "supported
  instance types" for trunking, as Markdown: the archived guide on GitHub
  (awsdocs/amazon-ecs-developer-guide, `doc_source/container-instance-eni.md`), or the Markdown
  copy of the current page (the `.md` next to
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/eni-trunking-supported-instance-types.html).
  A type gets a limit only when its row holds a positive number and the page's "not supported"
  sentences name neither the type nor its family; every row that is dropped is named in the
  file's `notes`.

macOS instance types (mac*.metal, architectures x86_64_mac/arm64_mac) are left out: ECS container
instances run Linux or Windows. i386 is dropped from the architectures (ECS runs 64-bit only).

The output depends on the inputs alone (sorted, one instance type a line), so running the script
twice on the same sources gives the same bytes. Bad input ends with one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import sys
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "constructs_lib" / "portplan" / "data" / "instance_types.json"
ECS_TRUNKING_PAGE = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/eni-trunking-supported-instance-types.html"
)
MOTO_MEMBER = "moto/ec2/resources/instance_types.json.gz"
COLUMNS = ("vcpus", "memory_mib", "max_enis", "ipv4_per_eni", "architectures", "trunking_task_limit")
ECS_ARCHITECTURES = ("x86_64", "arm64")
MACOS_ARCHITECTURES = frozenset({"x86_64_mac", "arm64_mac"})

_TYPE_NAME = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")
_FAMILY_OR_TYPE = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)?")
_BACKTICKED = re.compile(r"`([^`]+)`")


class SourceError(Exception):
    """A source that cannot be read or does not hold what it should; the message is one line."""


@dataclass(frozen=True)
class EcsTrunking:
    """What the ECS trunking page publishes: per type (limit without, limit with), and exclusions."""

    rows: Mapping[str, tuple[str, str]]
    unsupported_types: frozenset[str]
    unsupported_families: frozenset[str]


def read_bytes(location: str) -> bytes:
    """The bytes at a local path or an http(s) URL."""
    try:
        if re.match(r"https?://", location):
            with urllib.request.urlopen(location, timeout=60) as response:  # noqa: S310 (a maintainer's URL)
                return response.read()
        return Path(location).read_bytes()
    except (OSError, ValueError) as error:
        raise SourceError(f"cannot read {location}: {error}") from None


def load_ec2(location: str) -> tuple[list[Mapping[str, Any]], Optional[str]]:
    """DescribeInstanceTypes records from `location`, and the revision when the source names it."""
    data = read_bytes(location)
    revision = None
    if location.endswith(".whl"):
        data, revision = _moto_wheel_member(location, data)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        document = json.loads(data)
    except ValueError as error:
        raise SourceError(f"{location} is not JSON: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("InstanceTypes"), list):
        records = document["InstanceTypes"]
    elif isinstance(document, dict):
        records = list(document.values())
    elif isinstance(document, list):
        records = document
    else:
        raise SourceError(f"{location}: expected DescribeInstanceTypes records, got {type(document).__name__}")
    if not records or not all(isinstance(record, dict) and "InstanceType" in record for record in records):
        raise SourceError(f"{location}: expected DescribeInstanceTypes records with an InstanceType each")
    return records, revision


def _moto_wheel_member(location: str, data: bytes) -> tuple[bytes, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            info = wheel.getinfo(MOTO_MEMBER)
            member = wheel.read(info)
    except (zipfile.BadZipFile, KeyError):
        raise SourceError(f"{location} is not a moto wheel with {MOTO_MEMBER}") from None
    version = Path(location).name.split("-")[1] if Path(location).name.count("-") >= 2 else "?"
    year, month, day = info.date_time[:3]
    return member, f"moto {version} from PyPI, {MOTO_MEMBER} of {year:04d}-{month:02d}-{day:02d}"


def ec2_facts(record: Mapping[str, Any]) -> Optional[list[Any]]:
    """One instance type's row (without the trunking limit), or None for a macOS type.

    Raises SourceError naming the type and the field when a fact is missing or not a positive number.
    """
    name = record["InstanceType"]

    def positive(*path: str) -> int:
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SourceError(f"{name}: {'.'.join(path)} is {value!r}, expected a positive integer")
        return value

    supported = record.get("ProcessorInfo", {}).get("SupportedArchitectures") or []
    if supported and set(supported) <= MACOS_ARCHITECTURES:
        return None
    architectures = [arch for arch in ECS_ARCHITECTURES if arch in supported]
    if not architectures:
        raise SourceError(f"{name}: ProcessorInfo.SupportedArchitectures is {supported!r}, no x86_64 or arm64")
    return [
        positive("VCpuInfo", "DefaultVCpus"),
        positive("MemoryInfo", "SizeInMiB"),
        positive("NetworkInfo", "MaximumNetworkInterfaces"),
        positive("NetworkInfo", "Ipv4AddressesPerInterface"),
        architectures,
    ]


def parse_ecs_trunking(text: str) -> EcsTrunking:
    """Rows `| type | limit without trunking | limit with trunking |` and the "not supported" names.

    Markdown escapes (`u\\-6tb1\\.metal`) are undone. Names come from backticks on lines that say
    "not supported": with a dot they are types, without one families.
    """
    rows: dict[str, tuple[str, str]] = {}
    unsupported_types: set[str] = set()
    unsupported_families: set[str] = set()
    for line in text.splitlines():
        cells = [cell.strip().replace("\\", "") for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) == 3 and _TYPE_NAME.fullmatch(cells[0]):
            rows[cells[0]] = (cells[1], cells[2])
        elif "not supported" in line.lower():
            for token in _BACKTICKED.findall(line.replace("\\", "")):
                if _FAMILY_OR_TYPE.fullmatch(token):
                    (unsupported_types if "." in token else unsupported_families).add(token)
    if not rows:
        raise SourceError("the ECS trunking page has no rows `| instance type | number | number |`")
    return EcsTrunking(rows, frozenset(unsupported_types), frozenset(unsupported_families))


def build(
    ec2_records: Iterable[Mapping[str, Any]], ecs: EcsTrunking, ec2_revision: str, ecs_revision: str
) -> dict[str, Any]:
    """The data file's document: a header, then one row per instance type (sorted by name)."""
    rows: dict[str, list[Any]] = {}
    macos: set[str] = set()
    for record in ec2_records:
        facts = ec2_facts(record)
        if facts is None:
            macos.add(record["InstanceType"])
        else:
            rows[record["InstanceType"]] = facts

    excluded: list[str] = []
    not_a_limit: list[str] = []
    unknown_to_ec2: list[str] = []
    without_differs: list[str] = []
    limits: dict[str, int] = {}
    for name, (without, with_trunking) in ecs.rows.items():
        if name in macos:
            continue
        if name not in rows:
            unknown_to_ec2.append(name)
            continue
        if name in ecs.unsupported_types or name.split(".")[0] in ecs.unsupported_families:
            excluded.append(name)
            continue
        if not with_trunking.isdigit() or int(with_trunking) <= 0:
            not_a_limit.append(f"{name} ({with_trunking})")
            continue
        limits[name] = int(with_trunking)
        max_enis = rows[name][2]
        if without.isdigit() and int(without) != max_enis - 1:
            without_differs.append(f"{name} (ECS {without}, EC2 {max_enis} ENIs)")

    notes = [
        f"Left out, macOS only (no ECS container instances): {_names(macos)}." if macos else "",
        f"ECS lists a trunking limit but names the type or family not supported; null: {_names(excluded)}."
        if excluded
        else "",
        f"ECS's trunking limit is not a task count; null: {_names(not_a_limit)}." if not_a_limit else "",
        f"In ECS's table, not in the EC2 data (retired or renamed): {_names(unknown_to_ec2)}."
        if unknown_to_ec2
        else "",
        f"ECS's limit without trunking is not max_enis - 1 (EC2's limits changed since the page): "
        f"{_names(without_differs)}."
        if without_differs
        else "",
    ]
    return {
        "about": "EC2 instance-type facts for the port plan. Generated by scripts/generate_instance_types.py: "
        "do not edit by hand, run the script.",
        "source": f"EC2 facts: {ec2_revision}; ECS trunking limits: {ecs_revision}",
        "sources": {
            "ec2": {
                "facts": list(COLUMNS[:5]),
                "from": "EC2 DescribeInstanceTypes of every region and partition, as moto publishes it "
                "(PyPI moto, or getmoto/moto moto/ec2/resources/instance_types.json)",
                "revision": ec2_revision,
            },
            "ecs_trunking": {
                "facts": [COLUMNS[5]],
                "from": "Amazon ECS Developer Guide, ENI trunking supported instance types",
                "url": ECS_TRUNKING_PAGE,
                "revision": ecs_revision,
            },
        },
        "notes": [note for note in notes if note],
        "count": len(rows),
        "columns": list(COLUMNS),
        "instance_types": {name: rows[name] + [limits.get(name)] for name in sorted(rows)},
    }


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def render(document: Mapping[str, Any]) -> str:
    """The document as text: the header indented, then one instance type a line."""
    header = {key: value for key, value in document.items() if key != "instance_types"}
    head = json.dumps(header, indent=2, ensure_ascii=False)
    lines = [
        f"    {json.dumps(name)}: {json.dumps(row, separators=(', ', ': '))}"
        for name, row in document["instance_types"].items()
    ]
    return head[:-2] + ',\n  "instance_types": {\n' + ",\n".join(lines) + "\n  }\n}\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ec2", required=True, metavar="PATH_OR_URL", help="moto wheel, instance_types.json[.gz], "
                        "or a describe-instance-types JSON answer")
    parser.add_argument("--ec2-revision", metavar="TEXT", help="what --ec2 is and of when (read from a moto wheel)")
    parser.add_argument("--ecs-trunking", required=True, metavar="PATH_OR_URL",
                        help="the ECS guide's trunking page as Markdown")
    parser.add_argument("--ecs-revision", required=True, metavar="TEXT", help="what --ecs-trunking is and of when")
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), help=f"default: {DEFAULT_OUTPUT}")
    arguments = parser.parse_args(argv)
    try:
        records, wheel_revision = load_ec2(arguments.ec2)
        ec2_revision = arguments.ec2_revision or wheel_revision
        if not ec2_revision:
            raise SourceError(f"--ec2-revision is needed for {arguments.ec2} (say what it is and of when)")
        page = read_bytes(arguments.ecs_trunking).decode("utf-8", errors="replace")
        document = build(records, parse_ecs_trunking(page), ec2_revision, arguments.ecs_revision)
    except SourceError as error:
        print(f"generate_instance_types: {error}", file=sys.stderr)
        return 2
    Path(arguments.output).write_text(render(document), encoding="utf-8")
    trunking = sum(1 for row in document["instance_types"].values() if row[-1] is not None)
    print(f"wrote {document['count']} instance types ({trunking} with a trunking limit) to {arguments.output}")
    for note in document["notes"]:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
