"""The dashboards' charts: each builder returns a Plotly figure and the table it plots (for CSV download).

Builders read a run's merged stage results (the paper's figures) or the live monitor's queries;
none computes statistics itself. Figure numbers refer to the DREAM paper.
"""
from __future__ import annotations

from collections.abc import Callable
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .stats import reasons as reason_stats
from .stats import sos as sos_stats

GROUP_TITLES = {"age": "Age", "gender": "Gender", "education": "Education", "prior_knowledge": "Prior knowledge", "seconds": "Time per video"}
LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=60, b=50), height=380, font=dict(size=12))


@dataclass(frozen=True)
class Context:
    """What a builder may read: a run's results and the live queries' frames."""

    results: dict
    monitor: dict
    target: int = 0
    # The answers annotators chose from, per attribute: value -> label (analysis.selectors.demographic_labels).
    labels: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    source: str  # "run" or "monitor"
    build: Callable[[Context], tuple[go.Figure, pd.DataFrame]]
    wide: bool = False  # spans the dashboard's width (a figure of many labelled rows)


def _frame(columns: dict | None) -> pd.DataFrame:
    return pd.DataFrame(columns or {})


def _empty(title: str) -> tuple[go.Figure, pd.DataFrame]:
    fig = go.Figure(layout={**LAYOUT, "title": title})
    fig.add_annotation(text="No data yet", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig, pd.DataFrame()


# Fig. 2's attributes in the paper's order: the four answers of the demographics form, then time.
FIG2_ATTRIBUTES = ("age", "gender", "education", "prior_knowledge", "time_group")
FIG2_TITLES = {**GROUP_TITLES, "time_group": "Mean time per video"}
NOT_ANSWERED = "not answered"
_INTERVAL = re.compile(r"^[\(\[]\s*(-?[\d.eE+-]+)\s*,\s*(-?[\d.eE+-]+)\s*[\)\]]$")


def _seconds_bin(text: str) -> tuple[float, str]:
    """A time group as the pipeline stores it ("(3.2, 10.5]", seconds) -> (its lower edge, "3.2-10.5 s")."""
    match = _INTERVAL.match(str(text))
    if match is None:
        return float("inf"), str(text)
    low, high = float(match.group(1)), float(match.group(2))
    return low, f"{max(low, 0):.3g}\u2013{high:.3g} s"


def fig2_groups(attribute: str, values: pd.Series, labels: dict) -> list[tuple[str, str]]:
    """The groups of one attribute present in `values`, in their natural order, as (value, label) pairs.

    Demographic answers come in the demographics form's order and under its labels (what annotators
    chose from: `labels[attribute]`, value -> label); values the form does not offer follow, sorted,
    and a blank answer comes last as "not answered". Time groups are ordered by their lower edge
    and labelled in seconds.
    """
    present = set(values.astype(str))
    blank = {"", "nan", "None"}
    if attribute == "time_group":
        timed = [(value, label) for (_, label), value in sorted((_seconds_bin(v), v) for v in present - blank)]
        return timed + [(value, "no time measured") for value in sorted(present & blank)]
    offered = dict(labels.get(attribute, ()))
    ordered = [(value, label) for value, label in offered.items() if value in present]
    ordered += [(value, value) for value in sorted(present - set(offered) - blank)]
    ordered += [(value, NOT_ANSWERED) for value in sorted(present & blank)]
    return ordered


def annotators_chart(ctx: Context):
    """Fig. 2: annotators per group (bars) and each group's false negative rate (boxes), one row per attribute.

    Rows, not columns: group names are horizontal tick labels that never collide however long the
    form's wording ("I have knowingly watched deepfakes"), and the x axes are shared per column, so
    only the bottom row carries tick numbers and no row's ticks meet the next row's title. The
    Chromium test measures the rendered texts' boxes for overlaps.
    """
    groups = ctx.results.get("groups", {})
    fnr = _frame(groups.get("fnr"))
    tests = groups.get("tests", {})
    attributes = [a for a in FIG2_ATTRIBUTES if a in fnr.columns]
    if fnr.empty or not attributes:
        return _empty("Annotators and false negative rates")
    per_attribute = [(a, fig2_groups(a, fnr[a].fillna("").astype(str), ctx.labels)) for a in attributes]
    titles = []
    for attribute, _ in per_attribute:
        p = tests.get("seconds" if attribute == "time_group" else attribute, {}).get("p")
        titles.append(FIG2_TITLES[attribute] + (f" (Kruskal-Wallis p = {p:.2g})" if p is not None and p == p else ""))
    # Heights in pixels: a group's row must hold its 12 px label (Plotly drops category labels that
    # would touch), and the gap between attributes holds the next one's subplot title.
    sizes = [max(len(ordered), 1) for _, ordered in per_attribute]
    group_px, gap_px, margin = 30, 46, dict(l=20, r=20, t=90, b=70)
    plot_px = group_px * sum(sizes) + gap_px * (len(sizes) - 1)
    fig = make_subplots(rows=len(per_attribute), cols=2, shared_xaxes=True, shared_yaxes=True, column_widths=[0.3, 0.7],
                        row_heights=[s / sum(sizes) for s in sizes], horizontal_spacing=0.08,
                        vertical_spacing=gap_px / plot_px)
    for row, (attribute, ordered) in enumerate(per_attribute, start=1):
        values = fnr[attribute].fillna("").astype(str)
        names = [label for _, label in ordered]
        counts = [int((values == value).sum()) for value, _ in ordered]
        fig.add_trace(go.Bar(x=counts, y=names, orientation="h", marker_color="#8aa9d6", showlegend=False,
                             hovertemplate="%{y}: %{x} annotators<extra></extra>"), row=row, col=1)
        for (value, label), count in zip(ordered, counts):
            fig.add_trace(go.Box(x=fnr.loc[values == value, "fnr"], y=[label] * count, name=label, orientation="h",
                                 boxpoints=False, showlegend=False, marker_color="#1856b8",
                                 hovertemplate=f"{label}<br>%{{x:.0%}}<extra></extra>"), row=row, col=2)
        # The range explicitly: autorange gives every row the same span of categories (measured in
        # Chromium: [-1, 4] for a row of two groups), squeezing short rows until labels are dropped.
        fig.update_yaxes(categoryorder="array", categoryarray=names[::-1], range=[-0.5, len(names) - 0.5], automargin=True, row=row)
    # One title per attribute, left-aligned over its row: two centred per-column titles met in the
    # middle once the figure was narrower than 760 px.
    for row, title in enumerate(titles, start=1):
        top = fig.get_subplot(row, 1).yaxis.domain[1]
        fig.add_annotation(text=f"<b>{title}</b>", x=0, y=top, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                           yshift=6, showarrow=False, font=dict(size=13))
    fig.update_xaxes(title_text="annotators", row=len(per_attribute), col=1)
    fig.update_xaxes(title_text="false negative rate (fakes rated 5)", tickformat=".0%", range=[0, 1],
                     row=len(per_attribute), col=2)
    fig.update_layout(**{**LAYOUT, "margin": margin, "height": plot_px + margin["t"] + margin["b"]},
                      title="Annotators per group and their false negative rate (Fig. 2)")
    return fig, fnr


def consistency_chart(ctx: Context):
    """Fig. 3: split-half SRCC against ratings per video."""
    table = _frame(ctx.results.get("consistency"))
    if table.empty:
        return _empty("Split-half consistency")
    fig = go.Figure(go.Scatter(
        x=table["ratings_per_video"], y=table["mean_srcc"], mode="lines+markers",
        error_y=dict(type="data", array=table["std_srcc"].fillna(0)), text=[f"k = {k}" for k in table["k"]],
        hovertemplate="%{text}<br>%{x:.1f} ratings/video<br>SRCC %{y:.4f}<extra></extra>",
    ))
    fig.update_layout(**LAYOUT, title="Split-half inter-subject consistency (Fig. 3)",
                      xaxis_title="mean ratings per video in each half", yaxis_title="SRCC between the halves' MOS")
    return fig, table


def sos_chart(ctx: Context):
    """Fig. 4: variance against MOS before and after rectification, with both fitted curves."""
    sos = ctx.results.get("sos", {})
    before, after = _frame(sos.get("scatter_before")), _frame(sos.get("scatter_after"))
    if before.empty:
        return _empty("SOS hypothesis")
    a_before, a_after = sos.get("before", {}).get("a"), sos.get("after", {}).get("a")
    fig = go.Figure()
    # Points carry their video's id (meta "video"): dashboard.js opens the video's page on a click.
    fig.add_trace(go.Scatter(x=before["mos"], y=before["variance"], mode="markers", name="before (all attempts)",
                             marker=dict(size=6, opacity=0.45, color="#ef6c00"), customdata=before["video"], meta="video",
                             hovertemplate="video %{customdata}<br>MOS %{x:.2f}<br>variance %{y:.2f}<extra>click to open</extra>"))
    fig.add_trace(go.Scatter(x=after["mos"], y=after["variance"], mode="markers", name="after (qualified)",
                             marker=dict(size=6, opacity=0.45, color="#1856b8"), customdata=after["video"], meta="video",
                             hovertemplate="video %{customdata}<br>MOS %{x:.2f}<br>variance %{y:.2f}<extra>click to open</extra>"))
    grid = np.linspace(1, 5, 101)
    for a, label, color in ((a_before, "before", "#ef6c00"), (a_after, "after", "#1856b8")):
        if a is not None:
            # No hover on the curves: the nearest point under the mouse, and so a click, is always a video.
            fig.add_trace(go.Scatter(x=grid, y=sos_stats.sos_curve(grid, a), mode="lines", name=f"a = {a:.3f} ({label})",
                                     line=dict(color=color), hoverinfo="skip"))
    fig.update_layout(**LAYOUT, title="SOS hypothesis: variance against MOS (Fig. 4)", xaxis_title="MOS", yaxis_title="variance of ratings",
                      hovermode="closest")
    table = before.merge(after, on="video", how="outer", suffixes=("_before", "_after"))
    return fig, table


def histograms_chart(ctx: Context):
    """Fig. 6: distributions of MOS and SOS."""
    videos = _frame(ctx.results.get("videos"))
    if videos.empty:
        return _empty("MOS and SOS")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("MOS", "SOS"))
    fig.add_trace(go.Histogram(x=videos["mos"], nbinsx=40, marker_color="#1856b8", showlegend=False), row=1, col=1)
    fig.add_trace(go.Histogram(x=videos["sos"], nbinsx=40, marker_color="#558b2f", showlegend=False), row=1, col=2)
    fig.update_layout(**LAYOUT, title="Distributions of MOS and SOS (Fig. 6)")
    return fig, videos


