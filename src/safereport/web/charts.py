"""Charts for the oversight page, rendered on the server as inline SVG with pygal.

Every chart draws published values only: a count under 10 is not drawn at all (it appears in
the table beside the chart as "fewer than 10"); with nothing to draw there is no chart. Charts carry no script: pygal's inline
configuration script is removed, so the page needs no JavaScript.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from safereport.oversight import NationalStatistics, publish_count
from safereport.web import labels

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#6b7785",
    opacity="0.9",
    opacity_hover="1",
    transition="0ms",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    title_font_size=15,
    colors=(
        "#1d4e89",
        "#c2571a",
        "#2e7d4f",
        "#8c2d6f",
        "#6b7785",
        "#b38b00",
        "#3f8fbf",
        "#a23b3b",
        "#4b3f8f",
        "#5a7d2e",
    ),
)


def _drawn(value: int | str) -> int | None:
    return value if isinstance(value, int) else None


def _svg(chart: Any, label: str) -> Markup:
    text = chart.render(is_unicode=True)
    text = _COMMENT.sub("", _SCRIPT.sub("", text))
    text = text.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(text)


def _common(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "style": _STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "print_values": False,
        "show_legend": True,
        "legend_at_bottom": True,
        "truncate_legend": -1,
        "truncate_label": -1,
        "include_x_axis": True,
        **extra,
    }


def per_day_by_purpose(
    stats: NationalStatistics, days: Sequence[str], decision: str, title: str
) -> Markup | None:
    table = stats.table("requests_by_day_purpose_decision")
    purposes: list[str] = []
    values: dict[str, dict[str, int]] = {}
    for (day, purpose, row_decision), count in table.rows:
        if row_decision != decision:
            continue
        if purpose not in values:
            purposes.append(purpose)
            values[purpose] = {}
        values[purpose][day] = count
    drawn = {
        purpose: [_drawn(publish_count(values[purpose].get(day, 0))) for day in days] for purpose in purposes
    }
    drawn = {purpose: series for purpose, series in drawn.items() if any(v is not None for v in series)}
    if not drawn:
        return None
    chart = pygal.StackedBar(
        **_common(title, width=860, height=380, x_label_rotation=-40 if len(days) > 8 else 0)
    )
    chart.x_labels = list(days)
    for purpose, series in drawn.items():
        chart.add(labels.purpose(purpose), series)
    return _svg(chart, title)


def per_controller(stats: NationalStatistics, table_name: str, decision: str, title: str) -> Markup | None:
    table = stats.table(table_name)
    names = {c.controller: c.name for c in stats.controllers}
    controllers: list[str] = []
    series: list[int | None] = []
    for (controller, row_decision), count in table.rows:
        if row_decision == decision:
            controllers.append(names.get(controller, controller))
            series.append(_drawn(publish_count(count)))
    if all(v is None for v in series):
        return None
    chart = pygal.HorizontalBar(
        **_common(title, width=860, height=max(260, 80 + 17 * len(controllers)), show_legend=False)
    )
    # pygal draws a horizontal bar chart's first label at the bottom: reversed, it reads top down.
    chart.x_labels = controllers[::-1]
    chart.add(labels.decision(decision), series[::-1])
    return _svg(chart, title)


class ChartCache:
    """The charts of the latest statistics snapshot: rendered once per snapshot, not per page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._for: NationalStatistics | None = None
        self._charts: dict[str, Markup | None] = {}

    def charts(self, stats: NationalStatistics, days: Sequence[str]) -> dict[str, Markup | None]:
        with self._lock:
            if self._for is stats:
                return self._charts
        charts = {
            "permitted": per_day_by_purpose(stats, days, "permit", "Requests permitted per day, by purpose"),
            "refused": per_day_by_purpose(stats, days, "deny", "Requests refused per day, by purpose"),
            "ie_refused": per_controller(
                stats,
                "immigration_enforcement_attempts",
                "deny",
                "Immigration-enforcement attempts refused, per controller",
            ),
            "outbound_refused": per_controller(
                stats, "outbound_checks", "deny", "Outbound checks refused, per controller"
            ),
        }
        with self._lock:
            self._for, self._charts = stats, charts
        return charts
