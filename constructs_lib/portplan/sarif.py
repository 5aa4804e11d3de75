"""SARIF 2.1.0 for `port-plan check --format sarif`: findings where GitHub code scanning and SARIF
viewers show them.

One run. Its driver, `port-plan`, lists every rule of the catalogue, so an empty run still tells
what was checked. Each result points at its template file, relative to the working directory as
a `%SRCROOT%` reference (GitHub reads relative paths from the repository root, so run the check
there), and at the line of the resource's logical id under `Resources`; the construct path rides
along as a logical location.

The renderer reads nothing but the templates it points at, and only to find those lines: a single
pass over the text per file, no parse, cached per file for one rendering.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import RULES, Finding, Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "port-plan"
SOURCE_ROOT = "%SRCROOT%"
DISTRIBUTION = "constructs-lib"
# SARIF names a few logical-location kinds for code and documents (function, type, object, ...);
# none means "a CloudFormation resource", and the spec lets a producer name its own kind.
LOGICAL_KIND = "resource"

LineFinder = Callable[[str, str], "int | None"]


def render_sarif(findings: Sequence[Finding], *, working_directory: str | None = None) -> str:
    """The SARIF log of `findings` as JSON text, paths relative to `working_directory` (default: the current one)."""
    version, information_uri = tool_metadata()
    log = sarif_log(
        findings,
        working_directory=working_directory or os.getcwd(),
        tool_version=version,
        information_uri=information_uri,
    )
    return json.dumps(log, indent=2) + "\n"


def sarif_log(
    findings: Sequence[Finding],
    *,
    working_directory: str,
    tool_version: str | None = None,
    information_uri: str | None = None,
    rules: Sequence[Rule] = RULES,
    find_line: LineFinder | None = None,
) -> dict[str, Any]:
    """The SARIF log of `findings` as a dict.

    `working_directory` is the source root template paths are made relative to; `tool_version` and
    `information_uri` describe the driver and are left out when None; `find_line(template_path,
    logical_id)` gives the 1-based line of a resource (default: a scan of the template file, see
    `ResourceLines`).
    """
    root = os.path.realpath(working_directory)
    lines = find_line or ResourceLines().line
    rule_index = {rule.id: index for index, rule in enumerate(rules)}
    driver: dict[str, Any] = {"name": TOOL_NAME}
    if tool_version:
        driver["version"] = tool_version
    if information_uri:
        driver["informationUri"] = information_uri
    driver["rules"] = [_descriptor(rule) for rule in rules]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {
            SOURCE_ROOT: {
                "uri": _directory_uri(root),
                "description": {"text": "The directory port-plan ran in; template paths are relative to it."},
            }
        },
        "results": [_result(finding, root, rule_index, lines) for finding in findings],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def tool_metadata() -> tuple[str | None, str | None]:
    """The installed distribution's version and home page (None for what its metadata lacks)."""
    from importlib import metadata  # only the SARIF format needs it

    try:
        meta = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None, None
    return meta.get("Version"), _home_page(meta.get_all("Project-URL") or [], meta.get("Home-page"))


def _home_page(project_urls: Iterable[str], home_page: str | None) -> str | None:
    """The first of Homepage, Repository, Source, Documentation among `Label, URL` entries, else Home-page."""
    by_label: dict[str, str] = {}
    for entry in project_urls:
        label, _, url = entry.partition(",")
        if url.strip():
            by_label.setdefault(label.strip().lower(), url.strip())
    for label in ("homepage", "repository", "source", "documentation"):
        if label in by_label:
            return by_label[label]
    return home_page or None


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "shortDescription": {"text": rule.info},
        "fullDescription": {"text": f"{rule.info} {rule.why}"},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": _level(rule.severity)},
    }


def _level(severity: str) -> str:
    return "error" if severity == "error" else "warning"


def _result(finding: Finding, root: str, rule_index: dict[str, int], find_line: LineFinder) -> dict[str, Any]:
    template = finding.template_path or os.path.join(root, finding.template)
    physical: dict[str, Any] = {"artifactLocation": _artifact_location(template, root)}
    line = find_line(template, finding.resource)
    if line is not None:
        physical["region"] = {"startLine": line}
    result: dict[str, Any] = {"ruleId": finding.rule}
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    result["level"] = _level(finding.severity)
    result["message"] = {"text": _message(finding)}
    result["locations"] = [{"physicalLocation": physical, "logicalLocations": [_logical_location(finding)]}]
    return result


def _message(finding: Finding) -> str:
    # GitHub shows the message as the alert's title and cannot preview a cdk.out that is not
    # committed: lead with the construct (or logical id) so the alert names what to change.
    subject = finding.path or finding.resource
    return f"{subject}: {finding.message}.\nFix: {finding.fix}."