def words_chart(ctx: Context):
    """Fig. 7: the most frequent words of the descriptions."""
    words = _frame(ctx.results.get("reasons", {}).get("words")).head(40)
    if words.empty:
        return _empty("Word frequencies")
    fig = go.Figure(go.Bar(x=words["count"][::-1], y=words["word"][::-1], orientation="h", marker_color="#1856b8"))
    fig.update_layout(**{**LAYOUT, "height": 720}, title="Most frequent words in the descriptions (Fig. 7)", xaxis_title="count")
    return fig, words


def categories_chart(ctx: Context):
    """Fig. 8: share of descriptions naming each place, artifact and extent."""
    shares = _frame(ctx.results.get("reasons", {}).get("category_shares"))
    if shares.empty:
        return _empty("Description categories")
    kind = {c: "place" for c in reason_stats.PLACES} | {c: "artifact" for c in reason_stats.ARTIFACTS} | {c: "extent" for c in reason_stats.EXTENTS}
    shares["kind"] = shares["category"].map(kind)
    fig = go.Figure()
    for name, color in (("place", "#1856b8"), ("artifact", "#ef6c00"), ("extent", "#558b2f")):
        rows = shares[shares["kind"] == name]
        fig.add_trace(go.Bar(x=rows["category"], y=rows["share"], name=name, marker_color=color))
    fig.update_layout(**LAYOUT, title="Share of descriptions naming each category (Fig. 8)", yaxis_title="share of descriptions", yaxis_tickformat=".0%")
    return fig, shares


