"""Read CloudFormation templates from files, directories and cloud assemblies (cdk.out).

Nested stacks are read with their parents: in a cloud assembly, a CDK NestedStack's template is a
file asset of its parent (`aws:asset:path` metadata on the AWS::CloudFormation::Stack resource),
read from the parent's directory at any depth. Template files given together are linked: a child
is the given template whose path ends in the longest part of the parent's `TemplateURL` (or a
SAM application's local `Location`). A child is read once per stack resource that names it (an
instance), each fed by that resource's `Parameters`.
"""

from __future__ import annotations

import dataclasses
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

    `name` is the display name (the path as the user gave it, or relative to the current directory;
    a child template instantiated by several stack resources gets its stack label in parentheses),
    `path` the absolute file path (symbolic links kept), `body` the parsed template, `stack_name`
    what `AWS::StackName` resolves to (the assembly's stack name, else the file name without its
    suffixes); for a nested stack, whose name is generated at deployment, it is a label instead:
    the nested stack's construct path, or the parent's label and the stack resource's logical id.

    A nested stack names its `parent` (the parent's `name`) and the `parent_resource` (the logical
    id of the stack resource there). `unlinked` lists the parent's stack resources whose template
    is not read: (logical id, why, how to supply it).
    """

    name: str
    path: str
    body: dict[str, Any] = field(repr=False)
    stack_name: str = ""
    parent: str | None = None
    parent_resource: str | None = None
    unlinked: tuple[tuple[str, str, str], ...] = ()


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
    Template files (given one by one or in a plain directory) are linked to each other once all
    are read, so they come after the cloud assemblies; a nested stack always comes after its parent.
    """
    seen: set[str] = set()
    loose: list[tuple[str | None, list[_Entry], bool]] = []  # (directory given, its files, a file read before)
    for given in paths:
        if os.path.isdir(given):
            if os.path.isfile(os.path.join(given, "manifest.json")):
                found = False
                for template in _read_assembly(given, _display(given), seen, set()):
                    found = True
                    if template is not None:
                        yield from _with_nested(template, seen)
                if not found:
                    raise PortPlanInputError(f"{given}: no CloudFormation templates found")
            else:
                entries, again = _directory_entries(given, _display(given), seen)
                if not entries and not again:
                    raise PortPlanInputError(f"{given}: no CloudFormation templates found")
                loose.append((given, entries, again))
        elif os.path.exists(given):
            if _first_time(given, seen):
                loose.append((None, [_Entry(given, _display(given), _assembly_stack_name(given) or _stem(given), True)], False))
        else:
            raise PortPlanInputError(f"{given}: no such file or directory")
    yield from _read_loose(loose, seen)


@dataclass(frozen=True)
class _Entry:
    """A template file to read: its path, display name, stem, and whether it must be a template."""

    path: str
    name: str
    stem: str
    required: bool


