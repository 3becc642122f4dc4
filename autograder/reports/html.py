"""GradeResults as self-contained HTML pages: one per student, and a class page for the instructor.

A student page reads top down: the verdict (score, the part table with its feedback), then for
each failed part the picture that explains it: the smallest failing case drawn as a computation
graph (graphviz's `dot`, SVG), or the student's loss curve against the reference's (matplotlib,
SVG). The class page plots the score distribution, the pass rate per part and how often each
recognised misconception occurred, and lists the students behind each.

Pages need no server and no network: the pictures are inline SVG, the style is in the page.
Everything a submission can influence (its name, messages, warnings, evidence) is escaped by the
templates, control characters included; only the SVG drawn here is inserted as markup. Where
`dot` is missing, the page says so in place of the graph.
"""
import datetime
import io
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path

import graphviz
import jinja2
from markupsafe import Markup, escape
from matplotlib import rc_context, ticker
from matplotlib.figure import Figure

from autograder.hidden.checks import close, show_pair

COLORS = {"reference": "#57606a", "student": "#cf222e", "wrong": "#cf222e", "wrong_fill": "#ffebe9",
          "right": "#8c959f", "right_fill": "#f6f8fa", "bar": "#0969da", "quiet": "#57606a"}
PLOT_STYLE = {
    "svg.fonttype": "none",        # text stays text: smaller, selectable, drawn in the page's font
    "svg.hashsalt": "autograder",  # the same result gives the same page, byte for byte
    "text.parse_math": False,      # a `$` in a label is a dollar sign, not TeX
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
MISSING_DOT = ("The computation graph is not drawn here: graphviz's `dot` program is not installed "
               "(Debian/Ubuntu: apt-get install graphviz).")
LONGEST_NAME = 80  # characters of a submission name kept in its page's file name
INDEX = "index.html"  # the class page, beside the students' pages

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=lambda value: value if isinstance(value, Markup) else visible(value),
    trim_blocks=True,
    lstrip_blocks=True,
)


def student_page(result, class_page=None, made=None):
    """One student's page: score, part table, and a picture for each failed part that has one.
    `class_page`: the file name of the class page to link back to; `made`: the report's date."""
    failed = [part for part in result.parts if not part.passed]
    return _render("student.html", result=result, class_page=class_page, made=made,
                   explained=[(part, picture(part.evidence[0]), shows_a_wrong_gradient(part.evidence[0]))
                              for part in failed if part.evidence])


def class_page(results, page_names=None, made=None):
    """The instructor's page for a batch; `page_names` (one per result) link each student's page."""
    results = list(results)
    names = list(page_names) if page_names is not None else [None] * len(results)
    students = list(zip(results, names))
    parts = _rubric_parts(results)
    ranked = misconception_students(students)
    return _render("class.html", students=students, parts=parts, ranked=ranked, made=made,
                   columns=lambda result: [next((p for p in result.parts if p.id == i), None) for i in parts],
                   mean=sum(r.score for r in results) / len(results) if results else 0,
                   top=max((r.max_score for r in results), default=0),
                   ungraded=sum(1 for r in results if r.problem), reviewed=sum(1 for r in results if r.review),
                   score_plot=score_distribution(results), pass_plot=pass_rates(results),
                   misconception_plot=misconception_counts(ranked))


def write_pages(results, folder, made=None):
    """Write one page per result and the class page (index.html) into `folder`, each dated
    `made` (default: today) and each student's page linking back to the class page.

    Returns (index path, [page path per result]). File names come from the submission names,
    reduced to safe characters and made unique, so no name can leave `folder`."""
    results = list(results)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = made or datetime.date.today().isoformat()
    names = page_names(results)
    pages = [_write(folder, name, student_page(result, INDEX, made)) for result, name in zip(results, names)]
    return _write(folder, INDEX, class_page(results, names, made)), pages


# --- safe text and names ------------------------------------------------------------------


def code_spans(value):
    """Text in which `backquoted` words become <code> (misconceptions name code that way), the
    rest escaped and made visible like any other text."""
    text = str(escape(visible(value)))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", text))


_templates.filters["code_spans"] = code_spans


def visible(value):
    """`value` as text in which control and format characters (ANSI escapes, bidi overrides,
    NUL) are shown as escape sequences instead of acting; None is empty."""
    if value is None:
        return ""
    return "".join(_visible_char(c) for c in str(value))


def _visible_char(char):
    if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"):
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def page_names(results):
    """A distinct, safe file name per result (index.html stays free for the class page)."""
    taken = {INDEX}
    names = []
    for result in results:
        stem = _file_stem(result.submission)
        name, copy = f"{stem}.html", 1
        while name.lower() in taken:
            copy += 1
            name = f"{stem}-{copy}.html"
        taken.add(name.lower())
        names.append(name)
    return names


