"""Settings: environment variables, and production's refusal to run on defaults."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from app.settings import Settings

PROD_KEY = base64.b64encode(os.urandom(32)).decode()


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTBROKER_DATABASE_URL", "postgresql+asyncpg://u@db/certbroker")
    monkeypatch.setenv("CERTBROKER_REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("CERTBROKER_AUTH__ACCESS_TOKEN_TTL", "600")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+asyncpg://u@db/certbroker"
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.auth.access_token_ttl == 600


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, env="production")
    message = str(info.value)
    assert "CERTBROKER_DATA_KEYS['dev'] is the public development key" in message
    assert "CERTBROKER_DATABASE_URL points at SQLite" in message
    assert "CERTBROKER_AUTH__ISSUER" in message


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(
        _env_file=None,
        env="production",
        database_url="postgresql+asyncpg://u@db/certbroker",
        data_key_id="2026-11",
        data_keys={"2026-11": PROD_KEY},
        auth={"issuer": "https://certbroker.internal"},
    )
    assert settings.data_key_bytes["2026-11"] == base64.b64decode(PROD_KEY)


@pytest.mark.parametrize(
    ("keys", "active", "expected"),
    [
        ({"k": "not base64!"}, "k", "not valid base64"),
        ({"k": base64.b64encode(b"short").decode()}, "k", "32 bytes"),
        ({"k": PROD_KEY}, "other", "not among data_keys"),
    ],
)
def test_bad_data_keys_are_named(keys: dict[str, str], active: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        Settings(_env_file=None, data_keys=keys, data_key_id=active)
