"""The trend over re-scans, drawn server-side as inline SVG: no script, no asset, prints as is.

`trend_svg` is pure: a series of points in, an SVG string out. Every text it carries (a group
name, a date, a severity word) is escaped here, since the string is marked safe for the template.
Severities differ by fill pattern as well as by shade, and the legend names them, so the chart
reads in black and white print; each bar carries its total as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup, escape

from reports import SEVERITY_DESC, Texts
from scanner.history import History, first_seen, scan_record, trend_series
from scanner.model import Result, Severity, Status
from scanner.scanfile import ScanFile

WIDTH, HEIGHT = 420, 150
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT = 18, 112, 8, 412
# Worst first, darkest and densest first: solid, hatched, cross-hatched, dotted, outlined.
PATTERNS = {
    Severity.CRITICAL: '<rect width="4" height="4" fill="#7a1010"/>',
    Severity.HIGH: '<rect width="4" height="4" fill="#f3c4c4"/><path d="M0 4L4 0" stroke="#b42318" stroke-width="1.4"/>',
    Severity.MEDIUM: '<rect width="4" height="4" fill="#fde7c4"/><path d="M0 4L4 0M0 0L4 4" stroke="#9a5b00" stroke-width="0.8"/>',
    Severity.LOW: '<rect width="4" height="4" fill="#fff7d6"/><circle cx="2" cy="2" r="0.9" fill="#6b5a00"/>',
    Severity.INFO: '<rect width="4" height="4" fill="#ffffff"/>',
}


@dataclass(frozen=True)
class Point:
    label: str  # the scan's date as the catalog writes it
    counts: Mapping[Severity, int]  # failing results by severity


@dataclass(frozen=True)
class ChartWords:
    title: str  # "Failing results of XI.3 over 3 scans"
    desc: str  # the same figures in one sentence, for a screen reader
    severity: Mapping[Severity, str]


def trend_svg(points: Sequence[Point], words: ChartWords, uid: str) -> Markup:
    """Stacked bars of failing results by severity, one per scan, oldest left. `uid` makes the
    pattern ids unique in the page (letters, digits, dashes)."""
    uid = "".join(c for c in uid if c.isascii() and (c.isalnum() or c == "-"))[:60] or "t"
    used = [s for s in SEVERITY_DESC if any(p.counts.get(s, 0) for p in points)]
    top = max((sum(p.counts.values()) for p in points), default=0) or 1
    n = max(len(points), 1)
    slot = (PLOT_RIGHT - PLOT_LEFT) / n
    bar = min(28.0, slot * 0.7)
    every = max(1, -(-n * 44 // (PLOT_RIGHT - PLOT_LEFT)))  # a date label every `every` bars: ~44 px each
    out = [f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{uid}-t {uid}-d">',
           f'<title id="{uid}-t">{escape(words.title)}</title><desc id="{uid}-d">{escape(words.desc)}</desc><defs>']
    out += [f'<pattern id="{uid}-{s.value}" width="4" height="4" patternUnits="userSpaceOnUse">{PATTERNS[s]}</pattern>'
            for s in used]
    out.append(f'</defs><line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}" stroke="#555"/>')
    scale = (PLOT_BOTTOM - PLOT_TOP) / top
    for i, p in enumerate(points):
        x = PLOT_LEFT + slot * i + (slot - bar) / 2
        y = float(PLOT_BOTTOM)
        for s in reversed(used):  # the worst on top, where the eye lands
            h = p.counts.get(s, 0) * scale
            if h:
                y -= h
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                           f'fill="url(#{uid}-{s.value})" stroke="#333" stroke-width="0.6"/>')
        out.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle">'
                   f'{sum(p.counts.values())}</text>')
        if i % every == 0 or i == n - 1:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{PLOT_BOTTOM + 11}" font-size="8" text-anchor="middle">'
                       f'{escape(p.label)}</text>')
    x = float(PLOT_LEFT)
    for s in used:  # the legend: pattern swatch and its word
        label = escape(words.severity.get(s, s.value))
        out.append(f'<rect x="{x:.1f}" y="{HEIGHT - 18}" width="10" height="10" fill="url(#{uid}-{s.value})" '
                   f'stroke="#333" stroke-width="0.6"/><text x="{x + 13:.1f}" y="{HEIGHT - 9}" font-size="9">{label}</text>')
        x += 22 + 5.5 * len(words.severity.get(s, s.value))
    out.append("</svg>")
    return Markup("".join(out))


# -- the report's view of the history ------------------------------------------------------------
@dataclass(frozen=True)
class Chart:
    group: str  # survey group (XI.3)
    svg: Markup


@dataclass(frozen=True)
class TrendView:
    charts: list[Chart]
    scans: int  # points drawn: the earlier scans and this one
    first: datetime  # the oldest scan drawn
    edited: bool  # the inventory's digest differs in some earlier scan
    skipped: list[str]  # earlier files that could not be read
    seen: dict[tuple[str, ...], datetime]  # still-failing key -> start of its current run of failures

    def since(self, results: Sequence[Result]) -> date | None:
        """The day the oldest of these (folded alike) failing results was first seen in its current run."""
        days = [self.seen[r.key] for r in results if r.status == Status.FAIL and r.key in self.seen]
        return min(days).date() if days else None


def _day(value: datetime) -> str:
    return value.strftime("%d/%m/%Y")  # the report's date style, in both languages


def _group_order(group: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in group.split("."))


def trend_view(scan: ScanFile, history: History, texts: Texts) -> TrendView | None:
    """The charts and first-seen dates for a report, or None when there is no earlier scan."""
    if not history.records:
        return None
    records = [*history.records, scan_record(scan)]
    series = trend_series(records)
    groups = sorted({g for p in series for (g, _) in p.counts}, key=_group_order)
    severity = {s: texts.severity(s) for s in SEVERITY_DESC}
    charts = []
    for group in groups:
        points = [Point(_day(p.started), {s: p.counts.get((group, s), 0) for s in SEVERITY_DESC}) for p in series]
        figures = "; ".join(f"{pt.label}: {sum(pt.counts.values())}" for pt in points)
        words = ChartWords(texts.t("trend.chart_title", group=group, n=len(points)),
                           texts.t("trend.chart_desc", group=group, figures=figures), severity)
        charts.append(Chart(group, trend_svg(points, words, f"trend-{group.replace('.', '-')}")))
    return TrendView(charts, len(records), records[0].started,
                     any(r.digest != scan.inventory.digest for r in history.records), history.skipped,
                     first_seen(records))