def _file_stem(submission):
    """The last part of a submission's path, in letters, digits, `.`, `_` and `-` only."""
    last = re.split(r"[/\\]", str(submission).rstrip("/\\"))[-1]
    last = re.sub(r"\.zip$", "", last, flags=re.I)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", last).strip("._-")[:LONGEST_NAME]
    return stem or "submission"


def _write(folder, name, text):
    path = folder / name
    if path.resolve().parent != folder.resolve():  # page_names never allows it; never write outside
        raise ValueError(f"refusing to write {name!r} outside {folder}")
    path.write_text(text, encoding="utf-8")
    return path


def _render(template, **context):
    return _templates.get_template(template).render(**context)


# --- pictures of one failure --------------------------------------------------------------


def picture(evidence):
    """The figure for one piece of evidence: (kind, svg markup or None, note text)."""
    kind = evidence.get("kind")
    if kind == "graph":
        return "graph", *graph_svg(evidence)
    if kind == "losses":
        return "losses", loss_curves(evidence), ""
    return "unknown", None, f"(this report cannot draw evidence of kind “{kind}”)"


def graph_svg(evidence):
    """(svg, "") for a graph evidence, or (None, note) when `dot` is not installed."""
    graph = graphviz.Digraph(graph_attr={"rankdir": "LR", "bgcolor": "transparent", "nodesep": "0.25",
                                         "ranksep": "0.35", "fontname": "Helvetica"},
                             node_attr={"fontname": "Helvetica", "fontsize": "11"},
                             edge_attr={"color": COLORS["right"], "arrowsize": "0.7"})
    ids = {node["name"]: f"v{i}" for i, node in enumerate(evidence["nodes"])}
    for node in evidence["nodes"]:
        _draw_node(graph, ids, node, is_root=node["name"] == evidence.get("root"))
    try:
        return _inline_svg(graph.pipe(format="svg", encoding="utf-8")), ""
    except graphviz.ExecutableNotFound:
        return None, MISSING_DOT


def _draw_node(graph, ids, node, is_root):
    """A Value as a box (name, data, both gradients); a computed one gets a small circle for its op,
    the way the micrograd lecture draws graphs."""
    wrong = gradient_differs(node)
    me = ids[node["name"]]
    graph.node(me, _node_label(node, wrong, is_root), shape="plain")
    if node.get("op") not in (None, "", "leaf"):  # a leaf's op: "" as in micrograd, or "leaf"
        # a small circle, widened into an oval around a longer name ("sigmoid", "**-0.5")
        graph.node(f"{me}op", f'<{_dot_text(node["op"])}>', shape="ellipse", width="0.36", height="0.36",
                   margin="0.04,0.02", fontsize="13", color=COLORS["right"])
        graph.edge(f"{me}op", me)
        for name in node.get("inputs", ()):
            if name in ids:
                graph.edge(ids[name], f"{me}op")


def _node_label(node, wrong, is_root):
    """An HTML-like dot label: a small table, the student's gradient in red when it is wrong."""
    expected, got = _gradients(node)
    colour, fill = (COLORS["wrong"], COLORS["wrong_fill"]) if wrong else (COLORS["right"], COLORS["right_fill"])
    yours = f'<font color="{COLORS["wrong"]}"><b>{got}</b></font>' if wrong else got
    role = f' <font color="{COLORS["quiet"]}">(output)</font>' if is_root else ""
    rows = [f'<tr><td colspan="2"><b>{_dot_text(node["name"])}</b>{role}</td></tr>',
            _row("data", _dot_text(_number(node.get("data")))),
            _row("grad expected", expected),
            _row("grad yours", yours)]
    return (f'<<table border="{2 if wrong else 1}" cellborder="0" cellspacing="0" cellpadding="3" '
            f'color="{colour}" bgcolor="{fill}">{"".join(rows)}</table>>')


def _row(key, value):
    return f'<tr><td align="left"><font color="{COLORS["quiet"]}">{key}</font></td><td align="right">{value}</td></tr>'


def _gradients(node):
    """The expected and the student's gradient as dot-safe text, with enough digits to differ."""
    expected, got = node.get("expected_grad"), node.get("got_grad")
    if _is_number(expected) and _is_number(got):
        return tuple(_dot_text(text) for text in show_pair(float(expected), float(got)))
    shown = "none" if got is None else (_number(got) if _is_number(got) else str(got)[:60])
    return _dot_text(_number(expected)), _dot_text(shown)


def shows_a_wrong_gradient(evidence):
    """Whether a graph evidence has a node whose gradient the student's code got wrong (drawn red)."""
    return evidence.get("kind") == "graph" and any(gradient_differs(node) for node in evidence["nodes"])


def gradient_differs(node):
    """True when the student's gradient is not the reference's, by the grader's own tolerance."""
    expected, got = node.get("expected_grad"), node.get("got_grad")
    if not (_is_number(expected) and _is_number(got)):
        return True
    return not close(float(got), float(expected))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value):
    return f"{value:.6g}" if _is_number(value) else visible(value)


