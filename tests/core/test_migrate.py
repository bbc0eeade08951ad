from millwright.core.storage.database import Database
from millwright.core.storage.migrate import available_migrations, current_version, upgrade
from millwright.core.storage.status import database_status


def test_upgrade_twice_is_a_no_op(database: Database) -> None:
    assert upgrade(database) == []
    assert current_version(database) == available_migrations()[-1].version
    assert upgrade(database) == []


def test_status_reports_version_and_tables(database: Database) -> None:
    status = database_status(database)
    assert status["schema_version"] == available_migrations()[-1].version
    assert status["timescaledb"] is False
    names = {t["table"] for t in status["tables"]}
    assert {"readings", "events", "risk_scores", "dead_letters"} <= names