def progress_chart(ctx: Context):
    per_video = ctx.monitor.get("ratings_per_video", pd.DataFrame())
    if per_video.empty:
        return _empty("Progress to the target")
    fig = go.Figure(go.Histogram(x=per_video["qualified"], marker_color="#1856b8"))
    fig.add_vline(x=ctx.target, line_dash="dash", annotation_text=f"target {ctx.target}")
    done = int((per_video["qualified"] >= ctx.target).sum())
    fig.update_layout(**LAYOUT, title=f"Qualified ratings per video: {done} of {len(per_video)} at the target",
                      xaxis_title="qualified ratings", yaxis_title="videos")
    return fig, per_video


# The per-day charts read one frame (analysis.selectors.monitor_activity_per_day), so they count the
# same days the same way; the axis says which days those are.
def _day_axis() -> dict:
    from django.conf import settings

    return dict(title_text=f"day ({settings.TIME_ZONE})", type="date", tickformat="%b %d", dtick=86_400_000)


def sessions_chart(ctx: Context):
    """Sessions started and sessions qualified, per day."""
    per_day = ctx.monitor.get("activity_per_day", pd.DataFrame())
    if per_day.empty:
        return _empty("Sessions per day")
    days = pd.to_datetime(per_day["day"]).dt.strftime("%Y-%m-%d")
    fig = go.Figure([go.Bar(x=days, y=per_day["sessions_started"], name="sessions started", marker_color="#8aa9d6"),
                     go.Bar(x=days, y=per_day["qualified"], name="sessions qualified", marker_color="#1856b8")])
    fig.update_layout(**LAYOUT, title="Sessions per day", barmode="group", yaxis_title="sessions")
    fig.update_xaxes(**_day_axis())
    return fig, per_day