def _dot_text(text):
    """Text for an HTML-like dot label: escaped, and with backslashes doubled, or dot would
    expand `\\N` and the like (even written as `&#92;N`)."""
    return str(escape(visible(text))).replace("\\", "\\\\")


def _inline_svg(svg):
    """An SVG document as markup to put in a page: from its <svg> tag on (no XML prolog)."""
    return Markup(svg[svg.index("<svg"):])


@rc_context(PLOT_STYLE)
def loss_curves(evidence):
    """The student's loss per training step against the reference's."""
    expected, got = _finite(evidence["expected"]), _finite(evidence["got"])
    figure, axes = _figure(6.4, 3.0)
    axes.plot(range(len(expected)), expected, color=COLORS["reference"], linestyle="--", label="reference")
    axes.plot(range(len(got)), got, color=COLORS["student"], linewidth=2, label="yours")
    lost = next((step for step, loss in enumerate(got) if math.isnan(loss)), None)
    if lost is not None:
        axes.axvline(lost, color=COLORS["student"], linestyle=":")
        axes.annotate(f"no finite loss from step {lost} on", (lost, 0.5), xycoords=("data", "axes fraction"),
                      xytext=(4, 0), textcoords="offset points", color=COLORS["student"])
    shown = [loss for loss in expected + got if not math.isnan(loss)]
    if shown and min(shown) > 0 and max(shown) / min(shown) > 100:
        axes.set_yscale("log")  # a diverging run, or the reference's descent, spans decades
        axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda loss, _: f"{loss:g}"))  # math text is off
        axes.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set(xlabel="training step", ylabel="loss")
    axes.legend(frameon=False)
    return _svg(figure)


def _finite(values):
    """Numbers as floats, with NaN for anything missing or not finite (a gap in the curve)."""
    return [float(v) if _is_number(v) and math.isfinite(v) else math.nan for v in values]


# --- class plots ---------------------------------------------------------------------------


def score_distribution(results):
    counts = Counter(result.score for result in results)
    top = max((result.max_score for result in results), default=0)
    scores = _score_axis(counts, top)
    students = [counts.get(s, 0) for s in scores]
    return _bar_chart([f"{s:g}" for s in scores], students, xlabel=f"score (out of {top:g})", ylabel="students",
                      horizontal=False, notes=[f"{n}" if n else "" for n in students])


def _score_axis(counts, top):
    """Every score from 0 to `top` when scores are whole points (gaps show the shape), else the
    scores that occurred."""
    whole = float(top).is_integer() and top <= 50 and all(float(s).is_integer() for s in counts)
    return range(int(top) + 1) if whole else sorted(counts)


def pass_rates(results):
    parts = _rubric_parts(results)
    passed = [sum(1 for r in results for p in r.parts if p.id == part and p.passed) for part in parts]
    rates = [100 * n / len(results) if results else 0 for n in passed]
    return _bar_chart(parts, rates, xlabel="% of students who passed", horizontal=True, limit=100,
                      notes=[f"{n} / {len(results)}" for n in passed])


def misconception_counts(ranked):
    if not ranked:
        return None
    return _bar_chart([f"#{i}" for i in range(1, len(ranked) + 1)], [len(who) for _, who in ranked],
                      xlabel="students", horizontal=True, integers=True)


def misconception_students(students):
    """[(misconception, [(result, page name), ...]), ...], most frequent first; a student counts
    once per misconception however many checks showed it."""
    who = {}
    for result, name in students:
        for text in dict.fromkeys(m for part in result.parts for m in part.misconceptions):
            who.setdefault(text, []).append((result, name))
    return sorted(who.items(), key=lambda item: -len(item[1]))


def _rubric_parts(results):
    return list(dict.fromkeys(part.id for result in results for part in result.parts))


@rc_context(PLOT_STYLE)
def _bar_chart(labels, values, *, xlabel, ylabel="", horizontal, limit=None, notes=None, integers=False):
    """One bar chart serves every class plot: `notes` are written at the end of each bar."""
    figure, axes = _figure(4.6, max(1.6, 0.3 * len(labels) + 0.8) if horizontal else 2.6)
    positions = range(len(labels))
    if horizontal:
        bars = axes.barh(positions, values, color=COLORS["bar"], height=0.6)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()  # first label on top
        axes.set_xlim(0, limit or max(values, default=1) * 1.15 or 1)
        axes.set_xlabel(xlabel)
    else:
        bars = axes.bar(positions, values, color=COLORS["bar"], width=0.7)
        axes.set_xticks(positions, labels)
        axes.set(xlabel=xlabel, ylabel=ylabel)
    if integers or not horizontal:
        (axes.xaxis if horizontal else axes.yaxis).get_major_locator().set_params(integer=True)
    axes.bar_label(bars, labels=notes or [f"{v:g}" for v in values], padding=3, fontsize=9)
    return _svg(figure)


def _figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure):
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, transparent=True)
    return _inline_svg(buffer.getvalue())
