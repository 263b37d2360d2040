"""Benchmark reports: the paper's Table II (PLCC / SRCC per test set, their averages and avr, mean +- std over
splits) and Table V (explanation RMSE per K and random-1), as CSV, Markdown and a Plotly page.

Pure over the rows modeling.protocol writes (one JSON-ready dict per configuration x split); no
Django. The HTML page loads plotly.min.js from a file written beside it (the copy the dashboards
serve, static/vendor/): nothing is fetched from a CDN, so the report opens offline.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from annotation import csvsafe

from .data.export import TEST_SETS
from .metrics import METRIC_COLUMNS

PLOTLY_JS = Path(__file__).resolve().parent.parent / "static" / "vendor" / "plotly.min.js"
SET_TITLES = {"test1": "Test-1", "test2": "Test-2", "test3": "Test-3"}
LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=70, b=90), font=dict(size=12))
FILES = ("table2.csv", "table2.md", "table2.html", "benchmark.json")


def _std(values: np.ndarray) -> float:
    """The sample standard deviation over splits (ddof 1); NaN for a single split (no spread to report)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def table2(rows: Sequence[Mapping]) -> pd.DataFrame:
    """One row per configuration (in first-seen order): splits, <metric>_mean and <metric>_std for every
    Table II column, mean fit and predict seconds, and the pretrained files used."""
    out = []
    for config, group in _by_config(rows):
        record = {"config": config, "method": group[0]["method"], "splits": len(group),
                  "split_ids": " ".join(str(r["split"]) for r in group)}
        for column in METRIC_COLUMNS:
            values = np.array([r["metrics"][column] for r in group], dtype=np.float64)
            record[f"{column}_mean"], record[f"{column}_std"] = float(values.mean()), _std(values)
        record["fit_seconds_mean"] = float(np.mean([r["seconds"]["fit"] for r in group]))
        record["predict_seconds_mean"] = float(np.mean([r["seconds"]["predict"] for r in group]))
        record["weights"] = " ".join(sorted({f"{w.get('name')}:{str(w.get('sha256', ''))[:12]}" for r in group for w in r.get("weights_used") or []}))
        record["device"] = " ".join(sorted({str(r.get("device")) for r in group}))
        out.append(record)
    return pd.DataFrame(out)


def table5(rows: Sequence[Mapping]) -> pd.DataFrame:
    """One row per configuration whose rows hold an explanation: <key>_mean and <key>_std for random-1 and each K."""
    out = []
    for config, group in _by_config(rows):
        scored = [r["explanation"] for r in group if r.get("explanation")]
        if not scored:
            continue
        keys = sorted(set().union(*scored), key=lambda k: (k != "random-1", int(k) if k.isdigit() else 0))
        record = {"config": config, "splits": len(scored)}
        for key in keys:
            values = np.array([s[key] for s in scored if key in s], dtype=np.float64)
            record[f"{key}_mean"], record[f"{key}_std"] = float(values.mean()), _std(values)
        out.append(record)
    return pd.DataFrame(out)


def _by_config(rows: Sequence[Mapping]) -> list[tuple[str, list[Mapping]]]:
    groups: dict[str, list[Mapping]] = {}
    for row in rows:
        groups.setdefault(row["config"], []).append(row)
    return [(config, sorted(group, key=lambda r: r["split"])) for config, group in groups.items()]


def _cell(mean: float, std: float) -> str:
    if mean is None or not np.isfinite(mean):
        return ""
    return f"{mean:.3f}" if not np.isfinite(std) else f"{mean:.3f} ± {std:.3f}"


