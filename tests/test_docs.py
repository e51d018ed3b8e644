"""The README documents every setting, and the settings machinery behaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import SETTINGS, load_settings

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_readme_lists_setting(setting):
    assert f"`{setting.env}`" in README


def test_env_overrides_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SUCAI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUCAI_MAX_PHOTOS", "4")
    values = load_settings()
    assert values["MAX_PHOTOS"] == 4
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'sucai.db'}"


def test_production_needs_a_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SUCAI_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings({"ENV": "production", "DATA_DIR": str(tmp_path)})


def test_unknown_override_is_an_error():
    with pytest.raises(KeyError):
        load_settings({"NOT_A_SETTING": 1})


def test_readme_starts_with_the_two_commands():
    head = README[:800]
    assert "scripts/run" in head and "scripts/test" in head