def _logical_location(finding: Finding) -> dict[str, Any]:
    if finding.path is None:
        return {"name": finding.resource, "kind": LOGICAL_KIND}
    # The logical id is what CDK derives from the construct path: SARIF's "decorated" name.
    return {
        "name": finding.path.rsplit("/", 1)[-1],
        "fullyQualifiedName": finding.path,
        "decoratedName": finding.resource,
        "kind": LOGICAL_KIND,
    }


def _artifact_location(template_path: str, root: str) -> dict[str, str]:
    """A `%SRCROOT%`-relative reference below the source root, else an absolute file URI.

    Symbolic links are resolved first: GitHub matches results to committed files, never to links.
    """
    real = os.path.realpath(template_path)
    try:
        relative = os.path.relpath(real, root)
    except ValueError:  # another drive on Windows
        relative = os.pardir
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return {"uri": Path(real).as_uri()}
    return {"uri": "/".join(quote(part, safe="") for part in relative.split(os.sep)), "uriBaseId": SOURCE_ROOT}


def _directory_uri(directory: str) -> str:
    uri = Path(directory).as_uri()
    return uri if uri.endswith("/") else uri + "/"


# -- where a resource starts in its template -----------------------------------------------------


class ResourceLines:
    """Lines of the logical ids under `Resources`, one scan per template file, kept for reuse."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, int]] = {}

    def line(self, template_path: str, logical_id: str) -> int | None:
        """The 1-based line of `logical_id`'s key in the template, None when it cannot be found."""
        lines = self._files.get(template_path)
        if lines is None:
            lines = self._files[template_path] = _scan_file(template_path)
        return lines.get(logical_id)


def _scan_file(template_path: str) -> dict[str, int]:
    try:
        with open(template_path, "rb") as stream:
            text = stream.read().decode("utf-8-sig", errors="replace")
    except OSError:
        return {}
    return resource_lines(text)


def resource_lines(text: str) -> dict[str, int]:
    """Logical id -> 1-based line of its key under the template's top-level `Resources`.

    JSON (any layout) and block-style YAML, the way templates are written; a flow-style YAML
    `Resources` mapping yields nothing.
    """
    if text.lstrip()[:1] == "{":
        return _json_resource_lines(text)
    return _yaml_resource_lines(text)


# A JSON string or one of the structural characters that matter here; numbers, literals, commas
# and whitespace between them are skipped by the regex engine.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:]')


def _json_resource_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    depth = 0
    resources_depth = 0  # the depth inside the Resources object once it opened
    resources_next = False  # the last key at the top level was "Resources"
    key, key_at = "", 0
    line, counted = 1, 0  # JSON strings hold no raw newline: counting "\n" counts lines
    for token in _JSON_TOKEN.finditer(text):
        first = token.group()[0]
        if first == '"':
            key, key_at = token.group(), token.start()
            resources_next = False  # a string value, not the Resources object
        elif first == ":":
            if depth == 1:
                resources_next = _json_string(key) == "Resources"
            elif depth == resources_depth:
                line += text.count("\n", counted, key_at)
                counted = key_at
                lines[_json_string(key)] = line
        elif first in "{[":
            depth += 1
            if resources_next:
                if first == "[":
                    return lines
                resources_depth, resources_next = depth, False
        else:
            if depth == resources_depth:
                return lines
            depth -= 1
    return lines


def _json_string(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    try:
        value = json.loads(token)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


_YAML_RESOURCES = re.compile(r"""(?:Resources|"Resources"|'Resources')[ \t]*:[ \t]*(?:#.*)?$""")
# Logical ids are alphanumeric (CloudFormation's own rule), plain or quoted.
_YAML_LOGICAL_ID = re.compile(r"""(?:([A-Za-z0-9]+)|"([A-Za-z0-9]+)"|'([A-Za-z0-9]+)')[ \t]*:(?:[ \t]|$)""")


def _yaml_resource_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    inside = False
    key_indent = -1
    for number, raw in enumerate(text.split("\n"), 1):  # lines as JSON's scan and GitHub count them
        raw = raw.rstrip("\r")
        content = raw.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        indent = len(raw) - len(content)
        if not inside:
            inside = indent == 0 and _YAML_RESOURCES.match(content) is not None
            continue
        if indent == 0:  # the next top-level key, or the end of the document
            break
        if key_indent < 0:
            key_indent = indent
        if indent == key_indent:
            match = _YAML_LOGICAL_ID.match(content)
            if match:
                lines[match.group(1) or match.group(2) or match.group(3)] = number
    return lines