def _directory_entries(directory: str, shown: str, seen: set[str]) -> tuple[list[_Entry], bool]:
    """The template files of a plain directory not read yet; also whether it holds one read before."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as error:
        raise PortPlanInputError(f"{shown}: cannot read: {error.strerror}") from None
    entries, again = [], False
    for name in names:
        file_path = os.path.join(directory, name)
        if name.endswith(TEMPLATE_SUFFIXES) and os.path.isfile(file_path):
            if _first_time(file_path, seen):
                # Directories hold other JSON too (tree.json, asset manifests): skip what is no template.
                entries.append(_Entry(file_path, _joined(shown, name), _stem(name), False))
            else:
                again = True
    return entries, again


def _read_loose(groups: list[tuple[str | None, list[_Entry], bool]], seen: set[str]) -> Iterator[LoadedTemplate]:
    """Template files given one by one or in plain directories. Without nested stacks among them they
    are read and let go one at a time; else all are read, then linked (see `_linked`)."""
    nesting = any(_may_nest(entry.path) for _, entries, _ in groups for entry in entries)
    collected: list[LoadedTemplate] = []
    for directory, entries, again in groups:
        found = again
        for entry in entries:
            template = _read_template(entry.path, entry.name, entry.stem, required=entry.required)
            if template is None:
                continue
            found = True
            if nesting:
                collected.append(template)
            else:
                yield template
        if directory is not None and not found:
            raise PortPlanInputError(f"{directory}: no CloudFormation templates found")
    if nesting:
        yield from _linked(collected, seen)


def _assembly_stack_name(file_path: str) -> str | None:
    """The stack name a cloud assembly's manifest gives a template file given on its own (the CDK
    plugin passes templates that way), so that AWS::StackName and Fn::GetStackOutput line up."""
    manifest_path = os.path.join(os.path.dirname(os.path.abspath(file_path)), "manifest.json")
    if not os.path.isfile(manifest_path):
        return None
    try:
        with open(manifest_path, "rb") as stream:
            manifest = json.loads(stream.read())
    except (OSError, ValueError, RecursionError):
        return None
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    base = os.path.basename(file_path)
    for artifact_id, artifact in artifacts.items() if isinstance(artifacts, dict) else ():
        properties = artifact.get("properties") if isinstance(artifact, dict) else None
        if isinstance(properties, dict) and properties.get("templateFile") == base:
            name = properties.get("stackName")
            return name if isinstance(name, str) else str(artifact_id)
    return None


def _may_nest(file_path: str) -> bool:
    """Whether a file may hold nested stacks (a cheap look at its bytes before parsing)."""
    try:
        with open(file_path, "rb") as stream:
            data = stream.read()
    except OSError:
        return False  # reading it again reports the error
    return b"AWS::CloudFormation::Stack" in data or b"AWS::Serverless::Application" in data


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


# -- nested stacks ------------------------------------------------------------------------------------

STACK_TYPES = frozenset({"AWS::CloudFormation::Stack", "AWS::Serverless::Application"})
"""Resources whose template is another stack: CloudFormation nested stacks and SAM applications."""
_MAX_NESTING = 16


def _stack_resources(template: LoadedTemplate) -> list[tuple[str, dict[str, Any]]]:
    resources = template.body.get("Resources")
    if not isinstance(resources, dict):
        return []
    stack, application = "AWS::CloudFormation::Stack", "AWS::Serverless::Application"
    return [
        (str(logical_id), resource)
        for logical_id, resource in resources.items()
        if type(resource) is dict and ((kind := resource.get("Type")) == stack or kind == application)
    ]


def _asset_child(template: LoadedTemplate, resource: dict[str, Any]) -> str | None:
    """The file a CDK nested stack's template was synthesized to, if it names one inside the
    parent's directory: the resource's `aws:asset:path` metadata, else (an app synthesized without
    asset metadata) the asset manifest entry whose object key the TemplateURL ends in."""
    metadata = resource.get("Metadata")
    asset = metadata.get("aws:asset:path") if type(metadata) is dict else None
    directory = os.path.dirname(template.path)
    if asset is None and resource.get("Type") == "AWS::CloudFormation::Stack":
        tail, _ = _reference_tail(template, resource)
        asset = _asset_sources(directory).get(tail.rsplit("/", 1)[-1]) if tail else None
    if type(asset) is not str or not asset or os.path.isabs(asset):
        return None
    candidate = os.path.normpath(os.path.join(directory, asset))
    if os.path.dirname(os.path.realpath(candidate)) != os.path.realpath(directory):
        return None  # only files beside the parent, as CDK writes them
    return candidate


def _asset_sources(directory: str) -> dict[str, str]:
    """Object key -> source file of the file assets CDK's asset manifests (`*.assets.json`) in a
    cloud assembly directory list."""
    sources: dict[str, str] = {}
    try:
        names = [n for n in os.listdir(directory) if n.endswith(".assets.json")]
    except OSError:
        return sources
    for name in sorted(names):
        try:
            with open(os.path.join(directory, name), "rb") as stream:
                manifest = json.loads(stream.read())
        except (OSError, ValueError, RecursionError):
            continue
        files = manifest.get("files") if isinstance(manifest, dict) else None
        for entry in files.values() if isinstance(files, dict) else ():
            source = entry.get("source") if isinstance(entry, dict) else None
            path = source.get("path") if isinstance(source, dict) else None
            destinations = entry.get("destinations")
            if not isinstance(path, str) or not isinstance(destinations, dict):
                continue
            for destination in destinations.values():
                key = destination.get("objectKey") if isinstance(destination, dict) else None
                if isinstance(key, str):
                    sources.setdefault(key, path)
    return sources


def _nested_label(parent: LoadedTemplate, logical_id: str, resource: dict[str, Any]) -> str:
    """A nested stack's label: its construct path (CDK), else the parent's label and the logical id."""
    metadata = resource.get("Metadata")
    path = metadata.get("aws:cdk:path") if type(metadata) is dict else None
    if type(path) is str and ".NestedStack/" in path:
        return path.split(".NestedStack/", 1)[0]
    return f"{parent.stack_name or _stem(parent.name)}/{logical_id}"


def _with_nested(template: LoadedTemplate, seen: set[str], depth: int = 0) -> Iterator[LoadedTemplate]:
    """A template read from a cloud assembly, then its CDK nested stacks (read beside it), depth first."""
    children: list[tuple[str, LoadedTemplate]] = []
    unlinked: list[tuple[str, str, str]] = []
    for logical_id, resource in _stack_resources(template):
        child_path = _asset_child(template, resource)
        if child_path is None:
            tail, _ = _reference_tail(template, resource)
            if tail is not None:  # a nested stack that is no asset of this assembly
                shown = _segments(tail)[-1] if _segments(tail) else tail
                unlinked.append(
                    (
                        logical_id,
                        f"the template of nested stack {logical_id} ({tail}) is not among the templates given",
                        f"pass {shown} too",
                    )
                )
            continue
        if depth >= _MAX_NESTING:
            continue
        child_name = os.path.normpath(os.path.join(os.path.dirname(template.name), os.path.basename(child_path)))
        if not os.path.isfile(child_path):
            unlinked.append(
                (
                    logical_id,
                    f"the template of nested stack {logical_id} ({child_name}) is missing from the cloud assembly",
                    "synthesize the app again",
                )
            )
            continue
        _first_time(child_path, seen)
        child = _read_template(child_path, child_name, _nested_label(template, logical_id, resource))
        children.append((logical_id, child))
    yield dataclasses.replace(template, unlinked=tuple(unlinked)) if unlinked else template
    for logical_id, child in children:
        instance = dataclasses.replace(child, parent=template.name, parent_resource=logical_id)
        yield from _with_nested(instance, seen, depth + 1)


def _reference_tail(template: LoadedTemplate, resource: dict[str, Any]) -> tuple[str | None, bool]:
    """The path a stack resource names its template by (TemplateURL, or a SAM application's local
    Location), as far as the template spells it out: the literal text after the last value known only
    at deployment. Also whether all of it is literal."""
    from .intrinsics import Resolver  # the reader needs it for this only

    properties = resource.get("Properties")
    properties = properties if type(properties) is dict else {}
    node = properties.get("TemplateURL") if resource["Type"] == "AWS::CloudFormation::Stack" else properties.get("Location")
    if node is None:
        return None, False
    parts = Resolver(template.name, template.body, template.stack_name).parts(node)
    text, literal = "", True
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            text, literal = "", False
    text = text.split("?", 1)[0]
    if "://" in text:
        text, literal = text.split("://", 1)[1].partition("/")[2], False
    return (text or None), literal


def _segments(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part and part != "."]


def _exact_child(
    parent: LoadedTemplate, resource: dict[str, Any], loose: list[LoadedTemplate], seen: set[str]
) -> LoadedTemplate | None:
    """The template a stack resource names exactly: CDK's asset beside the parent (read if not
    given), or a local path relative to the parent's directory among the files given."""
    asset = _asset_child(parent, resource)
    if asset is not None:
        for candidate in loose:
            if os.path.abspath(candidate.path) == asset:
                return candidate
        if os.path.isfile(asset):
            _first_time(asset, seen)
            name = os.path.normpath(os.path.join(os.path.dirname(parent.name), os.path.basename(asset)))
            return _read_template(asset, name, _stem(asset))
    tail, literal = _reference_tail(parent, resource)
    if tail is not None and literal and not tail.startswith("/"):
        local = os.path.normpath(os.path.join(os.path.dirname(parent.path), tail))
        for candidate in loose:
            if os.path.abspath(candidate.path) == local:
                return candidate
    return None


