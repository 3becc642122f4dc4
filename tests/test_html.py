"""The HTML reports: what a student's page and the class page show, that hostile text stays text,
that pages render in a real browser (headless Chromium), and `autograder grade --html`."""
import importlib.machinery
import importlib.util
import json
import math
import re
from dataclasses import replace
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import pytest
from markupsafe import escape

import browser

from autograder import cli, exercise
from autograder import grade as grade_command
from autograder.grading.results import FAILED, PASSED, CheckResult, GradeResult, PartResult
from autograder.grading.rubric import load_rubric
from autograder.release import without_markers
from autograder.reports import html

PARTS = (("add", "the _backward of +", 1), ("mul", "the _backward of *", 1), ("backward", "Value.backward()", 2),
         ("convergence", "training on the 3-example dataset", 1))
OVERWRITES = "you assign the gradient (`=`) instead of adding to it (`+=`)"
HOSTILE = "<script>alert('pwned')</script>\x1b[31m\u202e\x00 \\N ../../x"  # \N: dot's "this node's id"
RED = html.COLORS["wrong"]


# --- synthetic results --------------------------------------------------------------------


def reused_operand_graph(a_grad=-3.0, title="L = (a * b) * a, with a used twice"):
    """a=1.5, b=-2: dL/da = 2ab = -6, dL/db = a^2 = 2.25, dL/dc = a = 1.5. With `=` for `+=`
    in mul, a's second contribution overwrites its first: a.grad = -3."""
    leaf = dict(op="leaf", inputs=[])
    return {"kind": "graph", "title": title, "root": "L", "nodes": [
        {"name": "a", "data": 1.5, "expected_grad": -6.0, "got_grad": a_grad, **leaf},
        {"name": "b", "data": -2.0, "expected_grad": 2.25, "got_grad": 2.25, **leaf, "op": ""},  # micrograd's
        {"name": "c", "op": "*", "data": -3.0, "inputs": ["a", "b"], "expected_grad": 1.5, "got_grad": 1.5},
        {"name": "L", "op": "*", "data": -4.5, "inputs": ["c", "a"], "expected_grad": 1.0, "got_grad": 1.0}]}


def diverging_losses():
    expected = [4.8 * 0.7 ** step for step in range(20)]
    got = [4.8, 5.9, 8.1, 13.0, 27.5, 90.2, 612.0, 1.4e5, math.inf] + [None] * 11  # None: nan on the wire
    return {"kind": "losses", "expected": expected, "got": got}


def part(part_id, checks):
    title, points = next((t, p) for i, t, p in PARTS if i == part_id)
    return PartResult(part_id, title, points, tuple(checks))


def passing(part_id):
    return part(part_id, [CheckResult(part_id, "all", PASSED)])


def failing(part_id, message, misconceptions=(), evidence=()):
    return part(part_id, [CheckResult(part_id, "case", FAILED, message, 0.01, tuple(misconceptions), tuple(evidence))])


def result(name, parts, problem="", warnings=()):
    return GradeResult(name, tuple(parts), "bubblewrap: namespaces", 1.25, problem, tuple(warnings))


def wrong_submission(name="submissions/alice.zip"):
    """`=` for `+=` in mul, and a training run that diverges."""
    return result(name, [
        passing("add"),
        failing("mul", f"a value used twice:\n    L = (a * b) * a\n  expected a.grad = -6, got -3\n  likely: {OVERWRITES}",
                [OVERWRITES], [reused_operand_graph()]),
        passing("backward"),
        failing("convergence", "the loss grew from 4.8 to 1.4e+05 in 8 steps, then became nan",
                evidence=[diverging_losses()])])


def passed_submission(name="submissions/bob"):
    return result(name, [passing(i) for i, _, _ in PARTS])


