"""The same numbers at the edge and at the centre, on the seeded plant of the models tests.

The centre runs its feature job and scores the latest features into ``risk_scores``; the edge
copies the active model and feature state into SQLite, computes the features of the same
instant from the raw readings with the copy alone, and scores them. Features agree bit for
bit, scores within 1e-9; synced edge scores land in ``risk_scores`` exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edge import EdgeCache, EdgeScorer, NoLocalModelError
from features.bulk_read import read_series
from features.frames import latest_features
from models.registry import RegisteredModel, load_model, promote, save_candidate
from models.scoring import score_latest
from models.training import train_model
from tests.models.test_training_plant import MACHINES, Plant, models_config, plant_in


@pytest.fixture(scope="module")
def plant(database_url: str) -> Iterator[Plant]:
    with plant_in(database_url) as built:
        yield built


@pytest.fixture(scope="module")
def active(plant: Plant) -> RegisteredModel:
    plant.database.execute("DELETE FROM risk_scores")
    plant.database.execute("DELETE FROM models")
    trained = train_model(plant.database, models_config(), feature_version=plant.feature_version)
    model = load_model(plant.database, save_candidate(plant.database, trained).version)
    assert promote(plant.database, model.version, force=True).promoted
    return model


def _lookback(model: RegisteredModel) -> pd.Timedelta:
    """The model's longest feature window (a trained artifact carries its feature definition)."""
    definition = model.artifact.feature_definition
    assert definition is not None
    return pd.Timedelta(minutes=max(definition["windows_minutes"]))


def _readings(plant: Plant, instant: pd.Timestamp, lookback: pd.Timedelta) -> pd.DataFrame:
    """What the collector saw in the instant's look-back (here read back from the centre)."""
    return read_series(
        plant.database,
        start=(instant - lookback).to_pydatetime(),
        end=instant.to_pydatetime(),
        machine_ids=list(plant.machine_ids),
    )


def test_edge_features_and_scores_equal_the_centre(
    plant: Plant, active: RegisteredModel, tmp_path: Path
) -> None:
    config = models_config(top_k=3)
    central = latest_features(plant.database, active.record.feature_version)
    assert len(central) == MACHINES
    instant = pd.Timestamp(central["ts"].max())

    cache = EdgeCache(tmp_path / "edge.sqlite")
    scorer = EdgeScorer(cache, config)
    with pytest.raises(NoLocalModelError, match="must reach the central database"):
        scorer.score(pd.DataFrame(), instant.to_pydatetime())
    assert scorer.refresh(plant.database, plant.end) == active.version
    cache.close()

    # From here on the edge uses only its SQLite copy (a new process would see the same).
    cache = EdgeCache(tmp_path / "edge.sqlite")
    scorer = EdgeScorer(cache, config)
    lookback = _lookback(active)
    # machines down for repair have older latest rows: compute each instant's machines
    frames = []
    for ts, group in central.groupby("ts"):
        at = pd.Timestamp(ts)
        machines = group["machine_id"].tolist()
        frames.append(scorer.features(_readings(plant, at, lookback), at.to_pydatetime(), machines))
    edge_features = pd.concat(frames).sort_values("machine_id").reset_index(drop=True)
    assert edge_features.columns.tolist() == central.columns.tolist()
    assert edge_features["machine_id"].tolist() == central["machine_id"].tolist()
    assert (edge_features["ts"] == central["ts"]).all()
    names = [c for c in central.columns if c not in ("machine_id", "ts")]
    a = edge_features[names].to_numpy(np.float64)
    b = central[names].to_numpy(np.float64)
    assert np.array_equal(a, b, equal_nan=True), "edge features differ from the centre's"
    assert np.array_equal(a.view(np.int64)[~np.isnan(a)], b.view(np.int64)[~np.isnan(b)])

    # scores: the machines with fresh data (the centre scores silent ones "no data")
    up = central.loc[central["ts"] == instant, "machine_id"].tolist()
    result = scorer.score(_readings(plant, instant, lookback), instant.to_pydatetime(), up)
    assert result.kept == len(up) >= MACHINES - 3
    scored = score_latest(plant.database, config)
    assert scored.written == len(up) and set(scored.no_data) == set(plant.machine_ids) - set(up)
    rows = plant.database.execute(
        "SELECT machine_id, p_fail, rul, rul_low, top_features FROM risk_scores"
        " WHERE model_version = %s ORDER BY machine_id",
        (active.version,),
    )
    centre = pd.DataFrame(rows, columns=["machine_id", "p_fail", "rul", "rul_low", "top"])
    edge = cache.scores().sort_values("machine_id").reset_index(drop=True)
    assert edge["machine_id"].tolist() == centre["machine_id"].tolist()
    for column in ("p_fail", "rul", "rul_low"):
        diff = np.max(np.abs(edge[column].to_numpy() - centre[column].to_numpy()))
        assert diff <= 1e-9, (column, diff)
    assert [json.loads(t) for t in edge["top_features"]] == centre["top"].tolist()
    assert centre["p_fail"].max() > 0.0  # the plant has machines near failure

    # Sync: the centre already holds these (machine, ts, version) keys: nothing doubles.
    assert scorer.sync(plant.database) == 0
    assert cache.scores(unsynced=True).empty
    cache.close()


