"""Step 11: reports/report.md and a self-contained reports/report.html from the results files.

Script: scripts/11_report.py. It reads results/*.json and figures/*.png and never recomputes
anything: every number in the report is one an earlier step printed. A missing result becomes a
line naming the script that makes it. Each results file's lineage is checked: a table made from
other members or data than the work dir holds now (or changed since) is marked as such, with the
script that remakes it, and its numbers are left out of the comparisons.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import UTC, datetime
from pathlib import Path

from stackgen import plots, registry, step_skips
from stackgen.config import Config
from stackgen.data.columns import from_params
from stackgen.methods.stats import format_p
from stackgen.step_io import Printer
from stackgen.trust.atomic import write_text
from stackgen.workdir import lineage
from stackgen.workdir.paths import Paths, split_params, with_recorded_data, with_recorded_members

NUMBER = 11

# The tutorial's published single-run numbers, from its text.
TUTORIAL = {
    "single MLP (test)": 0.80,
    "best member": 0.813,
    "logistic stack": 0.824,
    "integrated network": 0.833,
}
KEY_METHODS = (
    "best member (picked on fitting rows)",
    "average of probabilities",
    "logistic regression (multinomial)",
    "integrated network",
)
FIGURES = [
    (
        "scatter.png",
        "Step 1: the data over its first two features: training points (edged) and test points.",
    ),
    ("learning_curves.png", "Step 2: the single MLP's loss (and accuracy, for classes) per epoch."),
    (
        "confusion.png",
        "Step 4: the confusion matrix of the stack predict serves (the most honest protocol), "
        "on the test rows it was scored on.",
    ),
    ("stacked_model.png", "Step 5: the integrated network."),
    ("methods.png", "Step 6: every method's test score and its 95% interval, under each protocol."),
    ("decision_boundaries.png", "Step 9: decision regions, with the test points on top."),
    ("vary_members.png", "Step 10: the score against the number of members, over many seeds."),
]


RESULTS = (
    "single_mlp",
    "stack_logistic",
    "stack_integrated",
    "methods",
    "diverse",
    "fine_tune",
    "repeat_study",
)


def _load(paths: Paths, name: str, stale: list[str], flags: str, members: str) -> dict | None:
    """A results file whose lineage holds, or None; a stale one is named in ``stale``."""
    path = paths.result(name)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    why = lineage.problem(paths, path)
    if why is not None:
        stale.append(f"{why}: {registry.maker_of(paths.rel(path)).rehint(flags, members)}")
        return None
    return result if isinstance(result, dict) else None


def _f(x) -> str:
    return f"{x:.3f}" if isinstance(x, int | float) else "–"


def build(paths: Paths, flags: str = "", members: str = "") -> list[tuple]:
    """The report as blocks: ("h", text), ("p", text), ("table", header, rows), ("img", file,
    caption). Its commands carry ``flags`` (the work dir and data), and those that rerun step 3
    ``members`` (``Config.member_flags``)."""
    stale: list[str] = []
    r = {n: _load(paths, f"{n}.json", stale, flags, members) for n in RESULTS}
    written = f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from {paths.workdir}."
    blocks: list[tuple] = [("h", "stackgen report"), ("p", written)]
    for why in stale:
        blocks.append(("p", f"Left out, made from other members or data: {why}."))
    described = next((r[n]["data"] for n in RESULTS if r[n] and "data" in r[n]), None)
    if described:
        blocks.append(("p", f"Data: {described}."))
    if _metric(r) == "r2":
        blocks.append(
            (
                "p",
                "Regression: every score below is R² on the scored rows (1: perfect; 0: no "
                "better than predicting the mean); results/*.json also hold the RMSE.",
            )
        )
    skipped = {n: step_skips.reason_in(paths.workdir, n) for n in (2, 7, 9)}
    blocks += _columns(paths)
    blocks += _members(paths, r.get("stack_logistic"))
    blocks += _replication(r, flags + members, skipped[2])
    blocks += _protocols(r)
    blocks += _table_of(
        r.get("methods"),
        "All methods, this run (step 6)",
        registry.step(6).script + flags,
        "protocols",
    )
    blocks += _table_of(
        r.get("diverse"),
        "Identical and diverse members (step 7)",
        registry.step(7).script + flags,
        "scores",
        skipped[7],
    )
    blocks += _fine_tune(r.get("fine_tune"), flags)
    blocks += _repeat(r.get("repeat_study"), flags)
    blocks.append(("h2", "Figures"))
    for name, caption in FIGURES:
        if paths.figure(name).is_file():
            blocks.append(("img", name, caption))
        else:
            blocks.append(("p", f"{caption} {_not_made(paths, name, flags, members)}."))
    return blocks


def _not_made(paths: Paths, name: str, flags: str, members: str) -> str:
    """Why a figure is not in the report: never drawn for this data, or not drawn yet."""
    why = step_skips.figure_reason_in(paths.workdir, name)
    if why:
        return f"Not made for this data: {why}"
    if name == "stacked_model.png" and not plots.graphviz_available():
        return "Not drawn: Graphviz's dot is not installed (sudo apt-get install graphviz)"
    return f"Not made yet: {registry.maker_of(f'figures/{name}').hint(flags, members)}"


def _metric(r: dict) -> str:
    return next((r[n]["metric"] for n in r if r[n] and "metric" in r[n]), "accuracy")


def _is_blobs(r: dict) -> bool:
    described = next((r[n]["data"] for n in r if r[n] and "data" in r[n]), "make_blobs")
    return described.startswith("make_blobs")


def _columns(paths: Paths) -> list[tuple]:
    """Your table's columns: each one's kind and what was done to it at step 1."""
    params = split_params(paths.workdir) or {}
    if "columns" not in params:
        return []
    try:
        found = from_params(params)
    except TypeError:
        return []
    rows = [[c.name, c.kind, c.treatment()] for c in found]
    said = (
        f"Read as {params.get('encoding')} text separated by {params.get('separator')!r}. "
        "Every median, level and scale was fit on the training rows only, by the transformer "
        "saved as data/preprocess.skops, which predict applies to raw rows."
    )
    dropped = params.get("rows_without_target")
    if dropped:
        said += f" {dropped} rows whose target was missing were left out."
    return [("h2", "Columns"), ("p", said), ("table", ["column", "kind", "what was done"], rows)]


def _members(paths: Paths, step4: dict | None) -> list[tuple]:
    """Members trained elsewhere: each one's file, hash and what was done to its output, and the
    warnings step 3 and step 4 (``step4``, its results) gave about them."""
    try:
        manifest = json.loads(paths.members_manifest.read_text(encoding="utf-8"))
        sources = manifest.get("imported") or []
        rows = [
            [f"member_{i}", Path(s["source"]).name, s["sha256"][:12], s["output"]]
            for i, s in enumerate(sources, start=1)
        ]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return []
    if not rows:
        return []
    cv = manifest.get("cv_skipped")
    said_by_steps = [*manifest.get("warnings", ()), *(step4 or {}).get("member_warnings", ())]
    warned = [w.removeprefix("warning: ") for w in said_by_steps]
    said = ""
    if cv:
        said = f"The cv protocol was skipped: {cv}."
    elif paths.oof.is_file():
        said = (
            "Under cv, a fresh copy of each architecture was trained on the folds of the "
            "train rows (its saved optimizer and loss, new weights)."
        )
    return [
        ("h2", "Members trained elsewhere (--member-files)"),
        (
            "p",
            "Stackgen cannot check that these members never saw the test rows; every test "
            f"score below assumes they did not. {said}".strip(),
        ),
        ("table", ["member", "file", "sha256", "output"], rows),
        *[("p", f"Warning: {w}") for w in warned],
    ]


def _replication(r: dict, flags: str, single_skipped: str | None = None) -> list[tuple]:
    single, logistic, network = r["single_mlp"], r["stack_logistic"], r["stack_integrated"]
    if not ((single or single_skipped) and logistic and network):
        return [
            ("h2", "Replication"),
            ("p", f"Steps 2, 4 and 5 have not all run: run python -m stackgen run{flags}."),
        ]
    ours = {
        **({"single MLP (test)": single["test_score"]} if single else {}),
        "best member": max(logistic["member_scores"]),
        "logistic stack": logistic.get("stacked_score"),
        "integrated network": network.get("stacked_score"),
    }
    stack = _stack_label(logistic)
    if not _is_blobs(r):  # the tutorial's numbers are for its blobs; nothing to compare with
        rows = [[k.replace("logistic stack", stack), _f(v)] for k, v in ours.items()]
        return [
            ("h2", "This run, the tutorial's protocol"),
            (
                "p",
                "Both stacks fit on the test rows and scored on the same rows, as in the "
                "tutorial: optimistic. The honest protocols follow.",
            ),
            ("table", ["", "this run"], rows),
        ]
    # The tutorial's stack is a logistic regression: another --meta has nothing to compare with.
    rows = [
        [
            k.replace("logistic stack", stack),
            _f(v) if k != "logistic stack" or stack == "logistic stack" else "–",
            _f(ours[k]),
        ]
        for k, v in TUTORIAL.items()
    ]
    return [
        ("h2", "Replication: the tutorial's protocol"),
        (
            "p",
            "Both stacks fit on the 1,000 test points and scored on the same points, as in "
            "the tutorial: optimistic.",
        ),
        ("table", ["", "tutorial (its text)", "this run"], rows),
    ]


def _stack_label(logistic: dict) -> str:
    """What step 4's stack is called: "logistic stack", "linear stack", "random forest stack"."""
    kind = logistic.get("meta", "multinomial")
    named = {"multinomial": "logistic", "ovr": "logistic", "linear": "linear"}
    return f"{named.get(kind, logistic.get('meta_label', kind))} stack"