def hostile_submission(name=HOSTILE):
    """Student-controlled text everywhere: the name, messages, warnings, evidence."""
    graph = reused_operand_graph(a_grad=HOSTILE, title=HOSTILE)
    graph["nodes"][1]["name"] = HOSTILE
    graph["nodes"][2]["inputs"] = ["a", HOSTILE]
    return result(name, [
        passing("add"),
        failing("mul", f"your code raised {HOSTILE}", [OVERWRITES, HOSTILE], [graph]),
        passing("backward"),
        failing("convergence", HOSTILE, evidence=[{"kind": HOSTILE}])], warnings=[f"changed line: {HOSTILE}"])


def unusable_submission(name="submissions/carol.zip"):
    problem = "no engine.py found in the submission"
    return result(name, [failing(i, problem) for i, _, _ in PARTS], problem=problem)


@pytest.fixture(scope="module")
def wrong_page():
    return html.student_page(wrong_submission())


@pytest.fixture
def class_results():
    return [wrong_submission(), passed_submission(), hostile_submission(), unusable_submission(),
            wrong_submission("submissions/dave")]


# --- helpers that read pages ---------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, page):
        super().__init__()
        self.tags = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def figure(page, kind, figure_id=None):
    """The inner markup of the page's first <figure class="kind"> (with that id, if given)."""
    with_id = f' id="{figure_id}"' if figure_id else ""
    found = re.search(rf'<figure class="{kind}"{with_id}[^>]*>(.*?)</figure>', page, re.S)
    assert found, f"no {kind} figure"
    return found.group(1)


def svg_tree(markup):
    found = re.search(r"<svg.*</svg>", markup, re.S)
    assert found, "no svg"
    return ElementTree.fromstring(found.group(0))


SVG = "{http://www.w3.org/2000/svg}"


def graph_nodes(svg):
    """{node id: text of the node} for each drawn Value box, and the ids drawn in red."""
    boxes, red = {}, set()
    for group in svg.iter(f"{SVG}g"):
        if group.get("class") != "node":
            continue
        node_id = group.find(f"{SVG}title").text
        boxes[node_id] = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
        if any(RED.lower() in (shape.get("stroke") or "").lower() for shape in group):
            red.add(node_id)
    return boxes, red


# --- a student's page ----------------------------------------------------------------------


def test_the_verdict_comes_first_then_a_picture_per_failed_part(wrong_page):
    page = wrong_page
    assert page.index("<table") < page.index('<section class="failure" id="part-mul"') < page.index('id="part-convergence"')
    assert re.search(r'<span class="big">3</span><span class="of"> / 5</span>', page)
    rows = re.findall(r'<tr id="row-(\w+)">.*?class="chip (\S+)"', page, re.S)
    assert rows == [("add", "passed"), ("mul", "failed"), ("backward", "passed"), ("convergence", "failed")]
    assert "expected a.grad = -6, got -3" in page and "all checks passed" in page
    assert ('<p class="likely"><strong>likely:</strong> you assign the gradient (<code>=</code>) instead of adding to it '
            '(<code>+=</code>)') in page  # code as code, not backticks


def test_a_wrong_gradient_is_drawn_with_the_wrong_node_in_red_and_both_values(wrong_page):
    svg = svg_tree(figure(wrong_page, "graph"))
    boxes, red = graph_nodes(svg)
    a, b, c, loss = "v0", "v1", "v2", "v3"
    assert set(boxes) == {a, b, c, loss, f"{c}op", f"{loss}op"}, "a circle for each op, none for the leaves"
    assert red == {a}
    assert "grad expected -6" in boxes[a] and "grad yours -3" in boxes[a] and "data 1.5" in boxes[a]
    assert "grad expected 2.25" in boxes[b] and "grad yours 2.25" in boxes[b]
    edges = {e.find(f"{SVG}title").text for e in svg.iter(f"{SVG}g") if e.get("class") == "edge"}
    assert {f"{a}->{c}op", f"{b}->{c}op", f"{c}op->{c}", f"{c}->{loss}op", f"{a}->{loss}op"} <= edges


