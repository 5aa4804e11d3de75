"""What a launch template's (or launch configuration's) user data, and the cfn-init metadata it
runs, tell the ECS agent.

On Linux the agent reads /etc/ecs/ecs.config; user data writes it (`echo ECS_CLUSTER=... >>
/etc/ecs/ecs.config`, a heredoc into it, a cloud-config `write_files` entry), or calls `cfn-init`,
whose `AWS::CloudFormation::Init` metadata writes it (a `files` entry for /etc/ecs/ecs.config, or
a command that echoes into it). Only what is written into ecs.config counts: the same name in a
script written to another file (an upstart job reading the agent's metadata) sets nothing. A
later line wins over an earlier one, and a `>` (or a cfn-init `files` entry) starts the file
afresh. On Windows the agent reads machine environment variables, which PowerShell user data (or
a cfn-init command) sets (`[Environment]::SetEnvironmentVariable("ECS_CLUSTER", "...", "Machine")`)
before `Initialize-ECSAgent -Cluster ...` starts it. The settings read: ECS_CLUSTER,
ECS_DYNAMIC_HOST_PORT_RANGE, ECS_RESERVED_PORTS(_UDP), ECS_INSTANCE_ATTRIBUTES,
ECS_ENABLE_TASK_IAM_ROLE (on Windows the credential proxy then holds port 80) and
ECS_RESERVED_MEMORY (MiB kept out of the memory the agent registers).

cloud-init runs user data only in a format it knows (a `#!` script, `#cloud-config`, MIME
multipart, ...): other text is not run, so it sets nothing and the instances join the cluster
named `default` (`AgentSettings.ignored` says so). Bottlerocket reads TOML settings instead:
`[settings.ecs]` `cluster = "..."` names its cluster.
"""

from __future__ import annotations

import base64
import binascii
import email
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from ...ports import WINDOWS_DYNAMIC_PORT_RANGE
from ..intrinsics import Resolver, ResourceRef, Unknown, as_int
from .cluster_query import symbol
from .entities import DEFAULT_DYNAMIC_RANGE

