"""Read CloudFormation templates from files, directories and cloud assemblies (cdk.out).

Nested stacks are read with their parents: in a cloud assembly, a CDK NestedStack's template is a
file asset of its parent (`aws:asset:path` metadata on the AWS::CloudFormation::Stack resource),
read from the parent's directory at any depth. Template files given together are linked: a child
is the given template whose path ends in the longest part of the parent's `TemplateURL` (or a
SAM application's local `Location`). A child is read once per stack resource that names it (an
instance), each fed by that resource's `Parameters`, at most `MAX_INSTANCES` times.

Only regular files are read (a FIFO or a device is an input error), none larger than
`MAX_FILE_BYTES`. A cloud assembly's manifest may name only files inside the assembly (anything else
is an input error naming the entry); a symbolic link in a directory given that points out of it is
not followed, and neither are the files read without being given (nested-stack assets,
`*.assets.json`, the `manifest.json` beside a template given alone) when they lie outside the
directory of what was given: each skipped link is reported as a `SkippedPathWarning`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import sys
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from ._gc import paused_gc

TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
_STEM_SUFFIXES = (".template.json", ".template.yaml", ".template.yml", *TEMPLATE_SUFFIXES)
MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest file read (CloudFormation itself takes templates of at most 1 MB)."""
MAX_INSTANCES = 1000
"""How many times nested stacks may instantiate one child template (once per stack resource naming
it, times the instances of that resource's own template)."""


class PortPlanInputError(Exception):
    """Input that cannot be read as templates; the message is one line naming the file."""


class SkippedPathWarning(UserWarning):
    """A file the reader did not follow because it lies outside what was given; the message is one
    line, `skipped PATH: why`."""


def _skip(shown: str, why: str) -> None:
    warnings.warn(f"skipped {shown}: {why}", SkippedPathWarning, stacklevel=3)


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
    manifests: dict[str, dict[str, str]] = {}  # directory -> template file -> stack name
    instances: dict[str, int] = {}  # nested template file -> its instances so far
    for given in paths:
        if os.path.isdir(given):
            if os.path.isfile(os.path.join(given, "manifest.json")):
                found = False
                for template in _read_assembly(given, _display(given), seen, set()):
                    found = True
                    if template is not None:
                        yield from _with_nested(template, seen, instances)
                if not found:
                    raise PortPlanInputError(f"{given}: no CloudFormation templates found")
            else:
                entries, again = _directory_entries(given, _display(given), seen)
                if not entries and not again:
                    raise PortPlanInputError(f"{given}: no CloudFormation templates found")
                loose.append((given, entries, again))
        elif os.path.exists(given):
            if _first_time(given, seen):
                stack_name = _assembly_stack_name(given, manifests) or _stem(given)
                loose.append((None, [_Entry(given, _display(given), stack_name, True)], False))
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
    real = os.path.realpath(directory)
    for name in names:
        file_path = os.path.join(directory, name)
        if name.endswith(TEMPLATE_SUFFIXES) and os.path.islink(file_path) and not _inside(file_path, real):
            _skip(_joined(shown, name), f"a symbolic link to a file outside {shown}")
            continue
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


def _assembly_stack_name(file_path: str, manifests: dict[str, dict[str, str]]) -> str | None:
    """The stack name a cloud assembly's manifest gives a template file given on its own (the CDK
    plugin passes templates that way), so that AWS::StackName and Fn::GetStackOutput line up.
    `manifests` keeps each directory's manifest, read once."""
    directory = os.path.dirname(os.path.abspath(file_path))
    names = manifests.get(directory)
    if names is None:
        names = manifests[directory] = _stack_names(directory)
    return names.get(os.path.basename(file_path))