def test_gradients_that_differ_only_below_the_graders_tolerance_are_not_red():
    node = {"expected_grad": -6.0, "got_grad": -6.0 * (1 + 1e-14)}
    assert not html.gradient_differs(node)
    assert html.gradient_differs({"expected_grad": -6.0, "got_grad": -6.0 * (1 + 1e-9)})  # finite differences
    assert html.gradient_differs({"expected_grad": 0.0, "got_grad": None})
    assert html.gradient_differs({"expected_grad": 0.0, "got_grad": "raised ZeroDivisionError"})
    assert not html.gradient_differs({"expected_grad": 0.0, "got_grad": 0})  # an untouched int grad is right


def test_a_diverging_run_is_drawn_against_the_reference_curve(wrong_page):
    svg = svg_tree(figure(wrong_page, "losses"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"reference", "yours", "training step", "loss", "no finite loss from step 8 on"} <= set(texts)
    lines = [g for g in svg.iter(f"{SVG}g") if (g.get("id") or "").startswith("line2d_")]
    curves = [path for g in lines for path in g.iter(f"{SVG}path") if len(path.get("d", "").split("L")) > 5]
    assert len(curves) >= 2, "both loss curves are drawn"


def test_a_passed_submission_shows_the_table_and_no_pictures():
    page = html.student_page(passed_submission())
    assert page.count("all checks passed") == len(PARTS)
    assert "<section" not in page and "<svg" not in page and "chip failed" not in page


def test_an_unusable_submission_says_why_first_and_once():
    page = html.student_page(unusable_submission())
    assert page.index("could not be graded") < page.index("<table")
    assert page.count("no engine.py found in the submission") == 1
    assert page.count("not graded: see above") == len(PARTS)


def called_out_of_order():
    """backward() called the _backward functions in an order that happens to give every gradient
    of its graph right: the check fails on the order, no gradient is wrong."""
    graph = reused_operand_graph(a_grad=-6.0, title="backward() on a graph with a shared node")
    failure = failing("backward", "backward() on a graph:\n  likely: c's _backward ran before that of L, which uses c",
                      evidence=[graph])
    return result("submissions/erin", [passing("add"), passing("mul"), failure, passing("convergence")])


def test_a_graph_whose_gradients_are_all_right_says_so_instead_of_pointing_at_red_boxes():
    page = html.student_page(called_out_of_order())
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page, re.S).group(1)
    assert "No box is red: every gradient here came out right" in caption and "Red boxes" not in caption
    assert graph_nodes(svg_tree(figure(page, "graph")))[1] == set()
    assert "Red boxes" in re.search(r"<figcaption>(.*?)</figcaption>", html.student_page(wrong_submission()), re.S).group(1)


def test_student_pages_link_back_to_the_class_page_and_every_page_is_dated(tmp_path, class_results):
    index, pages = html.write_pages(class_results, tmp_path / "pages", made="2026-12-03")
    for page in pages:
        text = page.read_text()
        assert '<a href="index.html">← class report</a>' in text and "grade report of 2026-12-03" in text
    assert "class report of 2026-12-03" in index.read_text()
    assert "href" not in html.student_page(wrong_submission()).split("<h1>")[0].split("<body>")[1]  # alone: no link


def test_misconceptions_show_code_as_code_and_hostile_text_as_text(class_results):
    page = html.class_page(class_results)
    assert "<strong>you assign the gradient (<code>=</code>) instead of adding to it (<code>+=</code>)</strong>" in page
    hostile = html.code_spans("`<script>` \x1b[31m")
    assert hostile == "<code>&lt;script&gt;</code> \\x1b[31m"