_AGENT_SETTING = re.compile(
    r"(?<![A-Za-z0-9_])(ECS_CLUSTER|ECS_DYNAMIC_HOST_PORT_RANGE|ECS_RESERVED_PORTS_UDP|ECS_RESERVED_PORTS"
    r"|ECS_ENABLE_TASK_IAM_ROLE|ECS_RESERVED_MEMORY)"
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
_OPEN, _CLOSE = "\ue000", "\ue001"  # around a token's index: printable, so YAML and MIME keep it
_TOKEN = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_CFN_INIT = re.compile(r"cfn-init(?:\.exe)?\b(.*)")
_RESOURCE_OPTION = re.compile(r"(?:--resource|-r)[\s=]+['\"]?([^\s'\"]+)")
_CONFIGSETS_OPTION = re.compile(r"(?:--configsets|-c)[\s=]+['\"]?([^\s'\"]+)")
_FORMATS = (
    "#!",
    "#cloud-config",
    "#include",
    "#cloud-boothook",
    "#part-handler",
    "#upstart-job",
    "content-type:",
    "mime-version:",
    "<powershell>",
    "<script>",
    "<persist>",
    "[settings",  # Bottlerocket reads TOML settings itself
)
_ECS_CONFIG = "ecs.config"

CfnInitLookup = Callable[[str], tuple[Resolver, Any] | None]
"""Given a logical id of the template, its resolver and `AWS::CloudFormation::Init` metadata, if any."""


class AgentSettings(NamedTuple):
    """What user data tells the ECS agent: the cluster to join, the dynamic range, reserved ports,
    the custom attributes it registers, whether the user data is Windows', and whether task IAM roles
    are on (ECS_ENABLE_TASK_IAM_ROLE, or Initialize-ECSAgent -EnableTaskIAMRole).

    `reserved_tcp` / `reserved_udp` are None when the user data leaves the agent's default lists in
    force (see `AutoScalingGroup.agent_reserved`; none for udp), else the configured list, which
    replaces the default. `ignored` says why the user data sets nothing (cloud-init does not run it);
    `cluster` is then the cluster it was meant for, which the instances do not join.
    """

    cluster: ResourceRef | str | Unknown | None
    dynamic_range: tuple[int, int] | Unknown
    reserved_tcp: tuple[int, ...] | Unknown | None
    reserved_udp: tuple[int, ...] | Unknown | None
    ignored: str | None = None
    attributes: Mapping[str, str] | Unknown = {}
    windows: bool = False
    task_iam_role: bool = False
    reserved_memory: int | Unknown = 0
    """ECS_RESERVED_MEMORY: MiB the agent keeps out of the memory it registers (0 when unset)."""


DEFAULT_SETTINGS = AgentSettings(None, DEFAULT_DYNAMIC_RANGE, None, None)


def agent_settings(
    resolver: Resolver, user_data: Any, windows: bool = False, cfn_init: CfnInitLookup | None = None
) -> AgentSettings:
    """Read the ECS agent settings a launch template's user data writes (ecs.config lines, or PowerShell
    environment variables), through the cfn-init metadata it runs too (`cfn_init` looks it up);
    `windows` says the AMI is a Windows one, whose dynamic range is Windows'."""
    if user_data is None:
        return DEFAULT_SETTINGS._replace(dynamic_range=_default_range(windows), windows=windows)
    if isinstance(user_data, str):
        user_data = _decoded(user_data)  # a literal UserData is already base64-encoded
    parts = resolver.parts(user_data)
    if len(parts) == 1 and isinstance(parts[0], Unknown):
        unknown = Unknown(f"the user data is unknown ({parts[0].reason})")
        return AgentSettings(unknown, unknown, None, None, attributes=unknown, windows=windows)
    tokens: list[ResourceRef | Unknown] = []
    text = _tokenized(parts, tokens)
    windows = windows or _WINDOWS_USER_DATA.search(text) is not None
    reader = _Reader(tokens, cfn_init, windows)
    reader.document(text)
    values = reader.values
    task_iam_role = reader.task_iam_role or values.get("ECS_ENABLE_TASK_IAM_ROLE", "").lower() == "true"
    settings = AgentSettings(
        cluster=_detokenized(values["ECS_CLUSTER"], tokens, "ECS_CLUSTER") if "ECS_CLUSTER" in values else None,
        dynamic_range=_port_range(values.get("ECS_DYNAMIC_HOST_PORT_RANGE"), tokens, _default_range(windows)),
        reserved_tcp=_port_list(values.get("ECS_RESERVED_PORTS"), "ECS_RESERVED_PORTS"),
        reserved_udp=_port_list(values.get("ECS_RESERVED_PORTS_UDP"), "ECS_RESERVED_PORTS_UDP"),
        attributes=_attributes(reader.attributes, tokens),
        windows=windows,
        task_iam_role=task_iam_role,
        reserved_memory=_reserved_memory(values.get("ECS_RESERVED_MEMORY"), tokens),
    )
    if windows or _runs(text):  # EC2Launch, not cloud-init, runs Windows user data
        return settings
    # What it would set, had it run, only names the cluster it was meant for (see `ignored`).
    return DEFAULT_SETTINGS._replace(
        cluster=settings.cluster,
        dynamic_range=_default_range(windows),
        windows=windows,
        ignored="its user data does not start with #! (or another format cloud-init runs), so cloud-init does "
        "not run it: ECS_CLUSTER stays unset and its instances join the cluster named default",
    )


def _reserved_memory(value: str | None, tokens: list[ResourceRef | Unknown]) -> int | Unknown:
    """ECS_RESERVED_MEMORY in MiB; 0 when unset."""
    if value is None:
        return 0
    text = _detokenized(value, tokens, "ECS_RESERVED_MEMORY")
    if not isinstance(text, str):
        return text if isinstance(text, Unknown) else Unknown("ECS_RESERVED_MEMORY is set at deployment")
    if text.isdigit():
        return int(text)
    return Unknown(f"ECS_RESERVED_MEMORY={text} is not a number of MiB")


def _default_range(windows: bool) -> tuple[int, int]:
    """The dynamic range when ECS_DYNAMIC_HOST_PORT_RANGE is unset: the agent falls back to the OS's
    ephemeral range, 49152-65535 on Windows (amazon-ecs-agent, agent/utils/ephemeral_ports_windows.go)."""
    return WINDOWS_DYNAMIC_PORT_RANGE if windows else DEFAULT_DYNAMIC_RANGE


def _tokenized(parts: list[Any], tokens: list[ResourceRef | Unknown]) -> str:
    chunks = []
    for part in parts:
        if isinstance(part, str):
            chunks.append(part)
        else:
            chunks.append(f"{_OPEN}{len(tokens)}{_CLOSE}")
            tokens.append(part)
    return "".join(chunks)


def _runs(text: str) -> bool:
    """Whether cloud-init (or the AMI's own agent) runs the user data: a format it knows, or a start
    the templates leave open."""
    start = text.lstrip()
    if not start or start.startswith(_OPEN):
        return True
    lowered = start[:32].lower()
    return lowered.startswith(_FORMATS) or start.startswith("\x1f\x8b")


class _Reader:
    """Collects the agent settings written into ecs.config, in the order the instance runs them."""

    def __init__(self, tokens: list[ResourceRef | Unknown], cfn_init: CfnInitLookup | None, windows: bool) -> None:
        self.tokens = tokens
        self.cfn_init = cfn_init
        self.windows = windows
        self.values: dict[str, str] = {}
        self.attributes: list[str] = []  # ECS_INSTANCE_ATTRIBUTES values, in order
        self.task_iam_role = False
        self.loose: dict[str, str] = {}  # assignments not seen going into ecs.config, first one kept
        self.loose_attributes: list[str] = []
        self.mentions_config = False
        self.depth = 0

    def document(self, text: str) -> None:
        """A user-data document in whatever format cloud-init reads."""
        start = text.lstrip()
        lowered = start[:32].lower()
        if lowered.startswith(("content-type:", "mime-version:")):
            self._multipart(start)
        elif lowered.startswith("[settings"):
            self._bottlerocket(start)
        elif lowered.startswith("#cloud-config"):
            self._cloud_config(start)
        else:
            self.script(text)
        if not self.mentions_config:
            for name, value in self.loose.items():
                self.values.setdefault(name, value)
            self.attributes += self.loose_attributes

    def script(self, text: str) -> None:
        """A shell (or PowerShell) script: lines, heredocs, cfn-init calls."""
        lines = text.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            heredoc = _HEREDOC.search(line)
            if heredoc is not None:
                delimiter = heredoc.group(2)
                body = []
                while index < len(lines) and lines[index].strip() != delimiter:
                    body.append(lines[index])
                    index += 1
                index += 1
                if _ECS_CONFIG in line:
                    self.written(body, fresh=_truncates(line))
                continue
            self.line(line)

    def line(self, line: str) -> None:
        """One shell line: an assignment echoed into ecs.config, a cfn-init call, or (Windows) a
        machine environment variable or Initialize-ECSAgent."""
        if _ECS_CONFIG in line:
            self.written([line], fresh=_truncates(line))
            return
        if self.depth < 4:
            call = _CFN_INIT.search(line)
            if call is not None and self.cfn_init is not None:
                self._cfn_init(call.group(1))
                return
        if self.windows and self._powershell(line):
            return
        for name, value in _AGENT_SETTING.findall(line):
            self.loose.setdefault(name, value)
        self.loose_attributes += [match.group(1) for match in _ATTRIBUTES.finditer(line)]

    def _powershell(self, line: str) -> bool:
        """Windows: SetEnvironmentVariable("ECS_...", ...) and Initialize-ECSAgent -Cluster set the agent."""
        found = False
        for match in _POWERSHELL_SETTING.finditer(line):
            found = True
            value = match.group(3) if match.group(3) is not None else match.group(4)
            if match.group(2).upper() == "ECS_INSTANCE_ATTRIBUTES":
                self.attributes.append(value)
            else:
                self.values[match.group(2).upper()] = value
        for match in _INITIALIZE.finditer(line):
            found = True
            named = _INITIALIZE_CLUSTER.search(match.group(1))
            if named is not None:
                self.values["ECS_CLUSTER"] = next(g for g in named.groups() if g is not None)
            self.task_iam_role = self.task_iam_role or "-enabletaskiamrole" in match.group(1).lower()
        return found

    def written(self, lines: list[str], fresh: bool) -> None:
        """Lines that end up in ecs.config; `fresh` when the write replaces the file."""
        self.mentions_config = True
        if fresh:
            self.values.clear()
            self.attributes.clear()
        for line in lines:
            for name, value in _AGENT_SETTING.findall(line):
                self.values[name] = value
            self.attributes += [match.group(1) for match in _ATTRIBUTES.finditer(line)]

    def _bottlerocket(self, text: str) -> None:
        """Bottlerocket's TOML settings: `cluster = "..."` under `[settings.ecs]` is its ECS_CLUSTER."""
        section = ""
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped.strip("[] ")
            elif section == "settings.ecs":
                key, equals, value = stripped.partition("=")
                if equals and key.strip() == "cluster":
                    self.written([f"ECS_CLUSTER={value.strip().strip(chr(34) + chr(39))}"], fresh=False)

    def _multipart(self, text: str) -> None:
        message = email.message_from_string(text)
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=False)
            if not isinstance(payload, str):
                continue
            kind = part.get_content_type()
            if kind == "text/cloud-config":
                self._cloud_config(payload)
            elif kind in ("text/x-shellscript", "text/x-shellscript-per-boot", "text/x-shellscript-per-instance"):
                self.script(payload)

    def _cloud_config(self, text: str) -> None:
        from ..yaml_loader import YamlError, parse_yaml  # only for cloud-config user data

        try:
            document = parse_yaml(text.encode("utf-8"))
        except (YamlError, UnicodeError, RecursionError):
            self.script(text)
            return
        if not isinstance(document, dict):
            return
        for entry in document.get("write_files") or ():
            if isinstance(entry, dict) and str(entry.get("path", "")).endswith(_ECS_CONFIG):
                content = entry.get("content")
                if isinstance(content, str):
                    self.written(content.splitlines(), fresh=str(entry.get("append", "")).lower() != "true")
        for key in ("bootcmd", "runcmd"):
            for command in document.get(key) or ():
                if isinstance(command, str):
                    self.script(command)
                elif isinstance(command, list):
                    self.line(" ".join(str(word) for word in command))

    def _cfn_init(self, arguments: str) -> None:
        """What `cfn-init --resource X [--configsets A,B]` writes, from X's AWS::CloudFormation::Init."""
        resource = _RESOURCE_OPTION.search(arguments)
        if resource is None or self.cfn_init is None:
            return
        found = self.cfn_init(resource.group(1))
        if found is None:
            return
        resolver, metadata = found
        metadata = resolver.mapping(metadata)
        if not isinstance(metadata, dict):
            return
        sets = _CONFIGSETS_OPTION.search(arguments)
        names = sets.group(1).split(",") if sets is not None and _OPEN not in sets.group(1) else None
        self.depth += 1
        try:
            for config in _configs(resolver, metadata, names):
                self._config(resolver, config)
        finally:
            self.depth -= 1

    def _config(self, resolver: Resolver, config: Mapping[str, Any]) -> None:
        files = resolver.mapping(config.get("files"))
        for path, spec in files.items() if isinstance(files, dict) else ():
            spec = resolver.mapping(spec)
            if not str(path).endswith(_ECS_CONFIG) or not isinstance(spec, dict):
                continue
            content = spec.get("content")
            if isinstance(content, dict) and not _is_text(content):
                lines = [f"{key}={value}" for key, value in content.items()]  # a JSON object written as is
            else:
                lines = _tokenized(resolver.parts(content), self.tokens).splitlines() if content is not None else []
            self.written(lines, fresh=True)
        commands = resolver.mapping(config.get("commands"))
        for name in sorted(commands) if isinstance(commands, dict) else ():  # cfn-init runs them by name
            spec = resolver.mapping(commands[name])
            command = spec.get("command") if isinstance(spec, dict) else None
            if isinstance(command, list):
                command = {"Fn::Join": [" ", command]}
            if command is not None:
                self.script(_tokenized(resolver.parts(command), self.tokens))