def _protocols(r: dict) -> list[tuple]:
    logistic, network = r["stack_logistic"], r["stack_integrated"]
    if not (logistic and network and "protocols" in logistic):
        return []
    rows = []
    for protocol, row in logistic["protocols"].items():
        net = network.get("protocols", {}).get(protocol, {})
        interval = row.get("stacked_interval")
        rows.append(
            [
                protocol,
                row["rows"],
                _f(row["best_member_score"]),
                _f(row["average_score"]),
                _f(row["stacked_score"]),
                f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "–",
                format_p(row["p_vs_best_member"]) if "p_vs_best_member" in row else "–",
                _f(net.get("stacked_score")),
            ]
        )
    blocks = [
        ("h2", "Honest protocols, this run (steps 4 and 5)"),
        *_row_roles(logistic.get("row_roles")),
        (
            "table",
            [
                "protocol",
                "meta-learner rows",
                "best member",
                "average",
                _stack_label(logistic),
                "its 95% interval",
                "p against the best member",
                "integrated network",
            ],
            rows,
        ),
        *_leak_audit(logistic.get("leak_audit")),
    ]
    tut = logistic["protocols"].get("tutorial")
    if tut:
        gaps = []
        for protocol in ("holdout", "cv"):
            if protocol in logistic["protocols"]:
                gaps.append(
                    [
                        protocol,
                        _signed(
                            tut["stacked_score"] - logistic["protocols"][protocol]["stacked_score"]
                        ),
                        _gap(network.get("protocols", {}), protocol),
                    ]
                )
        blocks += [
            (
                "p",
                f"Leakage gap: the tutorial protocol's {'R²' if _metric(r) == 'r2' else 'accuracy'}"
                " minus the honest one's "
                "(different scoring rows; the repeat study below averages over seeds).",
            ),
            ("table", ["honest protocol", "logistic stack gap", "integrated gap"], gaps),
        ]
    return blocks