def test_without_dot_the_page_says_so_instead_of_the_graph(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # graphviz finds no `dot`
    page = html.student_page(wrong_submission())
    assert str(escape(html.MISSING_DOT)) in page
    assert "<svg" not in figure(page, "graph")
    assert "<svg" in figure(page, "losses")


def test_pages_are_the_same_after_a_round_trip_through_json(wrong_page):
    copy = GradeResult.from_dict(json.loads(json.dumps(wrong_submission().to_dict())))
    assert html.student_page(copy) == wrong_page


# --- hostile text ----------------------------------------------------------------------------


def test_hostile_text_stays_text_on_both_pages(class_results):
    for page in (html.student_page(hostile_submission()), html.class_page(class_results)):
        tags = Tags(page).tags
        assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed", "img")]
        assert not [(t, a) for t, attrs in tags for a in attrs if a.startswith("on")]
        assert "&lt;script&gt;alert(" in page
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", page), "control characters are shown, not sent"
        assert r"\x1b[31m\u202e\x00" in page


def test_hostile_text_in_evidence_stays_text_inside_the_graph():
    markup = figure(html.student_page(hostile_submission()), "graph")
    svg = svg_tree(markup)  # still well-formed XML
    assert "<script" not in markup
    boxes, red = graph_nodes(svg)
    assert any("alert('pwned')" in text and "\\N ../../x" in text for text in boxes.values())
    assert "v0" in red  # a's gradient is text, not a number: wrong


def test_file_names_are_safe_distinct_and_never_the_class_page():
    names = html.page_names([passed_submission(n) for n in (
        "../../x", "<script>", "a/submission", "b/submission/", "index", "INDEX.zip", "", ".", "..",
        "C:\\evil\\y.zip", "\x1b[31mred", "x" * 500)])
    assert len(set(n.lower() for n in names)) == len(names) and "index.html" not in [n.lower() for n in names]
    assert all(re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.html", n) and len(n) <= 90 for n in names), names
    assert names[:4] == ["x.html", "script.html", "submission.html", "submission-2.html"]


def test_write_pages_writes_only_inside_its_folder(tmp_path, class_results):
    folder = tmp_path / "deep" / "pages"
    index, pages = html.write_pages(class_results, folder)
    assert index == folder / "index.html" and len(pages) == len(class_results)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted([index, *pages])
    links = [attrs["href"] for tag, attrs in Tags(index.read_text()).tags if tag == "a" and "href" in attrs]
    assert set(links) == {p.name for p in pages}
    assert "&lt;script&gt;alert(&#39;pwned&#39;)" in pages[2].read_text()


# --- the class page --------------------------------------------------------------------------


def test_the_class_page_counts_misconceptions_and_names_the_students(class_results):
    page = html.class_page(class_results, html.page_names(class_results))
    items = re.findall(r"<li><strong>(.*?)</strong>\s*<div class=\"sub\">(\d+) students?:(.*?)</div>", page, re.S)
    assert [(count, text[:20]) for text, count, _ in items] == [("3", "you assign the gradi"), ("1", "&lt;script&gt;alert(")]
    assert re.findall(r'href="([^"]+)"', items[0][2]) == ["alice.html", "x.html", "dave.html"]
    assert "mean score 2.80 / 5" in page and "1 could not be graded" in page


def test_the_class_page_plots_scores_pass_rates_and_misconceptions(class_results):
    page = html.class_page(class_results)
    scores = [t.text for t in svg_tree(figure(page, "plot", "scores")).iter(f"{SVG}text")]
    assert {"score (out of 5)", "students"} <= set(scores)
    rates = [t.text for t in svg_tree(figure(page, "plot", "pass-rates")).iter(f"{SVG}text")]
    assert {"add", "mul", "backward", "convergence", "4 / 5", "1 / 5"} <= set(rates)
    counted = [t.text for t in svg_tree(figure(page, "plot", "misconceptions")).iter(f"{SVG}text")]
    assert {"#1", "#2", "3", "1"} <= set(counted)


def test_the_class_page_marks_a_submission_for_review_and_counts_them(class_results):
    flagged = replace(passed_submission("submissions/erin"),
                      review=("engine.py, line 3: imports inspect, which no part of this exercise needs", HOSTILE))
    page = html.class_page([*class_results, flagged])
    assert "· 1 marked for review" in page
    marks = re.findall(r'<div class="sub review">marked for review: (.*?)</div>', page)
    assert marks == ["engine.py, line 3: imports inspect, which no part of this exercise needs",
                     "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;\\x1b[31m\\u202e\\x00 \\N ../../x"]


def test_a_class_without_misconceptions_says_so():
    page = html.class_page([passed_submission()])
    assert "No failure in this batch was explained by a recognised misconception." in page
    assert 'id="misconceptions"' not in page


# --- in a real browser -------------------------------------------------------------------------

MEASURE = """
const box = e => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
const figures = [...document.querySelectorAll("figure")].map(f => ({
  kind: f.className, id: f.id, svg: f.querySelector("svg") ? box(f.querySelector("svg")) : null,
  nodes: [...f.querySelectorAll("g.node")].filter(n => box(n)[0] > 0 && box(n)[1] > 0).length,
  overflowing: [...f.querySelectorAll("g.node")].filter(n => n.querySelector("ellipse") &&
    n.querySelector("text").getBBox().width > n.querySelector("ellipse").getBBox().width).length,
  lines: [...f.querySelectorAll("g[id^=line2d_] path")].filter(p => p.getTotalLength() > 50).length,
  patches: [...f.querySelectorAll("g[id^=patch_] path")].filter(p => box(p)[0] > 0 && box(p)[1] > 0).length}));
return {figures, scripts: document.scripts.length, title: document.title,
  table: document.querySelector("table") ? box(document.querySelector("table")) : null};
"""


def measured(tmp_path, page):
    return browser.measured(tmp_path, page, MEASURE)


@pytest.fixture
def written_pages(tmp_path, class_results):
    return html.write_pages(class_results, tmp_path / "pages")


@pytest.mark.slow
def test_a_students_pictures_render_in_chromium(tmp_path, written_pages):
    _, pages = written_pages
    seen = measured(tmp_path, pages[0])
    assert seen["scripts"] == 1 and seen["table"][0] > 600 and seen["table"][1] > 100
    graph, losses = seen["figures"]
    assert graph["kind"] == "graph" and graph["svg"][0] > 200 and graph["svg"][1] > 80
    assert graph["nodes"] == 6, "four Values and two ops, each laid out with a size"
    assert losses["kind"] == "losses" and losses["svg"][0] > 300 and losses["svg"][1] > 150
    assert losses["lines"] == 3, "the two curves and the step where the loss stopped being finite"


@pytest.mark.slow
def test_every_op_name_fits_its_node_in_chromium(tmp_path):
    labels = [op.label(-0.5) for op in exercise.OPS] + ["sigmoid", "softplus"]
    nodes = [{"name": "x", "op": "", "data": 0.5, "inputs": [], "expected_grad": 1.0, "got_grad": 2.0}]
    nodes += [{"name": f"n{i}", "op": label, "data": 0.5, "inputs": [nodes[-1]["name"] if i == 0 else f"n{i - 1}"],
               "expected_grad": 1.0, "got_grad": 1.0} for i, label in enumerate(labels)]
    graph = {"kind": "graph", "title": "every op", "root": nodes[-1]["name"], "nodes": nodes}
    page = tmp_path / "ops.html"
    page.write_text(html.student_page(result("ops", [failing("add", "wrong", evidence=[graph])])))
    [seen] = measured(tmp_path, page)["figures"]
    assert seen["nodes"] == 1 + 2 * len(labels) and seen["overflowing"] == 0, seen


@pytest.mark.slow
def test_hostile_pages_load_without_running_student_text(tmp_path, written_pages):
    _, pages = written_pages
    seen = measured(tmp_path, pages[2])
    assert seen["scripts"] == 1, "only the probe's own script"
    assert seen["title"].startswith("<script>alert('pwned')</script>")


FIGURE_AND_LINK = """
const back = document.querySelector("header a");
const red = [...document.querySelectorAll("g.node")].filter(
  n => [...n.querySelectorAll("polygon, path")].some(s => (s.getAttribute("stroke") || "").toLowerCase() === "RED"));
return {caption: document.querySelector("figcaption").innerText, red: red.length,
        back: back ? {text: back.textContent, href: back.href, shown: back.getBoundingClientRect().width > 0} : null};
""".replace("RED", RED.lower())


@pytest.mark.slow
def test_a_page_shows_its_way_back_and_no_red_where_no_gradient_is_wrong_in_chromium(tmp_path):
    index, (wrong, out_of_order) = html.write_pages([wrong_submission(), called_out_of_order()], tmp_path / "pages")
    seen = {page.name: browser.measured(tmp_path, page, FIGURE_AND_LINK) for page in (wrong, out_of_order)}
    assert seen[wrong.name]["red"] == 1 and "Red boxes are the gradients your code gets wrong" in seen[wrong.name]["caption"]
    assert seen[out_of_order.name]["red"] == 0 and "No box is red" in seen[out_of_order.name]["caption"]
    for page in seen.values():
        assert page["back"]["shown"] and page["back"]["text"] == "← class report"
        assert page["back"]["href"] == index.resolve().as_uri()


@pytest.mark.slow
def test_the_class_page_plots_render_in_chromium(tmp_path, written_pages):
    index, _ = written_pages
    seen = measured(tmp_path, index)
    plots = {f["id"]: f for f in seen["figures"]}
    assert set(plots) == {"scores", "pass-rates", "misconceptions"}
    assert all(plot["svg"][0] > 300 and plot["svg"][1] > 100 for plot in plots.values()), plots
    bars = {name: plot["patches"] - 2 for name, plot in plots.items()}  # less the figure and axes backgrounds
    assert bars == {"scores": 3, "pass-rates": 4, "misconceptions": 2}, "one bar per score held, part, misconception"


@pytest.mark.slow
def test_a_screenshot_of_a_students_page(tmp_path, written_pages):
    """The artifact: a PNG of the page as Chromium draws it (docs/report.png is one of these)."""
    from PIL import Image
    _, pages = written_pages
    png = tmp_path / "report.png"
    browser.chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,1400", "--hide-scrollbars", pages[0].resolve().as_uri())
    with Image.open(png) as image:
        assert image.size == (1200, 1400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 50, "more than a blank page"
    assert any(c == (0xcf, 0x22, 0x2e) or _near((0xcf, 0x22, 0x2e), c) for _, c in colours), "the red of a wrong node"


def _near(a, b, tolerance=24):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def screenshot_script(repo):
    """dev/report-screenshot, which makes docs/report.png, as a module."""
    path = repo / "dev" / "report-screenshot"
    loader = importlib.machinery.SourceFileLoader("report_screenshot", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_the_readme_shows_a_report_page_of_the_shipped_rubric(repo):
    """docs/report.png comes from dev/report-screenshot and shows the rubric that ships: after a
    change of the rubric's parts, titles or points, run the script again."""
    from PIL import Image
    readme = (repo / "README.md").read_text()
    assert "](docs/report.png)" in readme and "--html" in readme and "dev/report-screenshot" in readme
    with Image.open(repo / "docs" / "report.png") as picture:
        assert picture.format == "PNG" and picture.size == screenshot_script(repo).WINDOW
        assert picture.text.get("rubric") == screenshot_script(repo).rubric_signature(load_rubric())


@pytest.mark.slow
def test_the_screenshot_script_photographs_a_graded_page(repo, tmp_path):
    from PIL import Image
    script = screenshot_script(repo)
    result = script.make(tmp_path / "report.png")
    assert result.submission == "alice" and result.score == 7 and not result.internal_errors
    with Image.open(tmp_path / "report.png") as picture:
        assert picture.size == script.WINDOW and picture.text["rubric"] == script.rubric_signature(load_rubric())
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 20)
    assert any(_near((0xcf, 0x22, 0x2e), colour) for _, colour in colours), "the red of a wrong gradient"


# --- the command line ------------------------------------------------------------------------


def autograder(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_grade_html_into_a_file_is_refused_before_grading(repo, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(grade_command, "grade_all", lambda *args: pytest.fail("graded before checking --html"))
    code = cli.main(["grade", "--html", str(blocker / "pages"), str(repo / "examples" / "submission")])
    assert code == 2 and "cannot write HTML pages into" in capsys.readouterr().err


def test_grade_html_without_the_html_extra_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "autograder.reports.html")  # so that it is imported afresh
    monkeypatch.delattr("autograder.reports.html")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if matplotlib were not installed
    with pytest.raises(grade_command.ReportUnavailable, match=r"matplotlib.* pip install 'micrograd-autograder\[html\]'"):
        grade_command.html_writer(tmp_path / "pages")


def test_grade_help_explains_html(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--html DIR" in help_text and "DIR/index.html" in help_text and "autograder[html]" in help_text


@pytest.fixture(scope="module")
def overwriting_mul(repo, tmp_path_factory):
    """The solution with `=` for `+=` in mul's _backward: a real wrong submission."""
    folder = tmp_path_factory.mktemp("overwrites") / "alice"
    shutil.copytree(repo / "solutions" / "micrograd", folder)
    engine = without_markers((folder / "engine.py").read_text())
    right = "            self.grad += other.data * out.grad\n"
    assert engine.count(right) == 1
    (folder / "engine.py").write_text(engine.replace(right, "            self.grad = other.data * out.grad\n"))
    return folder


@pytest.fixture(scope="module")
def graded_with_html(repo, overwriting_mul, tmp_path_factory):
    pages = tmp_path_factory.mktemp("html")
    run = autograder("grade", "--json", "--html", str(pages), str(overwriting_mul), cwd=repo)
    return run, pages


@pytest.mark.slow
def test_grade_html_writes_the_page_of_a_wrong_submission(graded_with_html):
    run, pages = graded_with_html
    assert run.returncode == 0, run.stderr
    reported = {test["tags"][0]: test["status"] for test in json.loads(run.stdout)["tests"]}  # stdout stays JSON
    assert f"open {pages / 'index.html'}" in run.stderr
    page = (pages / "alice.html").read_text()
    rows = dict(re.findall(r'<tr id="row-(\w+)">.*?class="chip (\S+)"', page, re.S))
    assert rows == reported and list(rows) == [part.id for part in load_rubric().parts]
    assert rows["mul"] == "failed" and {rows[p] for p in rows if p not in ("mul", "convergence")} == {"passed"}
    assert "likely: you assign the gradient (`=`)" in page
    assert 'href="alice.html"' in (pages / "index.html").read_text()


@pytest.mark.slow
def test_grade_html_draws_the_failing_graph_of_a_wrong_submission(graded_with_html):
    _, pages = graded_with_html
    page = (pages / "alice.html").read_text()
    boxes, red = graph_nodes(svg_tree(figure(page, "graph")))
    assert red and all("grad expected" in boxes[node] and "grad yours" in boxes[node] for node in red)
    assert all(text.strip() for text in boxes.values()), "every box and op circle says what it is"


@pytest.mark.slow
def test_a_submission_marked_for_review_shows_so_on_the_class_page_in_chromium(tmp_path, class_results):
    flagged = replace(passed_submission("submissions/erin"),
                      review=("engine.py, line 3: imports inspect, which no part of this exercise needs",))
    index, _ = html.write_pages([*class_results, flagged], tmp_path / "pages")
    seen = browser.measured(tmp_path, index, """
        return [...document.querySelectorAll('.review')].map(e => [e.textContent.trim(), e.getBoundingClientRect().height]);
    """)
    assert [text for text, _ in seen] == ["marked for review: engine.py, line 3: imports inspect, which no part of "
                                          "this exercise needs"]
    assert all(height > 10 for _, height in seen)
