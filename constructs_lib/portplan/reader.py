"""Read CloudFormation templates from files, directories and cloud assemblies (cdk.out)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._gc import paused_gc

TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
_STEM_SUFFIXES = (".template.json", ".template.yaml", ".template.yml") + TEMPLATE_SUFFIXES


class PortPlanInputError(Exception):
    """Input that cannot be read as templates; the message is one line naming the file."""


@dataclass(frozen=True)
class LoadedTemplate:
    """One CloudFormation template as read from disk.

    `name` is the display name (the path as the user gave it, or relative to the current directory),
    `path` the absolute file path (symbolic links kept), `body` the parsed template, `stack_name` what `AWS::StackName`
    resolves to (the assembly's stack name, else the file name without its suffixes).
    """

    name: str
    path: str
    body: dict[str, Any] = field(repr=False)
    stack_name: str = ""


def load_templates(paths: Sequence[str]) -> list[LoadedTemplate]:
    """Read every template under `paths`: template files, directories, or cloud assemblies.

    Raises PortPlanInputError for a missing or unreadable path, a file that does not parse or is
    not a template, and a directory without templates. The same file given twice is read once.
    """
    with paused_gc():
        return _load(paths)


def _load(paths: Sequence[str]) -> list[LoadedTemplate]:
    seen: set[str] = set()
    templates: list[LoadedTemplate] = []
    for given in paths:
        if os.path.isdir(given):
            found = _read_directory(given, _display(given), seen)
            if not found:
                raise PortPlanInputError(f"{given}: no CloudFormation templates found")
            templates.extend(found)
        elif os.path.exists(given):
            template = _read_file(given, _display(given), _stem(given), seen, required=True)
            if template is not None:
                templates.append(template)
        else:
            raise PortPlanInputError(f"{given}: no such file or directory")
    return templates


def _read_directory(directory: str, shown: str, seen: set[str]) -> list[LoadedTemplate]:
    """Read a directory; `shown` is how messages and display names spell it."""
    if os.path.isfile(os.path.join(directory, "manifest.json")):
        return _read_assembly(directory, shown, seen, set())
    try:
        names = sorted(os.listdir(directory))
    except OSError as error:
        raise PortPlanInputError(f"{shown}: cannot read: {error.strerror}") from None
    templates = []
    for name in names:
        file_path = os.path.join(directory, name)
        if name.endswith(TEMPLATE_SUFFIXES) and os.path.isfile(file_path):
            # Directories hold other JSON too (tree.json, asset manifests): skip what is no template.
            template = _read_file(file_path, _joined(shown, name), _stem(name), seen, required=False)
            if template is not None:
                templates.append(template)
    return templates


def _read_assembly(directory: str, shown: str, seen: set[str], visited: set[str]) -> list[LoadedTemplate]:
    real = os.path.realpath(directory)
    if real in visited:
        return []
    visited.add(real)
    manifest_name = _joined(shown, "manifest.json")
    manifest = _parse(os.path.join(directory, "manifest.json"), manifest_name)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise PortPlanInputError(f"{manifest_name}: not a cloud assembly manifest (no artifacts)")
    templates: list[LoadedTemplate] = []
    for artifact_id, artifact in sorted(artifacts.items()):
        if not isinstance(artifact, dict) or not isinstance(artifact.get("properties"), dict):
            continue
        properties = artifact["properties"]
        kind = artifact.get("type")
        if kind == "aws:cloudformation:stack" and isinstance(properties.get("templateFile"), str):
            file_path = os.path.join(directory, properties["templateFile"])
            name = _joined(shown, properties["templateFile"])
            if not os.path.isfile(file_path):
                raise PortPlanInputError(f"{name}: no such file (named in {manifest_name})")
            stack_name = properties.get("stackName")
            if not isinstance(stack_name, str):
                stack_name = artifact_id
            template = _read_file(file_path, name, stack_name, seen, required=True)
            if template is not None:
                templates.append(template)
        elif kind == "cdk:cloud-assembly" and isinstance(properties.get("directoryName"), str):
            nested = os.path.join(directory, properties["directoryName"])
            if os.path.isfile(os.path.join(nested, "manifest.json")):
                templates.extend(_read_assembly(nested, _joined(shown, properties["directoryName"]), seen, visited))
    return templates


def _read_file(
    file_path: str, name: str, stack_name: str, seen: set[str], *, required: bool
) -> LoadedTemplate | None:
    absolute = os.path.abspath(file_path)
    if absolute in seen:
        return None
    body = _parse(file_path, name)
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        if required:
            raise PortPlanInputError(f"{name}: not a CloudFormation template (no Resources mapping)")
        return None
    seen.add(absolute)
    return LoadedTemplate(name=name, path=absolute, body=body, stack_name=stack_name)


def _parse(file_path: str, name: str) -> Any:
    try:
        with open(file_path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise PortPlanInputError(f"{name}: cannot read: {error.strerror or error}") from None
    if file_path.endswith(".json") or (
        file_path.endswith(".template") and data.lstrip()[:1] in (b"{", b"[")
    ):
        try:
            return json.loads(data)
        except json.JSONDecodeError as error:
            raise PortPlanInputError(
                f"{name}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
            ) from None
        except (UnicodeDecodeError, RecursionError) as error:
            raise PortPlanInputError(f"{name}: invalid JSON: {_one_line(error)}") from None
    from .yaml_loader import YamlError, parse_yaml  # PyYAML loads only when YAML is read

    try:
        return parse_yaml(data)
    except YamlError as error:
        where = f" {error.where}" if error.where else ""
        raise PortPlanInputError(f"{name}: invalid YAML{where}: {error.problem}") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _display(file_path: str) -> str:
    """The path as given when relative; relative to the current directory when below it."""
    if not os.path.isabs(file_path):
        return os.path.normpath(file_path)
    try:
        relative = os.path.relpath(file_path)
    except ValueError:  # another drive on Windows
        return os.path.normpath(file_path)
    return file_path if relative.startswith("..") else relative


def _joined(shown: str, relative: str) -> str:
    return os.path.normpath(os.path.join(shown, relative))


def _stem(file_path: str) -> str:
    base = os.path.basename(file_path)
    for suffix in _STEM_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base
