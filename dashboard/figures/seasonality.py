"""Figures of the seasonality page, pure functions from polars frames to plotly Figures, and its
table of anomalies."""

from __future__ import annotations

import math
from typing import Any, Final

import plotly.graph_objects as go
import polars as pl

from dashboard import components
from dashboard.figures import (
    FONT_FAMILY,
    GRID_COLOR,
    MUTED_COLOR,
    PALETTE,
    STOCKOUT_COLOR,
    TEMPLATE,
    TEXT_COLOR,
    build_empty_figure,
)
from dashboard.figures.traces import FigureSpec, encode_arrays

ANOMALIES_SHOWN: Final = 12
ANOMALY_COLUMNS: Final = (
    components.Column("date_text", "Date", detail="weekday"),
    components.Column("observed", "Observed", "units", "count"),
    components.Column("expected", "Expected", "units", "decimal"),
    components.Column("residual_units", "Residual", "units", "decimal", detail="deviation"),
    components.Column("calendar", "Calendar"),
    components.Column("promotion", "On promotion", "share of series"),
    components.Column("stockout", "Out of stock", "share of series"),
)
CSV_COLUMNS: Final = (
    "date",
    "weekday",
    "observed",
    "expected",
    "residual_units",
    "residual_share",
    "score",
    "calendar",
    "promo_share",
    "stockout_share",
)

WEEKDAY_NAMES: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
MONTH_NAMES: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
LINE_COLOR: Final = PALETTE[0]
BAND_COLOR: Final = "rgba(0, 114, 178, 0.18)"
OBSERVED_COLOR: Final = "#9aa5b1"
TREND_COLOR: Final = TEXT_COLOR
ANOMALY_COLOR: Final = STOCKOUT_COLOR
# Sequential, colour-blind safe (cividis-like blues to yellow would fight the text; plain blues).
HEATMAP_SCALE: Final = (
    (0.0, "#f7fbff"),
    (0.25, "#c6dbef"),
    (0.5, "#6baed6"),
    (0.75, "#2171b5"),
    (1.0, "#08306b"),
)
DAY_MS: Final = 86_400_000  # a date axis steps in milliseconds
DECOMPOSITION_ROWS: Final = (
    # (y axis, domain, title, format)
    ("y", (0.55, 1.0), "Units", ",.0f"),
    ("y2", (0.37, 0.51), "Weekly", "+.0%"),
    ("y3", (0.19, 0.33), "Yearly", "+.0%"),
    ("y4", (0.0, 0.15), "Residual", "+.0%"),
)


def _layout(
    title: str, subtitle: str, *, top: int = 72, bottom: int = 40, **extra: Any
) -> dict[str, Any]:
    """Title and subtitle top left, the app's template. Layout and traces are given to go.Figure
    as dicts, which it validates once (go objects are validated twice: ~2x slower)."""
    return dict(
        title={
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "font": {"size": 16},
            "subtitle": {"text": subtitle, "font": {"size": 12, "color": MUTED_COLOR}},
        },
        font={"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        template=TEMPLATE,
        margin={"l": 64, "r": 16, "t": top, "b": bottom},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        separators=".,",
        **extra,
    )


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "gridcolor": GRID_COLOR,
        "zerolinecolor": GRID_COLOR,
        "linecolor": GRID_COLOR,
        "automargin": True,
        **extra,
    }


def _reference_line(y: float, yref: str = "y") -> dict[str, Any]:
    """A dotted horizontal line across the plot (a shape: `add_hline` costs ~5 ms)."""
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": yref,
        "y0": y,
        "y1": y,
        "line": {"width": 1, "dash": "dot", "color": MUTED_COLOR},
        "layer": "below",
    }


def _subtitle(scope_label: str | None, method: str) -> str:
    return method if not scope_label else f"{scope_label} · {method}"


def _number_format(values: pl.Series) -> str:
    """Whole numbers for large values, one decimal for small ones (a single product)."""
    largest = values.abs().max()
    return ",.0f" if isinstance(largest, int | float) and largest >= 20 else ",.1f"


def _ticks(names: tuple[str, ...], title: str, **extra: Any) -> dict[str, Any]:
    """A category axis drawn from positions 1..n, labelled with three-letter names, upright."""
    return _axis(
        title,
        showgrid=False,
        fixedrange=True,
        tickmode="array",
        tickvals=list(range(1, len(names) + 1)),
        ticktext=[name[:3] for name in names],
        tickangle=0,
        tickfont={"size": 11},
        **extra,
    )


def build_heatmap_figure(grid: pl.DataFrame, *, scope_label: str | None = None) -> go.Figure:
    """Average daily units per month (rows, January on top) and weekday (columns), from
    `month`, `weekday`, `mean_value`, `day_count`, `index`. Months run down the page so that
    the seven columns stay wide enough on a phone for a cell's number."""
    if grid.is_empty():
        return build_empty_figure()
    cells = {(row["month"], row["weekday"]): row for row in grid.iter_rows(named=True)}
    rows = [[cells.get((month, weekday), {}) for weekday in range(1, 8)] for month in range(1, 13)]
    number = _number_format(grid.get_column("mean_value"))
    heatmap = dict(
        type="heatmap",
        x=list(range(1, 8)),
        y=list(range(1, 13)),
        z=[[cell.get("mean_value") for cell in row] for row in rows],
        customdata=[
            [
                [
                    WEEKDAY_NAMES[weekday],
                    MONTH_NAMES[month],
                    cell.get("index"),
                    cell.get("day_count"),
                ]
                for weekday, cell in enumerate(row)
            ]
            for month, row in enumerate(rows)
        ],
        colorscale=[list(stop) for stop in HEATMAP_SCALE],
        texttemplate=f"%{{z:{number}}}",
        textfont={"size": 10},
        xgap=2,
        ygap=2,
        colorbar={
            "title": {"text": "units a day", "side": "right"},
            "thickness": 10,
            "tickformat": number,
            "outlinewidth": 0,
        },
        hovertemplate=(
            f"%{{customdata[0]}}s in %{{customdata[1]}}: %{{z:{number}}} units a day<br>"
            "Index %{customdata[2]:.2f} (1 = average day), over %{customdata[3]} days"
            "<extra></extra>"
        ),
    )
    return go.Figure(
        [heatmap],
        layout=_layout(
            "Average daily units by weekday and month",
            _subtitle(scope_label, "Days the stores were open"),
            xaxis=_ticks(WEEKDAY_NAMES, "Weekday"),
            yaxis=_ticks(MONTH_NAMES, "Month", autorange="reversed"),
        ),
    )


def build_weekday_profile_figure(
    profile: pl.DataFrame, *, scope_label: str | None = None
) -> go.Figure:
    """The weekday index with its 95% band, from `weekday_profile`'s frame."""
    if profile.is_empty():
        return build_empty_figure()
    weeks = int(profile.get_column("week_count").max() or 0)  # type: ignore[arg-type]
    return _build_profile_figure(
        profile,
        "weekday",
        WEEKDAY_NAMES,
        title="Weekday profile",
        subtitle=_subtitle(scope_label, f"Band: 95% CI across {weeks} weeks with no holiday"),
        y_title="Index (1 = average day)",
        value_text="units a day on average",
    )


def build_yearly_profile_figure(
    profile: pl.DataFrame, *, scope_label: str | None = None
) -> go.Figure:
    """The monthly index with its 95% band, from `yearly_profile`'s frame."""
    if profile.is_empty():
        return build_empty_figure()
    weeks = int(profile.get_column("week_count").sum())
    return _build_profile_figure(
        profile,
        "month",
        MONTH_NAMES,
        title="Yearly profile",
        subtitle=_subtitle(scope_label, f"Band: 95% CI across {weeks} weeks, by month"),
        y_title="Index (1 = average week)",
        value_text="units a week on average",
    )


def _build_profile_figure(
    profile: pl.DataFrame,
    key: str,
    names: tuple[str, ...],
    *,
    title: str,
    subtitle: str,
    y_title: str,
    value_text: str,
) -> go.Figure:
    """The index per `key` (1-based positions into `names`) as a line in its 95% band."""
    positions = profile.get_column(key).to_list()
    low = profile.get_column("index_low").to_list()
    high = profile.get_column("index_high").to_list()
    number = _number_format(profile.get_column("mean_value"))
    customdata = list(
        zip(
            [names[position - 1] for position in positions],
            low,
            high,
            profile.get_column("mean_value").to_list(),
            profile.get_column("week_count").to_list(),
            strict=True,
        )
    )
    band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "x": positions}
    return go.Figure(
        [
            dict(type="scatter", y=high, name="95% CI high", **band),
            dict(
                type="scatter",
                y=low,
                name="95% CI low",
                fill="tonexty",
                fillcolor=BAND_COLOR,
                **band,
            ),
            dict(
                type="scatter",
                x=positions,
                y=profile.get_column("index").to_list(),
                customdata=customdata,
                name="Index",
                mode="lines+markers",
                line={"width": 2, "color": LINE_COLOR},
                marker={"size": 7},
                hovertemplate=(
                    "%{customdata[0]}: index %{y:.2f}<br>"
                    "95% CI %{customdata[1]:.2f} to %{customdata[2]:.2f}<br>"
                    f"%{{customdata[3]:{number}}} {value_text} (%{{customdata[4]}} weeks)"
                    "<extra></extra>"
                ),
            ),
        ],
        layout=_layout(
            title,
            subtitle,
            showlegend=False,
            hovermode="closest",
            xaxis=_ticks(names, key.capitalize(), range=[0.6, len(names) + 0.4]),
            yaxis=_axis(y_title, tickformat=".2f", zeroline=False),
            shapes=[_reference_line(1.0)],
        ),
    )


def build_decomposition_figure(
    parts: pl.DataFrame, *, threshold: float, scope_label: str | None = None
) -> go.Figure:
    """`build_decomposition_spec` as a plotly Figure (not validated on the way in: validation
    was 8 of the 10 ms this figure cost; a test rebuilds it with validation on)."""
    spec = build_decomposition_spec(parts, threshold=threshold, scope_label=scope_label)
    figure: go.Figure = go.Figure(spec["data"], layout=spec["layout"], _validate=False)
    return figure


def build_decomposition_spec(
    parts: pl.DataFrame, *, threshold: float, scope_label: str | None = None
) -> FigureSpec:
    """Observed units with the expected level, trend and anomalies; the weekly and yearly effects
    and the residual below, on one date axis. From `decompose` + `flag_anomalies` over complete
    consecutive days: `date`, `observed`, `expected`, `trend`, `weekly`, `yearly`, `residual`,
    `is_anomaly`, `resid_low`, `resid_high`.

    Dates go as a start and a one-day step and values as base64-encoded typed arrays: lists of
    731 dates and floats per trace cost ~60 ms to build and serialise, this ~1 ms. A plain dict,
    the figure as Dash sends it (`data`, `layout`): for the page's callback it skips go.Figure's
    construction and its `to_dict` copy on the way out (2.5 of the 4 ms the figure cost there).
    """
    if parts.is_empty():
        empty: FigureSpec = build_empty_figure().to_plotly_json()
        return empty
    start = parts.get_column("date").min()
    number = _number_format(parts.get_column("observed"))
    axes: dict[str, Any] = {
        "xaxis": _axis(
            "",
            showgrid=False,
            tickformat="%b %Y",
            hoverformat="%a %d %b %Y",
            anchor="y4",
            showspikes=True,
            spikemode="across",
            spikethickness=1,
            spikecolor=MUTED_COLOR,
        )
    }
    for axis, domain, title, tick_format in DECOMPOSITION_ROWS:
        axes[axis.replace("y", "yaxis")] = _axis(
            title,
            domain=list(domain),
            tickformat=tick_format,
            zeroline=axis != "y",
            rangemode="tozero" if axis == "y" else "normal",
        )
    limits = [
        _reference_line(math.expm1(float(parts.get_column(bound)[0])), "y4")
        for bound in ("resid_low", "resid_high")
    ]
    for limit in limits:
        limit["line"]["color"] = ANOMALY_COLOR

    def line(y: str, column: str, name: str, color: str, fmt: str, **style: Any) -> dict[str, Any]:
        return dict(
            type="scatter",
            x0=start,
            dx=DAY_MS,
            y=parts.get_column(column).to_numpy(),
            yaxis=y,
            name=name,
            mode="lines",
            line={"color": color, "width": 1.5, **style},
            hovertemplate=f"%{{y:{fmt}}}",
            showlegend=y == "y",
        )

    # The anomalies as markers on the same day axis (NaN elsewhere), left out of the hover
    # label: unified hover would show the nearest anomaly within 20 px, another day's.
    anomalies = parts.select(
        pl.when(pl.col("is_anomaly")).then(pl.col("observed")).otherwise(float("nan"))
    )
    return encode_arrays(
        {
            "data": [
                line("y", "observed", "Observed", OBSERVED_COLOR, number, width=1),
                line("y", "expected", "Expected", LINE_COLOR, number),
                line("y", "trend", "Trend", TREND_COLOR, number, dash="dash"),
                dict(
                    type="scatter",
                    x0=start,
                    dx=DAY_MS,
                    y=anomalies.to_series().to_numpy(),
                    yaxis="y",
                    name="Anomaly",
                    mode="markers",
                    marker={
                        "color": ANOMALY_COLOR,
                        "size": 8,
                        "symbol": "circle-open",
                        "line": {"width": 2},
                    },
                    hoverinfo="skip",
                ),
                line("y2", "weekly", "Weekly effect", PALETTE[2], "+.1%", width=1),
                line("y3", "yearly", "Yearly effect", PALETTE[1], "+.1%"),
                line("y4", "residual", "Residual", MUTED_COLOR, "+.1%", width=1),
            ],
            "layout": _layout(
                "Trend, seasonality and anomalies",
                _subtitle(
                    scope_label,
                    f"STL on log(1 + units); anomaly: |modified z| > {threshold:g}",
                ),
                top=72,
                bottom=64,
                hovermode="x unified",
                hoversubplots="axis",
                legend={
                    "orientation": "h",
                    "x": 0,
                    "xanchor": "left",
                    "y": -0.06,
                    "yanchor": "top",
                },
                shapes=limits,
                **axes,
            ),
        }
    )


# The anomaly table


def build_anomaly_rows(anomalies: pl.DataFrame) -> pl.DataFrame:
    """The rows of the anomaly table and its CSV, in the order given, from `describe_anomalies`
    over the decomposition and the scope's days (`series_count`, `promo_count`,
    `stockout_count`, `is_store_closed`, `holiday_name`, `eve_of`)."""
    return (
        anomalies.with_columns(
            pl.col("date").dt.strftime("%d %b %Y").alias("date_text"),
            pl.col("date").dt.strftime("%A").alias("weekday"),
            pl.col("observed").round(0).cast(pl.Int64),
            pl.col("residual").alias("residual_share"),
            (pl.col("promo_count") / pl.col("series_count")).alias("promo_share"),
            (pl.col("stockout_count") / pl.col("series_count")).alias("stockout_share"),
        )
        .with_columns(
            pl.format("{}% vs expected", (pl.col("residual_share") * 100).round(0).cast(pl.Int64))
            .str.replace(r"^(\d)", "+$1")
            .alias("deviation"),
            _calendar_text().alias("calendar"),
            _share_text("promo_share").alias("promotion"),
            _share_text("stockout_share").alias("stockout"),
        )
        .select(
            *CSV_COLUMNS,
            "date_text",
            "deviation",
            "promotion",
            "stockout",
        )
    )