def _is_text(node: Mapping[str, Any]) -> bool:
    """Whether a mapping is an intrinsic function building text (not a JSON object written as is)."""
    return len(node) == 1 and next(iter(node)) in ("Fn::Join", "Fn::Sub", "Fn::Base64", "Ref", "Fn::If")


def _configs(resolver: Resolver, metadata: Mapping[str, Any], names: list[str] | None) -> Iterator[Mapping[str, Any]]:
    """The configs cfn-init runs, in order: those of the configsets named (or `default`), else `config`."""
    sets = resolver.mapping(metadata.get("configSets"))
    sets = sets if isinstance(sets, dict) else {}
    if names is None:
        names = ["default"] if "default" in sets else []
    if not names:
        config = resolver.mapping(metadata.get("config"))
        if isinstance(config, dict):
            yield config
        return
    seen: set[str] = set()

    def expand(set_name: str) -> Iterator[Mapping[str, Any]]:
        if set_name in seen:
            return
        seen.add(set_name)
        for entry in resolver.list_of(sets.get(set_name)) or ():
            if isinstance(entry, dict) and "ConfigSet" in entry:
                yield from expand(str(entry["ConfigSet"]))
            elif isinstance(entry, str):
                config = resolver.mapping(metadata.get(entry))
                if isinstance(config, dict):
                    yield config

    for name in names:
        yield from expand(name)


def _truncates(line: str) -> bool:
    """Whether the line replaces ecs.config (`>`, `tee` without -a) rather than appending to it."""
    target = line.split(_ECS_CONFIG, 1)[0]
    if ">>" in target or "tee -a" in target or "tee --append" in target or "Add-Content" in target:
        return False
    return ">" in target or "tee " in target or "Set-Content" in target


def _decoded(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return text


def _detokenized(value: str, tokens: list[ResourceRef | Unknown], setting: str) -> ResourceRef | str | Unknown:
    if _OPEN not in value:
        if "$" in value or "`" in value:
            return Unknown(f"{setting} is set to {value!r}, which the instance computes when it boots")
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
            if _OPEN in name or not isinstance(item, str):
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


def _port_list(value: str | None, setting: str) -> tuple[int, ...] | Unknown | None:
    if value is None:
        return None
    if _OPEN in value or not value.startswith("["):
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
