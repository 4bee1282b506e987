"""What the Sales & stock figures share: how a measure is named and coloured, and traces and
figures built from plain dicts (not validated by plotly on the way in)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import plotly.graph_objects as go
from _plotly_utils.utils import convert_to_base64

from dashboard.figures import PALETTE
from dashboard.queries.periods import Measure

Trace = dict[str, Any]
# A figure as the plain dict Dash sends (`data`, `layout`): for a callback on the hot path, it
# skips go.Figure's construction and its `to_dict` copy on the way out (7 of the 25 ms a
# single-series trend took). The tests rebuild it with go.Figure, validation on.
FigureSpec = dict[str, Any]
MEASURE_COLOR: Final = PALETTE[0]
COMPARISON_COLOR: Final = "#5f6b76"
MEASURE_LABELS: Final[dict[Measure, tuple[str, str]]] = {
    "revenue": ("Revenue", "EUR"),
    "units": ("Units sold", "units"),
}


def build_trace(kind: str, **props: Any) -> Trace:
    return {"type": kind, **props}


def build_spec(traces: Sequence[Trace], layout: dict[str, Any]) -> FigureSpec:
    return {"data": list(traces), "layout": layout}


def build_figure(traces: Sequence[Trace], layout: dict[str, Any]) -> go.Figure:
    """The figure from plain dicts, not validated by plotly on the way in (its private
    `_validate=False`): validation took 6 of the 8 ms a trend figure cost, mostly walking
    lists. The tests rebuild every kind of figure with validation on."""
    figure: go.Figure = go.Figure(data=traces, layout=layout, _validate=False)
    return figure


def encode_arrays(spec: FigureSpec) -> FigureSpec:
    """`spec` with its numpy arrays as plotly.js typed arrays (`dtype`, base64 `bdata`), in
    place, as go.Figure's `to_dict` sends them: Dash writes a plain dict's arrays as lists of
    numbers (for 7 x 731 floats, 100 KB and ~8 ms of JSON against 70 KB and 0.4 ms)."""
    convert_to_base64(spec)
    return spec