def _stack_names(directory: str) -> dict[str, str]:
    """Template file -> stack name, from the manifest.json in `directory` (empty without one)."""
    manifest_path = os.path.join(directory, "manifest.json")
    if not os.path.isfile(manifest_path):
        return {}
    if os.path.islink(manifest_path) and not _inside(manifest_path, os.path.realpath(directory)):
        _skip(_display(manifest_path), f"a symbolic link to a file outside {_display(directory)}")
        return {}
    try:
        manifest = json.loads(_read_bytes(manifest_path, manifest_path))
    except (PortPlanInputError, ValueError, RecursionError):
        return {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    names: dict[str, str] = {}
    for artifact_id, artifact in artifacts.items() if isinstance(artifacts, dict) else ():
        properties = artifact.get("properties") if isinstance(artifact, dict) else None
        template_file = properties.get("templateFile") if isinstance(properties, dict) else None
        if isinstance(template_file, str) and template_file not in names:
            name = properties.get("stackName")
            names[template_file] = name if isinstance(name, str) else str(artifact_id)
    return names


def _may_nest(file_path: str) -> bool:
    """Whether a file may hold nested stacks (a cheap look at its bytes before parsing)."""
    try:
        data = _read_bytes(file_path, file_path)
    except PortPlanInputError:
        return False  # reading it again reports the error
    return b"AWS::CloudFormation::Stack" in data or b"AWS::Serverless::Application" in data


def _read_assembly(directory: str, shown: str, seen: set[str], visited: set[str]) -> Iterator[LoadedTemplate | None]:
    real = os.path.realpath(directory)
    if real in visited:
        return
    visited.add(real)
    manifest_name = _joined(shown, "manifest.json")
    if not _inside(os.path.join(directory, "manifest.json"), real):
        raise PortPlanInputError(f"{manifest_name}: a symbolic link to a file outside the cloud assembly {shown}")
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
    for artifact_id, (template_file, _, _) in stacks.items():
        _check_contained(directory, real, template_file, f"{manifest_name}: artifact {artifact_id}: templateFile")
    for directory_name in nested:
        _check_contained(directory, real, directory_name, f"{manifest_name}: nested assembly directoryName")
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


def _check_contained(directory: str, real: str, relative: str, entry: str) -> None:
    """Raise PortPlanInputError unless `relative`, named by a manifest entry, lies in the assembly
    `directory` (whose resolved path is `real`), symbolic links resolved."""
    if os.path.isabs(relative) or os.path.splitdrive(relative)[0]:
        raise PortPlanInputError(
            f"{entry} {relative} is an absolute path: a manifest may name only files inside its cloud assembly"
        )
    if not _inside(os.path.join(directory, relative), real):
        raise PortPlanInputError(
            f"{entry} {relative} lies outside the cloud assembly: a manifest may name only files inside it"
        )


def _inside(path: str, root: str) -> bool:
    """Whether `path`, symbolic links resolved, is `root` or lies under it (`root` already resolved)."""
    resolved = os.path.realpath(path)
    return resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep)


def _dependency_order(stacks: dict[str, tuple[str, str, list[str]]]) -> list[str]:
    """Stack ids with each stack after the stacks it depends on; ties (and cycles) by id."""
    order: list[str] = []
    placed: set[str] = set()
    visiting: set[str] = set()
    for start in sorted(stacks):
        # A depth-first walk with its own stack: dependency chains can be as long as the manifest.
        pending: list[tuple[str, Iterator[str]]] = []
        if start not in placed:
            visiting.add(start)
            pending.append((start, iter(sorted(stacks[start][2]))))
        while pending:
            artifact_id, dependencies = pending[-1]
            for dependency in dependencies:
                if dependency in stacks and dependency not in placed and dependency not in visiting:
                    visiting.add(dependency)
                    pending.append((dependency, iter(sorted(stacks[dependency][2]))))
                    break
            else:
                pending.pop()
                visiting.discard(artifact_id)
                placed.add(artifact_id)
                order.append(artifact_id)
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


