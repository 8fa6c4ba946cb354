"""Writing the published OpenAPI document (openapi/openapi.json and .yaml) from the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from app.main import create_app
from app.settings import Settings

# The committed spec must not depend on who generated it or where.
SPEC_SETTINGS = {"public_base_url": "http://127.0.0.1:8000", "env": "development"}


def build_spec() -> dict[str, Any]:
    return create_app(Settings(**SPEC_SETTINGS)).openapi()  # type: ignore[arg-type]


def render(spec: dict[str, Any]) -> tuple[str, str]:
    as_json = json.dumps(spec, indent=2, sort_keys=False) + "\n"
    as_yaml = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    return as_json, as_yaml


def write_spec(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    as_json, as_yaml = render(build_spec())
    json_path, yaml_path = out_dir / "openapi.json", out_dir / "openapi.yaml"
    json_path.write_text(as_json)
    yaml_path.write_text(as_yaml)
    return [json_path, yaml_path]
