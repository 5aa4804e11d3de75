"""Read CloudFormation templates from files, directories and cloud assemblies (cdk.out)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from ._gc import paused_gc

TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
_STEM_SUFFIXES = (".template.json", ".template.yaml", ".template.yml", *TEMPLATE_SUFFIXES)


class PortPlanInputError(Exception):
    """Input that cannot be read as templates; the message is one line naming the file."""


@dataclass(frozen=True)
class LoadedTemplate:
    """One CloudFormation template as read from disk.

    `name` is the display name (the path as the user gave it, or relative to the current directory),
    `path` the absolute file path (symbolic links kept), `body` the parsed template, `stack_name`
    what `AWS::StackName` resolves to (the assembly's stack name, else the file name without its
    suffixes).
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
        return list(iter_templates(paths))


def iter_templates(paths: Sequence[str]) -> Iterator[LoadedTemplate]:
    """Read the templates under `paths` one at a time, as `load_templates` does.

    A cloud assembly yields its stacks in dependency order: a stack comes after the stacks it
    depends on (those it imports from). Errors are raised when the reading reaches them.
    """
    seen: set[str] = set()
    for given in paths:
        if os.path.isdir(given):
            found = False
            for template in _read_directory(given, _display(given), seen):
                found = True
                if template is not None:
                    yield template
            if not found:
                raise PortPlanInputError(f"{given}: no CloudFormation templates found")
        elif os.path.exists(given):
            if _first_time(given, seen):
                yield _read_template(given, _display(given), _stem(given))
        else:
            raise PortPlanInputError(f"{given}: no such file or directory")


def _read_directory(directory: str, shown: str, seen: set[str]) -> Iterator[LoadedTemplate | None]:
    """Read a directory; `shown` is how messages and display names spell it.

    Yields None for a template already read through another path.
    """
    if os.path.isfile(os.path.join(directory, "manifest.json")):
        yield from _read_assembly(directory, shown, seen, set())
        return
    try:
        names = sorted(os.listdir(directory))
    except OSError as error:
        raise PortPlanInputError(f"{shown}: cannot read: {error.strerror}") from None
    for name in names:
        file_path = os.path.join(directory, name)
        if name.endswith(TEMPLATE_SUFFIXES) and os.path.isfile(file_path):
            if not _first_time(file_path, seen):
                yield None
                continue
            # Directories hold other JSON too (tree.json, asset manifests): skip what is no template.
            template = _read_template(file_path, _joined(shown, name), _stem(name), required=False)
            if template is not None:
                yield template


def _read_assembly(directory: str, shown: str, seen: set[str], visited: set[str]) -> Iterator[LoadedTemplate | None]:
    real = os.path.realpath(directory)
    if real in visited:
        return
    visited.add(real)
    manifest_name = _joined(shown, "manifest.json")
    manifest = _parse(os.path.join(directory, "manifest.json"), manifest_name)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise PortPlanInputError(f"{manifest_name}: not a cloud assembly manifest (no artifacts)")
    stacks: dict[str, tuple[str, str, list[str]]] = {}  # id -> (template file, stack name, dependencies)
    nested: list[str] = []
    for artifact_id, artifact in sorted(artifacts.items()):
        if not isinstance(artifact, dict) or not isinstance(artifact.get("properties"), dict):
            continue
        properties = artifact["properties"]
        kind = artifact.get("type")
        if kind == "aws:cloudformation:stack" and isinstance(properties.get("templateFile"), str):
            stack_name = properties.get("stackName")
            dependencies = artifact.get("dependencies")
            stacks[artifact_id] = (
                properties["templateFile"],
                stack_name if isinstance(stack_name, str) else artifact_id,
                [d for d in dependencies if isinstance(d, str)] if isinstance(dependencies, list) else [],
            )
        elif kind == "cdk:cloud-assembly" and isinstance(properties.get("directoryName"), str):
            nested.append(properties["directoryName"])
    for artifact_id in _dependency_order(stacks):
        template_file, stack_name, _ = stacks[artifact_id]
        file_path = os.path.join(directory, template_file)
        name = _joined(shown, template_file)
        if not os.path.isfile(file_path):
            raise PortPlanInputError(f"{name}: no such file (named in {manifest_name})")
        yield _read_template(file_path, name, stack_name) if _first_time(file_path, seen) else None
    for directory_name in nested:
        path = os.path.join(directory, directory_name)
        if os.path.isfile(os.path.join(path, "manifest.json")):
            yield from _read_assembly(path, _joined(shown, directory_name), seen, visited)


def _dependency_order(stacks: dict[str, tuple[str, str, list[str]]]) -> list[str]:
    """Stack ids with each stack after the stacks it depends on; ties (and cycles) by id."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False while visiting, True once placed

    def visit(artifact_id: str) -> None:
        if artifact_id in state:
            return
        state[artifact_id] = False
        for dependency in sorted(stacks[artifact_id][2]):
            if dependency in stacks:
                visit(dependency)
        state[artifact_id] = True
        order.append(artifact_id)

    for artifact_id in sorted(stacks):
        visit(artifact_id)
    return order


def _first_time(file_path: str, seen: set[str]) -> bool:
    """Whether `file_path` was not read yet (through any path given); it counts as read from now on."""
    absolute = os.path.abspath(file_path)
    if absolute in seen:
        return False
    seen.add(absolute)
    return True


@overload
def _read_template(file_path: str, name: str, stack_name: str) -> LoadedTemplate: ...
@overload
def _read_template(file_path: str, name: str, stack_name: str, *, required: bool) -> LoadedTemplate | None: ...
def _read_template(file_path: str, name: str, stack_name: str, *, required: bool = True) -> LoadedTemplate | None:
    """Read one template; a file without a Resources mapping is an error, or None unless `required`."""
    body = _parse(file_path, name)
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        if required:
            raise PortPlanInputError(f"{name}: not a CloudFormation template (no Resources mapping)")
        return None
    return LoadedTemplate(name=name, path=os.path.abspath(file_path), body=body, stack_name=stack_name)


def _parse(file_path: str, name: str) -> Any:
    try:
        with open(file_path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise PortPlanInputError(f"{name}: cannot read: {error.strerror or error}") from None
    if file_path.endswith(".json") or (file_path.endswith(".template") and data.lstrip()[:1] in (b"{", b"[")):
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
