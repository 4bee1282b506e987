"""Features (polars expressions), forecasting and classification models, evaluation.

Pure functions and model wrappers: no Dash, no plotly, no DuckDB (import-linter enforces it).
"""
