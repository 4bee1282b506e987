"""Descriptive statistics of every raw table, one row per column, written as `table_profile`.

One aggregate pass per table (counts, nulls, approximate distinct values, min, max, mean and
standard deviation of numbers), generated from the catalog: identifiers come from DuckDB itself.
"""

from __future__ import annotations

import duckdb
import polars as pl

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
SCHEMA = {
    "table_name": pl.String,
    "column_name": pl.String,
    "column_type": pl.String,
    "ordinal": pl.Int32,
    "row_count": pl.Int64,
    "null_count": pl.Int64,
    "null_share": pl.Float64,
    "distinct_approx": pl.Int64,
    "min_value": pl.String,
    "max_value": pl.String,
    "mean_value": pl.Float64,
    "std_value": pl.Float64,
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def profile_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    columns = con.sql(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = $table order by ordinal_position",
        params={"table": table},
    ).fetchall()
    parts = ["count(*)"]
    for name, kind in columns:
        column = _quote(name)
        is_number = kind.split("(")[0] in NUMERIC
        is_list = kind.endswith("[]")
        parts += [
            f"count({column})",
            f"approx_count_distinct({column})" if not is_list else "null",
            f"min({column})::varchar" if not is_list else "null",
            f"max({column})::varchar" if not is_list else "null",
            f"avg({column})::double" if is_number else "null",
            f"stddev_samp({column})::double" if is_number else "null",
        ]
    row = con.sql(f"select {', '.join(parts)} from {_quote(table)}").fetchall()[0]
    total = int(row[0])
    records = []
    for i, (name, kind) in enumerate(columns):
        count, distinct, low, high, mean, std = row[1 + 6 * i : 7 + 6 * i]
        records.append(
            {
                "table_name": table,
                "column_name": name,
                "column_type": kind,
                "ordinal": i + 1,
                "row_count": total,
                "null_count": total - int(count),
                "null_share": (total - int(count)) / total if total else 0.0,
                "distinct_approx": distinct,
                "min_value": low,
                "max_value": high,
                "mean_value": mean,
                "std_value": std,
            }
        )
    return pl.DataFrame(records, schema=SCHEMA)


def profile_tables(con: duckdb.DuckDBPyConnection, prefix: str = "raw_") -> pl.DataFrame:
    tables = con.sql(
        "select table_name from information_schema.tables "
        "where table_schema = 'main' and table_type = 'BASE TABLE' and starts_with(table_name, $p) "
        "order by table_name",
        params={"p": prefix},
    ).fetchall()
    frames = [profile_table(con, name) for (name,) in tables]
    return pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
