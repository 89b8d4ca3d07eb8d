"""The steward's home (the admin index): panels contributed by each app from its own ``home.py`` with
:func:`panel` (an ``accounts.contributions.Registry``: a panel's builder receives the request and returns its
template's context, or None when the user may see nothing of it).

Charts are drawn here as SVG by the server (:func:`bar_chart`): no script, nothing fetched from another origin,
readable without JavaScript and by the browser suite, and the numbers they show are the panel's own.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from accounts.contributions import Registry, ShownPart

PANELS = Registry("home", "home panels")
# Register the decorated ``build(request) -> dict | None`` as a panel of the home (its HTML id is
# ``panel-<key>``).
panel = PANELS.register


def panels_for(request: HttpRequest) -> list[ShownPart]:
    """The panels this request's user may see, in order, with their data."""
    return PANELS.shown(request)


def changelist_url(model_label: str, **filters) -> str:
    """The admin list of ``"app_label.modelname"`` with ``filters`` as its query: the list a number links to."""
    app_label, model_name = model_label.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


# --- server-drawn charts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A part of a bar: its value, its CSS class (the colour, shared with the legend) and the list it opens."""

    value: int
    css_class: str
    label: str
    url: str


@dataclass(frozen=True)
class Bar:
    label: str
    url: str
    segments: tuple[Segment, ...]

    @property
    def total(self) -> int:
        return sum(segment.value for segment in self.segments)


@dataclass(frozen=True)
class DrawnSegment:
    segment: Segment
    x: float
    width: float


@dataclass(frozen=True)
class DrawnBar:
    bar: Bar
    y: float
    segments: list[DrawnSegment] = field(default_factory=list)


@dataclass(frozen=True)
class BarChart:
    """Horizontal stacked bars in a fixed SVG view box that the page scales to its column (``width: 100%``),
    so a chart never widens the page."""

    title: str
    bars: list[DrawnBar]
    legend: list[tuple[str, str]]  # (css class, label)
    height: float

    WIDTH = 600
    LABEL_WIDTH = 220  # a label of 26 characters (truncatechars in bar_chart.html) in capitals at 13 units
    VALUE_WIDTH = 60
    ROW = 24
    BAR = 16


def bar_chart(title: str, bars: Iterable[Bar], legend: Iterable[tuple[str, str]]) -> BarChart:
    bars = [bar for bar in bars if bar.total]
    longest = max((bar.total for bar in bars), default=0)
    room = BarChart.WIDTH - BarChart.LABEL_WIDTH - BarChart.VALUE_WIDTH
    drawn = []
    for index, bar in enumerate(bars):
        x, parts = float(BarChart.LABEL_WIDTH), []
        for segment in bar.segments:
            if segment.value:
                width = room * segment.value / longest
                parts.append(DrawnSegment(segment, round(x, 1), round(width, 1)))
                x += width
        drawn.append(DrawnBar(bar, index * BarChart.ROW, parts))
    return BarChart(title, drawn, list(legend), len(bars) * BarChart.ROW)

