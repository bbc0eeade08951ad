from pathlib import Path

import pytest

from millwright.app.settings import SettingsError, load_settings


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "plant.toml"
    config.write_text('retention_days = 30\nmqtt_url = "mqtt://broker:1883"\n')
    monkeypatch.setenv("MILLWRIGHT_RETENTION_DAYS", "90")
    settings = load_settings(config)
    assert settings.retention_days == 90
    assert settings.mqtt_url == "mqtt://broker:1883"


def test_invalid_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", "mysql://nope")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "MILLWRIGHT_DATABASE_URL" in str(info.value)
    assert "postgresql://" in str(info.value)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "plant.toml"
    config.write_text("retention_dayz = 3\n")
    with pytest.raises(SettingsError, match="retention_dayz"):
        load_settings(config)


def test_bad_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "plant.toml"
    config.write_text("retention_days = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
