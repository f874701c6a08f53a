"""The dashboard's chart: service level by tier over the day, drawn on the server as SVG.

One line per tier through its hourly points, the hours of the day along the bottom, 0–100% up
the side, and each tier's lowest live-channel target as a dashed line of the same colour. The
SVG is self-contained (no script, no external fonts) and carries a <title> and <desc> for
screen readers; points have their figures as tooltips.
"""

from __future__ import annotations

from html import escape

from contactcenter.reports.day_report import HourPoint

COLOURS = {"key_account": "#7c3aed", "relationship": "#0369a1", "transactional": "#15803d"}
LABELS = {
    "key_account": "Key account",
    "relationship": "Relationship",
    "transactional": "Transactional",
}
WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 130, 16, 30


def _x(hour: float, hours: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (hour + 0.5) / hours


def _y(level: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - level)


def render(
    series: dict[str, list[HourPoint]], hours: int, targets: dict[str, float], day_label: str
) -> str:
    """The SVG document for the day's `series`, `hours` long; `targets` are fractions."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="t d" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="t">Service level by tier, {escape(day_label)}</title>',
        f'<desc id="d">{escape(_describe(series))}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    for level in (0, 0.25, 0.5, 0.75, 1):
        y = _y(level)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#6b7280">'
            f"{int(level * 100)}%</text>"
        )
    step = 3 if hours > 12 else 1
    for hour in range(0, hours, step):
        parts.append(
            f'<text x="{_x(hour, hours):.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
            f'fill="#6b7280">{hour:02d}</text>'
        )
    legend_y = TOP + 4
    for tier, colour in COLOURS.items():
        if tier in targets:
            y = _y(targets[tier])
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{colour}" stroke-dasharray="4 4" opacity="0.5"/>'
            )
        points = [p for p in series.get(tier, []) if p.service_level is not None]
        if len(points) > 1:
            path = " ".join(
                f"{_x(p.hour, hours):.1f},{_y(p.service_level or 0):.1f}" for p in points
            )
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for p in points:
            tip = f"{LABELS[tier]} {p.hour:02d}:00 — {p.service_level:.0%} of {p.offered}"
            x, y = _x(p.hour, hours), _y(p.service_level or 0)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{legend_y}" width="10" height="10" '
            f'fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{WIDTH - RIGHT + 27}" y="{legend_y + 9}" fill="#111827">'
            f"{LABELS[tier]}</text>"
        )
        legend_y += 18
    parts.append(
        f'<text x="{WIDTH - RIGHT + 12}" y="{legend_y + 12}" fill="#6b7280">dashed: target</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _describe(series: dict[str, list[HourPoint]]) -> str:
    said = []
    for tier, points in series.items():
        offered = sum(p.offered for p in points)
        within = sum(p.within for p in points)
        if offered:
            said.append(f"{LABELS.get(tier, tier)}: {within / offered:.0%} of {offered} today")
    return "; ".join(said) or "No work with a service-level target yet today."