def test_sync_stores_every_edge_score_once(
    plant: Plant, active: RegisteredModel, tmp_path: Path
) -> None:
    config = models_config(top_k=3)
    plant.database.execute("DELETE FROM risk_scores")
    cache = EdgeCache(tmp_path / "edge.sqlite")
    scorer = EdgeScorer(cache, config)
    scorer.refresh(plant.database, plant.end)
    central = latest_features(plant.database, active.record.feature_version)
    last = pd.Timestamp(central["ts"].max())
    up = central.loc[central["ts"] == last, "machine_id"].tolist()
    lookback = _lookback(active)
    kept = 0
    for hours in (2, 1, 0):  # three hourly instants scored while the centre is away
        instant = last - pd.Timedelta(hours=hours)
        readings = _readings(plant, instant, lookback)
        kept += scorer.score(readings, instant.to_pydatetime(), up).kept
    n = len(up)
    assert kept == 3 * n
    # scoring an instant again keeps nothing new
    assert scorer.score(_readings(plant, last, lookback), last.to_pydatetime(), up).kept == 0

    assert scorer.sync(plant.database) == 3 * n
    assert scorer.sync(plant.database) == 0  # idempotent
    cache.mark_synced([])
    # a crash between the central write and the local mark: the retry stores nothing twice
    cache._conn.execute("UPDATE scores SET synced = 0")
    assert scorer.sync(plant.database) == 0
    rows = plant.database.execute(
        "SELECT machine_id, ts, p_fail, drift FROM risk_scores ORDER BY ts, machine_id"
    )
    assert len(rows) == 3 * n
    edge = cache.scores()
    assert [(int(r[0]), float(r[2])) for r in rows] == list(
        zip(edge["machine_id"].astype(int), edge["p_fail"].astype(float), strict=True)
    )
    assert all(r[3]["scored_at_edge"] is True for r in rows)
    cache.close()