def disqualification_chart(ctx: Context):
    """The share of the day's finished attempts that were disqualified."""
    per_day = ctx.monitor.get("activity_per_day", pd.DataFrame())
    finished = per_day[per_day["finished"] > 0] if not per_day.empty else per_day
    if finished.empty:
        return _empty("Disqualification rate")
    days = pd.to_datetime(finished["day"]).dt.strftime("%Y-%m-%d")
    fig = go.Figure(go.Scatter(x=days, y=finished["disqualification_rate"], mode="lines+markers",
                               customdata=finished[["disqualified", "finished"]].to_numpy(),
                               hovertemplate="%{x}: %{customdata[0]} of %{customdata[1]} finished attempts<extra></extra>"))
    fig.update_layout(**LAYOUT, title="Share of finished attempts disqualified, per day", yaxis_tickformat=".0%", yaxis_range=[0, 1])
    fig.update_xaxes(**_day_axis())
    return fig, per_day


def checkers_chart(ctx: Context):
    accuracy = ctx.monitor.get("checker_accuracy", pd.DataFrame())
    if accuracy.empty:
        return _empty("Checker accuracy")
    fig = go.Figure(go.Histogram(x=accuracy["accuracy"], nbinsx=20, marker_color="#558b2f"))
    fig.update_layout(**LAYOUT, title="Checker accuracy per annotator (within the tolerance)", xaxis_tickformat=".0%", yaxis_title="annotators")
    return fig, accuracy


def time_chart(ctx: Context):
    seconds = ctx.monitor.get("seconds_per_video", pd.Series(dtype=float))
    if seconds.empty:
        return _empty("Time per video")
    clipped = seconds.clip(upper=float(seconds.quantile(0.99)))
    fig = go.Figure(go.Histogram(x=clipped, nbinsx=50, marker_color="#9e9d24"))
    fig.update_layout(**LAYOUT, title=f"Seconds per video (median {seconds.median():.1f} s; top 1% clipped)", xaxis_title="seconds", yaxis_title="ratings")
    return fig, seconds.to_frame()


def subjects_chart(ctx: Context):
    table = _frame(ctx.results.get("subjects", {}).get("annotators"))
    if table.empty:
        return _empty("Annotator bias and inconsistency")
    rejected = table["rejected"].fillna(False).astype(bool) if "rejected" in table.columns else pd.Series(False, index=table.index)
    fig = go.Figure()
    for flag, name, color in ((False, "kept", "#1856b8"), (True, "rejected by BT.500", "#c62828")):
        rows = table[rejected == flag]
        fig.add_trace(go.Scatter(x=rows["bias"], y=rows["inconsistency"], mode="markers", name=name,
                                 marker=dict(size=6, opacity=0.6, color=color), customdata=rows["annotator"], meta="annotator",
                                 hovertemplate="annotator %{customdata}<br>bias %{x:.2f}<br>inconsistency %{y:.2f}<extra>click to open</extra>"))
    fig.update_layout(**LAYOUT, title="Annotator bias and inconsistency (maximum-likelihood subject model)",
                      xaxis_title="bias (grades)", yaxis_title="inconsistency (std, grades)")
    return fig, table


CHARTS: tuple[Chart, ...] = (
    Chart("annotators", "Annotators and FNR", "run", annotators_chart, wide=True),
    Chart("consistency", "Split-half consistency", "run", consistency_chart),
    Chart("sos", "SOS hypothesis", "run", sos_chart),
    Chart("histograms", "MOS and SOS", "run", histograms_chart),
    Chart("words", "Word frequencies", "run", words_chart),
    Chart("categories", "Categories", "run", categories_chart),
    Chart("progress", "Progress", "monitor", progress_chart),
    Chart("sessions", "Sessions per day", "monitor", sessions_chart),
    Chart("disqualification", "Disqualification rate", "monitor", disqualification_chart),
    Chart("checkers", "Checker accuracy", "monitor", checkers_chart),
    Chart("time", "Time per video", "monitor", time_chart),
    Chart("subjects", "Bias and inconsistency", "monitor", subjects_chart),
)
CHARTS_BY_NAME = {chart.name: chart for chart in CHARTS}


def figure_json(figure: go.Figure) -> str:
    return figure.to_json()


def write_html_report(charts: list[tuple[str, go.Figure]], path, plotly_js: str = "plotly.min.js") -> None:
    """One self-contained-but-offline HTML page of figures, loading Plotly from a file beside it."""
    parts = [f'<!doctype html><meta charset="utf-8"><title>Analysis report</title><script src="{plotly_js}"></script><body>']
    for name, figure in charts:
        parts.append(figure.to_html(full_html=False, include_plotlyjs=False, div_id=name, config={"displaylogo": False}))
    parts.append("</body>")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