def _row_roles(roles: dict | None) -> list[tuple]:
    """What the splits and scores respected of the rows, said before the table."""
    if not roles:
        return []
    said = []
    if roles.get("groups"):
        said.append(
            f"the rows come in groups ({roles['groups']}): no split puts a group on both sides"
        )
    if roles.get("time"):
        said.append(
            f"the rows are a series in time ({roles['time']}): the test rows are the latest, and "
            "every meta-learner is fit on rows earlier than those it is scored on"
        )
    if roles.get("weights"):
        said.append(
            f"the rows are weighted ({roles['weights']}): every loss, meta-learner and score "
            "below is weighted"
        )
    text = "; ".join(said)
    return [("p", f"{text[0].upper()}{text[1:]}.")]


def _leak_audit(audit: dict | None) -> list[tuple]:
    if not audit:
        return []
    rows = [
        [
            label,
            _f(audit[side]["best_member"]),
            _f(audit[side]["average"]),
            _f(audit[side]["stack"]),
        ]
        for side, label in (("rowwise", "row-wise"), ("honest", audit["honest_folds"]))
    ]
    return [
        (
            "p",
            f"Leak audit: out of fold on the same {audit['rows']} training rows, what row-wise "
            f"folds would have reported beside {audit['honest_folds']} folds.",
        ),
        ("table", ["folds", "best member", "average", "stack"], rows),
    ]


def _gap(protocols: dict, protocol: str) -> str:
    """The tutorial protocol's score minus ``protocol``'s, or "–" when either did not run."""
    if "tutorial" not in protocols or protocol not in protocols:
        return "–"
    return _signed(protocols["tutorial"]["stacked_score"] - protocols[protocol]["stacked_score"])


def _signed(x: float) -> str:
    return f"{x:+.3f}"


def _table_of(
    result: dict | None, title: str, script: str, key: str, skipped: str | None = None
) -> list[tuple]:
    if skipped:
        return [("h2", title), ("p", f"Skipped: {skipped}.")]
    if not result:
        return [("h2", title), ("p", f"Not run yet: run {script}.")]
    columns = list(result[key])
    labels = list(next(iter(result[key].values())))
    rows = [[label, *(_f(result[key][c].get(label)) for c in columns)] for label in labels]
    return [("h2", title), ("table", ["method", *columns], rows)]