def test_edge_commands_refresh_status_sync(
    plant: Plant, active: RegisteredModel, database_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from millwright.app.cli import app

    env = {"MILLWRIGHT_DATABASE_URL": database_url}
    path = str(tmp_path / "edge.sqlite")
    runner = CliRunner()
    refreshed = runner.invoke(app, ["edge", "refresh", "--cache", path], env=env)
    assert refreshed.exit_code == 0, refreshed.output
    assert active.version in refreshed.output
    status = runner.invoke(app, ["edge", "status", "--cache", path, "--json"], env=env)
    doc = json.loads(status.output.strip().splitlines()[-1])
    assert (doc["model_version"], doc["scores"], doc["unsynced"]) == (active.version, 0, 0)
    synced = runner.invoke(app, ["edge", "sync", "--cache", path], env=env)
    assert synced.exit_code == 0 and "synced 0 edge scores" in synced.output


def test_scores_from_just_before_the_drop_are_judged_at_the_edge(
    plant: Plant, active: RegisteredModel, tmp_path: Path
) -> None:
    """The edge scored (and synced) the last instants, the centre had not evaluated them yet
    when the link dropped: the loop that finds the link down judges them locally, once; those
    behind the episode clocks copied from the centre are not judged again."""
    from alerts import AlertsConfig, EdgeEpisode, EpisodeState
    from edge.config import EdgeConfig
    from edge.service import EdgeService
    from ingest.config import IngestConfig

    config = models_config(top_k=3)
    cache = EdgeCache(tmp_path / "edge.sqlite")
    scorer = EdgeScorer(cache, config)
    scorer.refresh(plant.database, plant.end)
    rows = plant.database.execute("SELECT id, name, line, machine_class FROM machines ORDER BY id")
    cache.store_machines([(int(r[0]), r[1], r[2], r[3]) for r in rows])
    central = latest_features(plant.database, active.record.feature_version)
    last = pd.Timestamp(central["ts"].max())
    up = central.loc[central["ts"] == last, "machine_id"].tolist()
    lookback = _lookback(active)
    for hours in (1, 0):  # scored while the link was up; the centre never judged them
        at = last - pd.Timedelta(hours=hours)
        scorer.score(_readings(plant, at, lookback), at.to_pydatetime(), up)
    kept = cache.scores()
    threshold = float(np.quantile(kept.loc[kept["ts"] == last, "p_fail"], 0.8))
    risky = sorted(set(kept.loc[kept["p_fail"] >= threshold, "machine_id"].astype(int)))
    assert 0 < len(risky) < len(up)
    # one risky machine the centre had judged already: its clocks are past these scores
    judged = risky[0]
    clocks = EpisodeState(last_ts=last.to_pydatetime())
    assert scorer.cache is cache
    alerts = AlertsConfig.model_validate({
        "rules": [{"name": "risk", "warning_p_fail": threshold, "critical_p_fail": 1.0,
                   "resolve_p_fail": threshold / 2}],
        "endpoints": [{"name": "lan", "url": "http://127.0.0.1:9/lan", "allow_private": True,
                       "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                       "reachable_from_edge": True}],
    })  # fmt: skip
    service = EdgeService(
        database_url="postgresql://postgres@127.0.0.1:9/none",  # the link is down
        cache=cache, edge=EdgeConfig(probe_timeout_s=1, name="edge-t"), ingest=IngestConfig(),
        models=config, alerts=alerts, public_url="https://mw.example",
    )  # fmt: skip
    assert service.alerts.copy_central([EdgeEpisode(judged, "risk", clocks)])
    service.step()
    assert not service.status.link_up
    names = {int(r[0]): r[1] for r in rows}
    sent = [json.loads(b) for (b,) in cache.query("SELECT body FROM outbox ORDER BY rowid")]
    opened = [d["data"]["machine"]["name"] for d in sent if d["type"] == "alert.opened"]
    assert sorted(opened) == sorted(names[m] for m in risky if m != judged)
    assert all(d["data"]["scored_at_edge"] for d in sent)
    service.step()  # the next loop (still down) judges only new scores: nothing twice
    assert len(service.alerts.outbox()) == len(sent)
    service.close()
    cache.close()


def test_the_windows_closed_bins_give_the_centres_features(
    plant: Plant, active: RegisteredModel, tmp_path: Path
) -> None:
    """The service's path: readings into the window, bins reduced as they close, features
    from the bins; bit for bit the central feature job's rows."""
    from edge.window import ReadingWindow

    cache = EdgeCache(tmp_path / "edge.sqlite")
    scorer = EdgeScorer(cache, models_config(top_k=3))
    scorer.refresh(plant.database, plant.end)
    _, _, state = scorer.model()
    central = latest_features(plant.database, active.record.feature_version)
    instant = pd.Timestamp(central["ts"].max())
    up = central.loc[central["ts"] == instant, "machine_id"].astype(int).tolist()
    names = {
        (str(m), str(s)): (int(m), int(i))
        for i, m, s in zip(state.sensors["sensor_id"], state.sensors["machine_id"],
                           state.sensors["sensor"], strict=True)
    }  # fmt: skip
    window = ReadingWindow(names, state)
    lookback = _lookback(active)
    assert window.prime(_readings(plant, instant, lookback)) > 0
    instant_us = int(instant.value // 1000)
    window.close_until(instant_us)
    assert window.samples() == 0  # every reading of the look-back is in a closed bin now
    closed = window.bins(up, instant_us)
    edge = scorer.features_from_bins(closed, window.frame(up, 0, 0), instant.to_pydatetime(), up)
    expected = central[central["ts"] == instant].sort_values("machine_id")
    names_ = [c for c in central.columns if c not in ("machine_id", "ts")]
    a = edge.sort_values("machine_id")[names_].to_numpy(np.float64)
    b = expected[names_].to_numpy(np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.array_equal(a.view(np.int64)[~np.isnan(a)], b.view(np.int64)[~np.isnan(b)])
    cache.close()
