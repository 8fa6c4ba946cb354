"""Suite-wide fixtures. Each module in tests/fixtures/ is a pytest plugin that starts one real
server (PostgreSQL databases, Redis prefixes, pebble, BIND, the SCM simulator) once per session."""

from pathlib import Path

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)
