"""Shared fixtures: a tiny database built once per session with the real generate and build code."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data.build import BuildSummary, build_database
from data.generate import SCALES, GeneratorConfig, generate

TINY = GeneratorConfig(SCALES["tiny"], seed=7)


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> BuildSummary:
    return build_database(tmp_path_factory.mktemp("store") / "tiny.duckdb", TINY)


@pytest.fixture(scope="session")
def tiny_db(tiny_build: BuildSummary) -> Path:
    """Path to a built tiny database (4 stores x 36 products x 2 years). Read it, never write it."""
    return tiny_build.path


@pytest.fixture(scope="session")
def scored_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of `tiny_db` after `shelfsight train --models rule logistic` and `shelfsight
    predict` (defaults: 95% cycle service level), through the real commands' code: it holds
    model_runs, model_calibration, model_importance, risk_model_store, stockout_risk,
    reorder_suggestions and policy_replay. Read it, never write it."""
    from data import reorder, risk
    from data.publish import update_database

    path = tmp_path_factory.mktemp("scored") / "scored.duckdb"
    shutil.copyfile(tiny_db, path)
    trained = risk.train(path, risk.TrainRequest(models=("rule", "logistic")))
    update_database(path, lambda con: risk.write_training(con, trained))
    predicted = reorder.predict(path, reorder.PredictRequest())
    update_database(path, lambda con: reorder.write_predictions(con, predicted))
    return path


@pytest.fixture
def cur(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        yield con.cursor()
    finally:
        con.close()


@pytest.fixture(scope="session")
def tiny_frames() -> dict[str, pl.DataFrame]:
    """The generator's output for TINY, chunks concatenated, without going through DuckDB."""
    dataset = generate(TINY)
    chunks = list(dataset.chunks)
    frames = dict(dataset.reference)
    for table in chunks[0]:
        frames[table] = pl.concat([chunk[table] for chunk in chunks])
    return frames
