"""The shareable outcomes report: one self-contained HTML file (inline SVG charts and styles,
nothing fetched when it is opened) or CSV (one row per group and figure)."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from outcomes.figures import Figures
from outcomes.service import OutcomesResult

FIGURES = (
    ("availability", "availability", "pct"),
    ("unplanned_downtime_hours", "unplanned downtime (h)", "num"),
    ("planned_downtime_hours", "planned downtime (h)", "num"),
    ("failures", "failures", "int"),
    ("mtbf_hours", "MTBF (h)", "num"),
    ("mttr_hours", "MTTR (h)", "num"),
    ("recall", "failures alerted in time (recall)", "pct"),
    ("lead_time_median_hours", "alert lead time, median (h)", "num"),
    ("lead_time_p10_hours", "alert lead time, 10th percentile (h)", "num"),
    ("false_alarm_rate", "false-alarm rate", "pct"),
    ("maintenance_done", "maintenance done", "int"),
    ("maintenance_planned", "maintenance planned", "int"),
    ("on_time_rate", "orders on time", "pct"),
    ("lateness_hours", "order lateness (h)", "num"),
    ("scrapped_parts", "parts scrapped by failures", "int"),
)


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if kind == "int":
        return f"{int(value):,}"  # type: ignore[call-overload]
    return f"{float(value):,.1f}"  # type: ignore[arg-type]


def to_csv(result: OutcomesResult) -> str:
    """group, figure, value rows (costs as cost_<category>), then the counterfactual."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["from", "to", "group", "figure", "value"])
    span = (result.start.isoformat(), result.end.isoformat())
    for f in result.figures:
        for key, _label, _kind in FIGURES:
            writer.writerow([*span, f.group, key, getattr(f, key)])
        for category, euros in f.costs.items():
            writer.writerow([*span, f.group, f"cost_{category}", round(euros, 2)])
    cf = result.counterfactual
    if cf is not None:
        writer.writerow([*span, "plant", "counterfactual_actual", round(cf.actual, 2)])
        for name, est in (("reactive", cf.reactive), ("preventive", cf.preventive)):
            for part in ("cost", "low", "high"):
                writer.writerow(
                    [*span, "plant", f"counterfactual_{name}_{part}", round(getattr(est, part), 2)]
                )
    return out.getvalue()


def _bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    """A small inline SVG bar chart."""
    width, height, pad = 640, 180, 28
    top = max([*values, 1e-9])
    step = (width - 2 * pad) / max(len(values), 1)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (height - 2 * pad) * value / top
        x, y = pad + i * step, height - pad - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}"'
            f' fill="#2f6f9f"><title>{html.escape(label)}: {value:,.1f} {unit}</title></rect>'
        )
        if len(values) <= 16 or i % max(1, len(values) // 8) == 0:
            bars.append(
                f'<text x="{x:.1f}" y="{height - 8}" font-size="10">{html.escape(label)}</text>'
            )
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' role="img" aria-label="{html.escape(title)}">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"'
        f' stroke="#888"/>{"".join(bars)}</svg></figure>'
    )


def _table(rows: Sequence[Sequence[str]], head: Sequence[str]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _figure_table(figures: Sequence[Figures]) -> str:
    head = ["figure", *(f.group for f in figures)]
    rows = [
        [label, *(_fmt(getattr(f, key), kind) for f in figures)] for key, label, kind in FIGURES
    ]
    for category in ("downtime", "repairs", "maintenance", "scrap", "tardiness", "total"):
        rows.append([f"cost: {category} (€)", *(f"{f.costs[category]:,.0f}" for f in figures)])
    return _table(rows, head)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2a33;max-width:60rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd;padding:.3rem .6rem;
text-align:right}th:first-child,td:first-child{text-align:left}figure{margin:1rem 0}
figcaption{font-weight:600}.note{color:#556;font-size:.9rem}
"""


def to_html(result: OutcomesResult, *, title: str = "Millwright outcomes") -> str:
    """The report as one HTML document with everything inline."""
    span = f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC"
    labels = [f"{f.start:%m-%d}" for f in result.trend]
    parts = [
        f"<h1>{html.escape(title)}</h1><p>{span}, by {result.group.value}.</p>",
        "<h2>Figures</h2>",
        _figure_table(result.figures),
        "<h2>Trends</h2>",
        _bars(
            f"unplanned downtime per {result.bucket} (h)",
            labels,
            [f.unplanned_downtime_hours for f in result.trend],
            "h",
        ),
        _bars(
            f"availability per {result.bucket} (%)",
            labels,
            [100 * f.availability for f in result.trend],
            "%",
        ),
        _bars(f"alerts per {result.bucket}", labels, [float(f.alerts) for f in result.trend], ""),
        "<h2>Failures</h2>",
    ]
    failures = [x for f in result.figures for x in f.failure_list]
    parts.append(
        _table(
            [
                [
                    x.machine,
                    f"{x.at:%Y-%m-%d %H:%M}",
                    f"{x.alerted_at:%Y-%m-%d %H:%M}" if x.alerted_at else "missed",
                    _fmt(x.lead_hours, "num"),
                    f"{x.cost:,.0f}",
                ]
                for x in sorted(failures, key=lambda x: x.at)
            ],
            ["machine", "failed at", "alert", "lead time (h)", "cost (€)"],
        )
        if failures
        else "<p>No failures in the period.</p>"
    )
    parts.append("<h2>Against other policies</h2>")
    cf = result.counterfactual
    if cf is None:
        parts.append("<p>Fewer than two observed failures: no renewal model can be fitted.</p>")
    else:
        parts.append(
            _table(
                [
                    ["actual (failures, maintenance, downtime)", f"{cf.actual:,.0f}", "", ""],
                    [
                        "reactive (run to failure)",
                        f"{cf.reactive.cost:,.0f}",
                        f"{cf.reactive.low:,.0f}",
                        f"{cf.reactive.high:,.0f}",
                    ],
                    [
                        f"preventive every {cf.preventive_interval_hours:,.0f} h of running",
                        f"{cf.preventive.cost:,.0f}",
                        f"{cf.preventive.low:,.0f}",
                        f"{cf.preventive.high:,.0f}",
                    ],
                ],
                ["policy", "cost (€)", "10th pct", "90th pct"],
            )
        )
        parts.append(
            f'<p class="note">Renewal model on {cf.lives_complete} observed and'
            f" {cf.lives_censored} censored lives. Assumptions: "
            + "; ".join(html.escape(a) for a in cf.assumptions)
            + ".</p>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )
