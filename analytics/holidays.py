"""French public holidays by rule, for any year: what a forecast knows of days past the data.

`public_holidays(year)` gives the eleven holidays of metropolitan France; stores close on
`CLOSED_HOLIDAYS` and open with fewer shoppers on the others. `holiday_flags(dates, step)`
marks a column of dates (daily, or weeks starting on each date when `step` is 7).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

# Stores close on these public holidays; on the others they open with fewer shoppers.
CLOSED_HOLIDAYS: Final = frozenset({"Jour de l'an", "Fête du Travail", "Noël"})


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def public_holidays(year: int) -> dict[dt.date, str]:
    """The eleven French public holidays of a year (metropolitan France)."""
    easter = easter_sunday(year)
    return {
        dt.date(year, 1, 1): "Jour de l'an",
        easter + dt.timedelta(days=1): "Lundi de Pâques",
        dt.date(year, 5, 1): "Fête du Travail",
        dt.date(year, 5, 8): "Victoire 1945",
        easter + dt.timedelta(days=39): "Ascension",
        easter + dt.timedelta(days=50): "Lundi de Pentecôte",
        dt.date(year, 7, 14): "Fête nationale",
        dt.date(year, 8, 15): "Assomption",
        dt.date(year, 11, 1): "Toussaint",
        dt.date(year, 11, 11): "Armistice",
        dt.date(year, 12, 25): "Noël",
    }


def holiday_flags(dates: pl.Series, *, step: int = 1) -> pl.DataFrame:
    """`is_public_holiday` and `is_store_closed` for each date (a day, or with `step` 7 the week
    starting that day: true when any of its days is), in the order given."""
    days = dates.cast(pl.Date)
    if days.drop_nulls().is_empty():
        empty = pl.Series([None] * days.len(), dtype=pl.Boolean)
        return pl.DataFrame({"is_public_holiday": empty, "is_store_closed": empty})
    first, last = days.min(), days.max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    holidays: dict[dt.date, str] = {}
    for year in range(first.year, last.year + 2):
        holidays |= public_holidays(year)
    closed = [d for d, name in holidays.items() if name in CLOSED_HOLIDAYS]
    frame = pl.DataFrame({"day": days})
    offsets = [pl.col("day") + pl.duration(days=offset) for offset in range(max(step, 1))]
    is_day = pl.col("day").is_not_null()
    return frame.select(
        pl.when(is_day)
        .then(pl.any_horizontal(d.is_in(list(holidays)) for d in offsets))
        .alias("is_public_holiday"),
        pl.when(is_day)
        .then(pl.any_horizontal(d.is_in(closed) for d in offsets))
        .alias("is_store_closed"),
    )


def holiday_arrays(
    days: npt.NDArray[np.int64], *, step: int = 1
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """`holiday_flags` on days since 1970-01-01, in numpy: (is_public_holiday,
    is_store_closed) per day (or per week starting that day when `step` is 7)."""
    if len(days) == 0:
        empty = np.zeros(0, dtype=np.bool_)
        return empty, empty.copy()
    epoch = dt.date(1970, 1, 1)
    first = epoch + dt.timedelta(days=int(days.min()))
    last = epoch + dt.timedelta(days=int(days.max()) + step)
    holidays: dict[dt.date, str] = {}
    for year in range(first.year, last.year + 1):
        holidays |= public_holidays(year)
    public = np.array([(d - epoch).days for d in holidays], dtype=np.int64)
    closed = np.array(
        [(d - epoch).days for d, name in holidays.items() if name in CLOSED_HOLIDAYS],
        dtype=np.int64,
    )
    span = days[:, None] + np.arange(max(step, 1))[None, :]
    is_public = np.asarray(np.isin(span, public).any(axis=1), dtype=np.bool_)
    is_closed = np.asarray(np.isin(span, closed).any(axis=1), dtype=np.bool_)
    return is_public, is_closed