def _read_bytes(file_path: str, name: str) -> bytes:
    """The bytes of a regular file; PortPlanInputError for anything else (a FIFO, a device, a
    directory), for a file larger than MAX_FILE_BYTES, or one that cannot be read."""
    try:
        if not stat.S_ISREG(os.stat(file_path).st_mode):  # before opening: some devices act on open
            raise PortPlanInputError(f"{name}: not a regular file")
        # Non-blocking, so that a FIFO swapped in after the check cannot stall the open.
        descriptor = os.open(file_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise PortPlanInputError(f"{name}: cannot read: {error.strerror or error}") from None
    with open(descriptor, "rb") as stream:
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise PortPlanInputError(f"{name}: not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise PortPlanInputError(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            data = stream.read()
        except OSError as error:
            raise PortPlanInputError(f"{name}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:  # grew while read
        raise PortPlanInputError(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return data


def _parse(file_path: str, name: str) -> Any:
    data = _read_bytes(file_path, name)
    if file_path.endswith(".json") or (file_path.endswith(".template") and data.lstrip()[:1] in (b"{", b"[")):
        try:
            return json.loads(data)
        except json.JSONDecodeError as error:
            raise PortPlanInputError(
                f"{name}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
            ) from None
        except RecursionError:
            raise PortPlanInputError(f"{name}: invalid JSON: it nests deeper than Python can read") from None
        except ValueError as error:  # a number past Python's digit limit, or bytes that are no text
            raise PortPlanInputError(f"{name}: invalid JSON{_long_number(data) or ': ' + _one_line(error)}") from None
    from .yaml_loader import YamlError, parse_yaml  # PyYAML loads only when YAML is read

    try:
        return parse_yaml(data)
    except YamlError as error:
        where = f" {error.where}" if error.where else ""
        raise PortPlanInputError(f"{name}: invalid YAML{where}: {error.problem}") from None


def _long_number(data: bytes) -> str | None:
    """` at line L column C: a number ...` for the first number longer than Python converts, if any."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
    found = re.search(rb"[0-9]{%d,}" % (limit + 1), data) if limit else None
    if found is None:
        return None
    line = data.count(b"\n", 0, found.start()) + 1
    column = found.start() - (data.rfind(b"\n", 0, found.start()) + 1) + 1
    return f" at line {line} column {column}: a number written with more than {limit:,} digits"


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
    real = os.path.realpath(directory)
    for name in sorted(names):
        file_path = os.path.join(directory, name)
        if not _inside(file_path, real):
            _skip(_display(file_path), f"a symbolic link to a file outside {_display(directory)}")
            continue
        try:
            manifest = json.loads(_read_bytes(file_path, name))
        except (PortPlanInputError, ValueError, RecursionError):
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


def _with_nested(
    template: LoadedTemplate, seen: set[str], instances: dict[str, int], depth: int = 0
) -> Iterator[LoadedTemplate]:
    """A template read from a cloud assembly, then its CDK nested stacks (read beside it), depth first.
    `instances` counts the instances of each child file so far (at most MAX_INSTANCES)."""
    children: list[tuple[str, LoadedTemplate]] = []
    unlinked: list[tuple[str, str, str]] = []
    parsed: dict[str, LoadedTemplate] = {}  # a child named by several resources here is read once
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
        child_name = os.path.normpath(os.path.join(os.path.dirname(template.name), os.path.basename(child_path)))
        if depth >= _MAX_NESTING:
            unlinked.append(
                (
                    logical_id,
                    f"nested stack {logical_id} ({child_name}) lies deeper than {_MAX_NESTING} levels of nested stacks",
                    "check it as a template of its own",
                )
            )
            continue
        if not os.path.isfile(child_path):
            unlinked.append(
                (
                    logical_id,
                    f"the template of nested stack {logical_id} ({child_name}) is missing from the cloud assembly",
                    "synthesize the app again",
                )
            )
            continue
        _count_instance(instances, child_path, child_name)
        _first_time(child_path, seen)
        label = _nested_label(template, logical_id, resource)
        child = parsed.get(child_path)
        if child is None:
            child = parsed[child_path] = _read_template(child_path, child_name, label)
        # CDK writes one asset per nested stack; a file named again gets its label, as in `_linked`,
        # so that every instance keeps a name of its own.
        name = child_name if instances[child_path] == 1 else f"{child_name} ({label})"
        children.append((logical_id, dataclasses.replace(child, name=name, stack_name=label)))
    yield dataclasses.replace(template, unlinked=tuple(unlinked)) if unlinked else template
    for logical_id, child in children:
        instance = dataclasses.replace(child, parent=template.name, parent_resource=logical_id)
        yield from _with_nested(instance, seen, instances, depth + 1)


def _count_instance(instances: dict[str, int], child_path: str, child_name: str) -> None:
    """Count one more instance of a child template; PortPlanInputError past MAX_INSTANCES."""
    count = instances[child_path] = instances.get(child_path, 0) + 1
    if count > MAX_INSTANCES:
        raise PortPlanInputError(
            f"{child_name}: nested stacks instantiate this template more than {MAX_INSTANCES:,} times "
            "(once per stack resource naming it, in every instance of that resource's template)"
        )


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
    pending = deque(loose)
    while pending:  # exact links first (CDK's assets are read here, and may nest further)
        template = pending.popleft()
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
    counted: set[str] = set()

    # The same walk as `expand` below, counting first: how many instances each file gets (which names
    # them), and a stop before an exponential fan-out is expanded. Recursion stops at _MAX_NESTING.
    def count(template: LoadedTemplate, ancestors: tuple[str, ...]) -> None:
        counted.add(template.path)
        counts[template.path] = counts.get(template.path, 0) + 1
        _count_instance(instances, template.path, template.name)
        for _, child, _ in links.get(template.path, ()):
            if isinstance(child, LoadedTemplate) and child.path not in ancestors and len(ancestors) < _MAX_NESTING:
                count(child, (*ancestors, child.path))

    instances: dict[str, int] = {}
    roots = [t for t in loose if t.path not in children]
    for root in roots:
        count(root, (root.path,))
    for template in loose:
        if template.path not in counted:  # as `expand` reaches them below
            count(template, (template.path,))

    reached: set[str] = set()

    def expand(template: LoadedTemplate, ancestors: tuple[str, ...]) -> Iterator[LoadedTemplate]:
        reached.add(template.path)
        unlinked = []
        nested = []
        for logical_id, child, resource in links.get(template.path, ()):
            if not isinstance(child, LoadedTemplate):
                unlinked.append((logical_id, *child))
            elif child.path in ancestors:
                unlinked.append(
                    (logical_id, f"nested stack {logical_id} names {child.name}, one of its own parents", "fix the TemplateURL")
                )
            elif len(ancestors) >= _MAX_NESTING:
                unlinked.append(
                    (
                        logical_id,
                        f"nested stack {logical_id} ({child.name}) lies deeper than {_MAX_NESTING} levels of nested stacks",
                        "check it as a template of its own",
                    )
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
