"""Inputs of the data-quality page: the checks and the column profile written by the build."""

from __future__ import annotations

from typing import Final

import duckdb
import polars as pl

from dashboard.queries import fetch

DATA_QUALITY_VIEW: Final = "data_quality"
TABLE_PROFILE_VIEW: Final = "table_profile"
REQUIRED_VIEWS: Final = (DATA_QUALITY_VIEW, TABLE_PROFILE_VIEW)


def load_checks(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per defect check, the most frequent first."""
    sql = f"""
        select table_name, check_name, affected_rows, total_rows, affected_share,
            description, action, rows_sql,
        from {DATA_QUALITY_VIEW}
        order by affected_rows desc, table_name, check_name
    """
    return fetch(cur, sql)


def load_profiled_tables(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The profiled tables with their row and column counts."""
    sql = f"""
        select table_name, max(row_count)::bigint as row_count, count(*)::bigint as column_count,
            sum(null_count)::bigint as null_cells,
        from {TABLE_PROFILE_VIEW}
        group by table_name
        order by table_name
    """
    return fetch(cur, sql)


def load_profile(cur: duckdb.DuckDBPyConnection, *, table: str) -> pl.DataFrame:
    """Descriptive statistics of each column of one raw table, in the table's column order."""
    sql = f"""
        select column_name, column_type, row_count, null_count, null_share, distinct_approx,
            min_value, max_value, mean_value, std_value,
        from {TABLE_PROFILE_VIEW}
        where table_name = $table
        order by ordinal
    """
    return fetch(cur, sql, {"table": table})