def _calendar_text() -> pl.Expr:
    holiday = pl.col("holiday_name")
    return (
        pl.when(pl.col("is_store_closed"))
        .then(pl.format("Stores closed ({})", holiday.fill_null("closure")))
        .when(holiday.is_not_null())
        .then(pl.format("Public holiday ({})", holiday))
        .when(pl.col("eve_of").is_not_null())
        .then(pl.format("Eve of {}", pl.col("eve_of")))
        .otherwise(pl.lit(components.NO_VALUE))
    )


def _share_text(column: str) -> pl.Expr:
    """A share as a whole percentage; "yes" or "-" for a single series."""
    share = pl.col(column)
    percent = pl.format("{}%", (share * 100).round(0).cast(pl.Int64))
    single = pl.when(share > 0).then(pl.lit("yes")).otherwise(pl.lit(components.NO_VALUE))
    return (
        pl.when(share.is_null())
        .then(pl.lit(components.NO_VALUE))
        .when(pl.col("series_count") == 1)
        .then(single)
        .otherwise(percent)
    )


def build_anomaly_table(rows: pl.DataFrame, empty_note: str | None = None) -> Any:
    """The `ANOMALIES_SHOWN` first rows of `build_anomaly_rows`, and how many there are; when
    there are none, `empty_note` or a note saying so.

    The table is sent as the JSON Dash makes of `components.build_table` in a Stack (plain
    dicts: `type`, `namespace`, `props`), built here directly: its ~130 component objects
    cost ~3 ms to construct and serialise, a third of the single-series callback."""
    if rows.is_empty():
        return components.build_empty_note(empty_note or "No day breaks the pattern by that much.")
    count = (
        f"{rows.height} days flagged."
        if rows.height <= ANOMALIES_SHOWN
        else f"The {ANOMALIES_SHOWN} largest of {rows.height} days flagged; the CSV has all."
    )
    table = _build_table_spec(rows.head(ANOMALIES_SHOWN), ANOMALY_COLUMNS, min_width=820)
    text = _component("Text", "dash_mantine_components", count, c="dimmed", size="sm")
    return _component("Stack", "dash_mantine_components", [table, text], gap="xs")


ComponentSpec = dict[str, Any]


def _component(kind: str, namespace: str, children: Any, **props: Any) -> ComponentSpec:
    """A component as Dash serialises it (what `to_plotly_json` gives, recursively)."""
    return {"props": {"children": children, **props}, "type": kind, "namespace": namespace}


def _mantine(kind: str, children: Any, **props: Any) -> ComponentSpec:
    return _component(kind, "dash_mantine_components", children, **props)


def _build_table_spec(
    df: pl.DataFrame, columns: tuple[components.Column, ...], *, min_width: int
) -> ComponentSpec:
    """`components.build_table(df, columns, min_width=...)` as the JSON Dash sends of it."""

    def div(text: str, class_name: str) -> ComponentSpec:
        return _component("Div", "dash_html_components", text, className=class_name)

    header = [
        _mantine(
            "TableTh",
            [column.header, div(column.unit, "unit")],
            className=components._cell_class(column.kind),
        )
        for column in columns
    ]

    def cell(row: dict[str, Any], column: components.Column) -> ComponentSpec:
        value = components.format_cell(row[column.name], column.kind)
        class_name = components._cell_class(column.kind)
        if column.detail is None:
            return _mantine("TableTd", value, className=class_name)
        detail = div(components.format_cell(row[column.detail], "text"), "cell-detail")
        return _mantine("TableTd", [value, detail], className=class_name)

    body = [
        _mantine("TableTr", [cell(row, column) for column in columns])
        for row in df.iter_rows(named=True)
    ]
    table = _mantine(
        "Table",
        [
            _mantine("TableThead", _mantine("TableTr", header)),
            _mantine("TableTbody", body),
        ],
        fz="sm",
        highlightOnHover=True,
        horizontalSpacing="xs",
        striped=True,
        tabularNums=True,
        verticalSpacing=6,
    )
    return _mantine("TableScrollContainer", table, minWidth=min_width)