def _fine_tune(result: dict | None, flags: str) -> list[tuple]:
    if not result:
        return [
            ("h2", "Fine-tuning (step 8)"),
            ("p", f"Not run yet: run {registry.step(8).script}{flags}."),
        ]
    rows = [
        [p, _f(v["head_only"]), _f(v["fine_tuned"]), _signed(v["fine_tuned"] - v["head_only"])]
        for p, v in result["protocols"].items()
    ]
    return [
        ("h2", "Fine-tuning the integrated network (step 8)"),
        (
            "p",
            f"After the head, all weights trained {result['epochs']} more epochs at "
            f"learning rate {result['learning_rate']:g}.",
        ),
        ("table", ["protocol", "head only", "fine-tuned", "change"], rows),
    ]


def _repeat(result: dict | None, flags: str) -> list[tuple]:
    title = "Repeat study (step 10)"
    if not result:
        step = registry.step(10)
        return [
            ("h2", title),
            (
                "p",
                f"Not run yet: run {step.script}{flags} --seeds 30 (a few minutes on 2 cores).",
            ),
        ]
    n = len(result["seeds"])
    metric = "R²" if result.get("metric") == "r2" else "accuracy"
    blocks = [
        ("h2", f"{title}: {n} seeds"),
        (
            "p",
            f"Mean test {metric} with its 95% confidence interval; the paired difference "
            "from the best member (picked on fitting rows) with its interval, the "
            "Wilcoxon signed-rank p-value, and wins/ties/losses against it.",
        ),
    ]
    means = {}
    for protocol, table in result["methods"].items():
        rows = []
        for label in KEY_METHODS:
            if label not in table:
                continue
            s, d = table[label], table[label]["vs_best_member"]
            means[(protocol, label)] = s["mean"]
            rows.append(
                [
                    label,
                    f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]",
                    f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]",
                    format_p(d["wilcoxon_p"]),
                    f"{d['wins']}/{d['ties']}/{d['losses']}",
                ]
            )
        blocks.append(
            (
                "table",
                [
                    protocol,
                    f"{metric} [95% CI]",
                    "minus best member [95% CI]",
                    "Wilcoxon p",
                    "wins/ties/losses",
                ],
                rows,
            )
        )
    gaps = [
        [
            label,
            *(_signed(means[("tutorial", label)] - means[(p, label)]) for p in ("holdout", "cv")),
        ]
        for label in KEY_METHODS[2:]
        if ("tutorial", label) in means and all((p, label) in means for p in ("holdout", "cv"))
    ]
    if gaps:
        blocks += [
            (
                "p",
                "Leakage gap over seeds: mean accuracy under the tutorial's protocol "
                "minus under each honest one.",
            ),
            ("table", ["stack", "minus holdout", "minus cv"], gaps),
        ]
    return blocks


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for block in blocks:
        kind = block[0]
        if kind in ("h", "h2"):
            out.append(("# " if kind == "h" else "## ") + block[1])
        elif kind == "p":
            out.append(block[1])
        elif kind == "table":
            header, rows = block[1], block[2]
            out.append(
                "\n".join(
                    [
                        "| " + " | ".join(header) + " |",
                        "|" + "---|" * len(header),
                        *("| " + " | ".join(row) + " |" for row in rows),
                    ]
                )
            )
        elif kind == "img":
            out.append(f"![{block[2]}](../figures/{block[1]})")
    return "\n\n".join(out) + "\n"


def to_html(blocks: list[tuple], figures: Path) -> str:
    e = html.escape
    body = []
    for block in blocks:
        kind = block[0]
        if kind in ("h", "h2"):
            tag = "h1" if kind == "h" else "h2"
            body.append(f"<{tag}>{e(block[1])}</{tag}>")
        elif kind == "p":
            body.append(f"<p>{e(block[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in block[1])
            rows = "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block[2]
            )
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        elif kind == "img":
            data = base64.b64encode((figures / block[1]).read_bytes()).decode()
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{e(block[2])}">'
                f"<figcaption>{e(block[2])}</figcaption></figure>"
            )
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>stackgen report</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    # A document's commands carry absolute paths: it may be read from anywhere.
    made = with_recorded_members(with_recorded_data(cfg))
    blocks = build(paths, made.identity_flags(absolute=True), made.member_flags(absolute=True))
    md = write_text(paths.report("report.md"), to_markdown(blocks))
    page = write_text(paths.report("report.html"), to_html(blocks, paths.figure("")))
    inputs = [p for n in RESULTS if (p := paths.result(f"{n}.json")).is_file()]
    inputs += sorted(paths.figure("").glob("*.png"))
    out.made(NUMBER, [md, page], inputs)
    return {"markdown": paths.rel(md), "html": paths.rel(page)}