def _markdown(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def table2_markdown(table: pd.DataFrame, unavailable: Mapping[str, str] | None = None, failed: Mapping[str, str] | None = None) -> str:
    """Table II as Markdown: mean ± std over splits (ddof 1; the mean alone for one split), avr last; unavailable methods and failed runs named."""
    header = ["Method"] + [f"{SET_TITLES[s]} {m.upper()}" for s in TEST_SETS for m in ("plcc", "srcc")] + \
             ["PLCC avr", "SRCC avr", "avr", "splits", "fit s"]
    body = []
    for record in table.to_dict("records"):
        cells = [_cell(record[f"{c}_mean"], record[f"{c}_std"]) for c in METRIC_COLUMNS]
        body.append([record["config"], *cells, str(record["splits"]), f"{record['fit_seconds_mean']:.1f}"])
    for config, reason in (unavailable or {}).items():
        body.append([config, *(["unavailable"] + [""] * (len(header) - 2))])
    text = _markdown(header, body)
    if unavailable:
        text += "\n" + "\n".join(f"- {config}: {reason}" for config, reason in unavailable.items()) + "\n"
    if failed:
        text += "\nFailed runs (not in the table):\n" + "\n".join(f"- {run}: {reason}" for run, reason in failed.items()) + "\n"
    return text


def table5_markdown(table: pd.DataFrame) -> str:
    """Table V as Markdown: explanation RMSE (lower is better) for random-1 and each K, mean ± std over splits."""
    keys = [c[: -len("_mean")] for c in table.columns if c.endswith("_mean")]
    header = ["Method", *[k if k == "random-1" else f"top-{k}" for k in keys], "splits"]
    body = [[r["config"], *[_cell(r[f"{k}_mean"], r[f"{k}_std"]) for k in keys], str(r["splits"])] for r in table.to_dict("records")]
    return _markdown(header, body)


def table2_figure(table: pd.DataFrame) -> go.Figure:
    """Table II as bars: PLCC and SRCC per test set and their averages, and avr, per configuration, with the std over splits."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("PLCC", "SRCC", "avr"), shared_yaxes=True, column_widths=[0.4, 0.4, 0.2])
    configs = table["config"].tolist() if len(table) else []
    for col, metric in enumerate(("plcc", "srcc"), start=1):
        for name in (*TEST_SETS, "avr"):
            column = f"{metric}_{name}"
            fig.add_trace(go.Bar(x=configs, y=table[f"{column}_mean"] if configs else [], name=SET_TITLES.get(name, "average"),
                                 legendgroup=name, showlegend=col == 1,
                                 error_y=dict(type="data", array=table[f"{column}_std"].fillna(0) if configs else [])), row=1, col=col)
    fig.add_trace(go.Bar(x=configs, y=table["avr_mean"] if configs else [], name="avr", marker_color="#444",
                         error_y=dict(type="data", array=table["avr_std"].fillna(0) if configs else [])), row=1, col=3)
    fig.update_yaxes(range=[min(0.0, float(table["plcc_test1_mean"].min()) - 0.1) if configs else 0, 1], title_text="correlation", row=1, col=1)
    fig.update_layout(**LAYOUT, barmode="group", height=460, title="Table II: correlation with MOS on the held-out sets (mean ± std over splits)")
    return fig


def table5_figure(table: pd.DataFrame) -> go.Figure:
    """Table V as lines: explanation RMSE against K per configuration, random-1 dashed."""
    fig = go.Figure()
    for record in table.to_dict("records"):
        ks = sorted(int(c[: -len("_mean")]) for c in record if c.endswith("_mean") and c[: -len("_mean")].isdigit())
        fig.add_trace(go.Scatter(x=ks, y=[record[f"{k}_mean"] for k in ks], mode="lines+markers", name=record["config"],
                                        error_y=dict(type="data", array=[np.nan_to_num(record[f"{k}_std"]) for k in ks])))
        if "random-1_mean" in record and ks:
            fig.add_trace(go.Scatter(x=[ks[0], ks[-1]], y=[record["random-1_mean"]] * 2, mode="lines", line=dict(dash="dash"),
                                      name=f"{record['config']} random-1"))
    fig.update_layout(**LAYOUT, height=420, title="Table V: explanation error (RMSE of category vectors; lower is better)",
                      xaxis_title="K (training videos retrieved)", yaxis_title="RMSE")
    return fig


def html_write(path: Path, title: str, figures: Sequence[tuple[str, go.Figure]], tables: Sequence[str] = ()) -> None:
    """An offline HTML page: `figures` (div ids and figures) and pre-formatted `tables`, loading plotly.min.js from beside it."""
    import html

    parts = [f'<!doctype html><meta charset="utf-8"><title>{html.escape(title)}</title><script src="plotly.min.js"></script>',
             f"<body><h1>{html.escape(title)}</h1>"]
    for name, figure in figures:
        parts.append(figure.to_html(full_html=False, include_plotlyjs=False, div_id=name, config={"displaylogo": False}))
    for table in tables:
        parts.append(f"<pre>{html.escape(table)}</pre>")
    parts.append("</body>")
    path.write_text("\n".join(parts), encoding="utf-8")
    shutil.copyfile(PLOTLY_JS, path.parent / "plotly.min.js")


def report_write(folder: Path, rows: Sequence[Mapping], meta: Mapping) -> dict[str, Path]:
    """Write table2.csv, table2.md, table2.html (+ plotly.min.js) and benchmark.json into `folder`, and
    table5.csv / table5.md when any row holds an explanation; returns the files by name.

    benchmark.json holds `meta` (export manifest hash, configurations, splits, seed, device, torch)
    with both tables as records; every row stays in rows/<config>/split-<k>.json.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    unavailable = dict(meta.get("unavailable") or {})
    t2, t5 = table2(rows), table5(rows)
    files = {"table2.csv": folder / "table2.csv", "table2.md": folder / "table2.md", "table2.html": folder / "table2.html",
             "benchmark.json": folder / "benchmark.json"}
    csvsafe.frame(t2).to_csv(files["table2.csv"], index=False)
    markdown = table2_markdown(t2, unavailable, meta.get("failed"))
    files["table2.md"].write_text(markdown, encoding="utf-8")
    figures = [("table2", table2_figure(t2))]
    tables = [markdown]
    if len(t5):
        files["table5.csv"], files["table5.md"] = folder / "table5.csv", folder / "table5.md"
        csvsafe.frame(t5).to_csv(files["table5.csv"], index=False)
        files["table5.md"].write_text(table5_markdown(t5), encoding="utf-8")
        figures.append(("table5", table5_figure(t5)))
        tables.append(table5_markdown(t5))
    html_write(files["table2.html"], "Benchmark", figures, tables)
    summary = {**meta, "table2": records(t2), "table5": records(t5)}
    files["benchmark.json"].write_text(json.dumps(summary, indent=1, allow_nan=False), encoding="utf-8")
    return files


def records(table: pd.DataFrame) -> list[dict]:
    """A table as JSON records, NaN (the std of one split) as null."""
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in table.to_dict("records")]