def _scored(parent: LoadedTemplate, tail: str, loose: list[LoadedTemplate]) -> list[tuple[int, LoadedTemplate]]:
    """The files given whose path ends like `tail`, with how many trailing segments match (at least
    the file name)."""
    wanted = _segments(tail)
    found = []
    for candidate in loose:
        if candidate is parent:
            continue
        have = _segments(os.path.abspath(candidate.path))
        common = 0
        while common < min(len(wanted), len(have)) and wanted[-1 - common] == have[-1 - common]:
            common += 1
        if common:
            found.append((common, candidate))
    return found


def _matched(
    logical_id: str, tail: str, scored: list[tuple[int, LoadedTemplate]], claims: dict[str, int]
) -> LoadedTemplate | tuple[str, str]:
    """The child among the scored files: the one matching the longest part of the path, unless
    another stack resource names that file by a longer part (then it is that one's)."""
    ours = [(score, c) for score, c in scored if score >= claims.get(c.path, 0)]
    best = max((score for score, _ in ours), default=0)
    top = [c for score, c in ours if score == best]
    if len(top) == 1:
        return top[0]
    if top:
        names = ", ".join(sorted(c.name for c in top))
        return (
            f"the template of nested stack {logical_id} ({tail}) matches several templates given equally well "
            f"({names})",
            "give only the template meant, or keep the directory layout of its TemplateURL so the longer path decides",
        )
    wanted = _segments(tail)
    return (
        f"the template of nested stack {logical_id} ({tail}) is not among the templates given",
        f"pass {wanted[-1] if wanted else tail} too",
    )


def _linked(loose: list[LoadedTemplate], seen: set[str]) -> Iterator[LoadedTemplate]:
    """Template files with their nested stacks: each template no other one names is a top-level
    stack, followed by an instance of each child per stack resource naming it, depth first."""
    Link = tuple[str, "LoadedTemplate | tuple[str, str]", dict[str, Any]]
    links: dict[str, list[Link]] = {}
    wanted: list[tuple[LoadedTemplate, str, dict[str, Any], str, list[tuple[int, LoadedTemplate]]]] = []
    pending = list(loose)
    while pending:  # exact links first (CDK's assets are read here, and may nest further)
        template = pending.pop(0)
        links[template.path] = []
        for logical_id, resource in _stack_resources(template):
            child = _exact_child(template, resource, loose, seen)
            if child is not None:
                if all(child is not t for t in loose):
                    loose.append(child)  # CDK's nested template beside a parent given as a file
                    pending.append(child)
                links[template.path].append((logical_id, child, resource))
                continue
            tail, _ = _reference_tail(template, resource)
            if tail is None:
                if resource["Type"] == "AWS::Serverless::Application":
                    why = (
                        f"serverless application {logical_id} comes from the Serverless Application Repository, "
                        "whose template is not checked",
                        "acknowledge this finding once its template is checked",
                    )
                    links[template.path].append((logical_id, why, resource))
                continue
            wanted.append((template, logical_id, resource, tail, []))
    claims: dict[str, int] = {}  # file -> the longest part of a path any stack resource names it by
    for index, (template, logical_id, resource, tail, _) in enumerate(wanted):
        scored = _scored(template, tail, loose)
        wanted[index] = (template, logical_id, resource, tail, scored)
        for score, candidate in scored:
            claims[candidate.path] = max(claims.get(candidate.path, 0), score)
    for template, logical_id, resource, tail, scored in wanted:
        links[template.path].append((logical_id, _matched(logical_id, tail, scored, claims), resource))
    children = {child.path for found in links.values() for _, child, _ in found if isinstance(child, LoadedTemplate)}
    counts: dict[str, int] = {}

    def count(template: LoadedTemplate, ancestors: tuple[str, ...]) -> None:
        counts[template.path] = counts.get(template.path, 0) + 1
        for _, child, _ in links.get(template.path, ()):
            if isinstance(child, LoadedTemplate) and child.path not in ancestors and len(ancestors) < _MAX_NESTING:
                count(child, (*ancestors, child.path))

    roots = [t for t in loose if t.path not in children]
    for root in roots:
        count(root, (root.path,))

    reached: set[str] = set()

    def expand(template: LoadedTemplate, ancestors: tuple[str, ...]) -> Iterator[LoadedTemplate]:
        reached.add(template.path)
        unlinked = []
        nested = []
        for logical_id, child, resource in links.get(template.path, ()):
            if not isinstance(child, LoadedTemplate):
                unlinked.append((logical_id, *child))
            elif child.path in ancestors or len(ancestors) >= _MAX_NESTING:
                unlinked.append(
                    (logical_id, f"nested stack {logical_id} names {child.name}, one of its own parents", "fix the TemplateURL")
                )
            else:
                nested.append((logical_id, child, resource))
        yield dataclasses.replace(template, unlinked=tuple(unlinked)) if unlinked else template
        for logical_id, child, resource in nested:
            label = _nested_label(template, logical_id, resource)
            name = child.name if counts.get(child.path, 0) <= 1 else f"{child.name} ({label})"
            instance = dataclasses.replace(
                child, name=name, stack_name=label, parent=template.name, parent_resource=logical_id
            )
            yield from expand(instance, (*ancestors, child.path))

    for root in roots:
        yield from expand(root, (root.path,))
    for template in loose:
        if template.path not in reached:  # templates of a cycle no top-level template reaches
            yield from expand(template, (template.path,))
