"""`certbroker dev` (what `make run` starts): the SCM simulator, pebble with challtestsrv, the
migrations, the demo tenant with a sandbox organization wired to the simulators, a worker and
the API — supervised together, stopped together on Ctrl-C or SIGTERM.

Children run in their own sessions, so a terminal's Ctrl-C reaches only this supervisor, which
then stops them in reverse order; on Linux they also get SIGTERM if the supervisor dies.
Their output is copied line by line with a name in front (the API and worker write JSON lines).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import httpx

from app.demo import SANDBOX_ORGANIZATION, SandboxWiring
from app.sandbox.pebble import PebblePorts, PebbleSandbox, start_pebble_sandbox, stop_process
from app.sandbox.ports import require_free
from app.settings import EgressSettings, Settings


@dataclass(frozen=True)
class DevStackConfig:
    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    api_port: int = 8000
    scm_port: int = 8500
    worker_metrics_port: int = 9464  # the worker's own /metrics (jobs, CA calls, webhooks)
    pebble: PebblePorts = field(default_factory=PebblePorts)  # http01 is forced to api_port
    env: dict[str, str] = field(default_factory=dict)  # CERTBROKER_* for every child
    startup_timeout: float = 30.0

    @property
    def sandbox_dir(self) -> Path:
        return self.var_dir / "sandbox"

    @property
    def credentials_file(self) -> Path:
        return self.var_dir / "demo-credentials.json"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def scm_url(self) -> str:
        return f"http://{self.host}:{self.scm_port}"


class ChildExited(RuntimeError):
    """A supervised process ended on its own."""


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[str]
    pump: threading.Thread


def _parent_death_signal() -> Callable[[], Any] | None:
    """prctl(PR_SET_PDEATHSIG, SIGTERM) for children, where Linux offers it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the child
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)


def _require_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        raise RuntimeError(
            f"Redis at {url} does not answer ({error}): the worker's queue needs it; start "
            "redis-server or set CERTBROKER_REDIS_URL"
        ) from None
    finally:
        client.close()


class DevStack:
    """Start with `start()` (or `with DevStack(config) as stack:`); `stop()` ends everything."""

    def __init__(self, config: DevStackConfig, out: TextIO | None = None) -> None:
        var_dir = config.var_dir.resolve()
        self.config = replace(
            config, var_dir=var_dir, pebble=replace(config.pebble, http01=config.api_port)
        )
        self.out = out or sys.stdout
        self.children: list[_Child] = []
        self.pebble: PebbleSandbox | None = None
        self.credentials: dict[str, Any] = {}
        self._preexec = _parent_death_signal()
        self._lock = threading.Lock()

    def __enter__(self) -> DevStack:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- starting -----------------------------------------------------------------------------

    def start(self) -> None:
        config = self.config
        require_free(config.api_port, "Certbroker API", config.host)
        require_free(config.scm_port, "SCM simulator", config.host)
        require_free(config.worker_metrics_port, "worker metrics", config.host)
        _require_redis(self._settings().redis_url)
        config.sandbox_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._spawn(
                "scm",
                [
                    "sandbox",
                    "scm",
                    "--host",
                    config.host,
                    "--port",
                    str(config.scm_port),
                    "--state-file",
                    str(config.sandbox_dir / "scm-state.sqlite3"),
                ],
            )
            self.say("starting pebble and pebble-challtestsrv")
            self.pebble = start_pebble_sandbox(
                config.sandbox_dir / "pebble", config.pebble, preexec_fn=self._preexec
            )
            self._wait_http("scm", f"{config.scm_url}/__sandbox/health")
            self._bootstrap(self._write_wiring(self.pebble))
            self._spawn("worker", ["worker"])
            self._spawn("api", ["serve", "--host", config.host, "--port", str(config.api_port)])
            self._wait_http("api", f"{config.api_url}/healthz")
        except BaseException:
            self.stop()
            raise
        self._print_summary()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("CERTBROKER_PUBLIC_BASE_URL", self.config.api_url)
        env.setdefault("CERTBROKER_AUTH__ISSUER", self.config.api_url)
        env["CERTBROKER_SANDBOX_MODE"] = "true"
        # The simulators listen on 127.0.0.1 (SCM over http, pebble on its own port): the
        # sandbox opens exactly that address to organizations' CA URLs and nothing more.
        env.setdefault(
            "CERTBROKER_EGRESS__CA_HOST_ALLOWLIST",
            json.dumps([*EgressSettings().ca_host_allowlist, "127.0.0.1"]),
        )
        env.setdefault("CERTBROKER_EGRESS__ALLOWED_NETWORKS", '["127.0.0.1/32"]')
        env.setdefault("CERTBROKER_EGRESS__CA_ALLOW_HTTP", "true")
        env.setdefault("CERTBROKER_EGRESS__CA_ANY_PORT", "true")
        # The broker's own ACME directories check clients' challenges through challtestsrv too,
        # so every name resolves to this machine.
        env.setdefault(
            "CERTBROKER_ACME_SERVER__RESOLVERS", f'["127.0.0.1:{self.config.pebble.dns}"]'
        )
        # Both processes' metrics, unauthenticated on this machine: a local Prometheus scrapes
        # the API's /metrics (expiry gauges, uploads) and the worker's (jobs, CA calls, ...).
        env.setdefault("CERTBROKER_METRICS_PUBLIC", "true")
        env["CERTBROKER_WORKER_METRICS_PORT"] = str(self.config.worker_metrics_port)
        env["CERTBROKER_WORKER_METRICS_HOST"] = self.config.host
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.config.env)
        return env

    def _command(self, args: list[str]) -> list[str]:
        return [sys.executable, "-m", "app.cli", *args]

    def _spawn(self, name: str, args: list[str]) -> None:
        process = subprocess.Popen(
            self._command(args),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
            preexec_fn=self._preexec,  # only sets the parent-death signal
        )
        pump = threading.Thread(
            target=self._copy_output, args=(name, process), name=f"dev-{name}", daemon=True
        )
        pump.start()
        self.children.append(_Child(name, process, pump))

    def _bootstrap(self, wiring_file: Path) -> None:
        """Migrate and create the demo tenant here: a Python start-up each would cost seconds."""
        from app.demo import bootstrap_demo
        from app.migrations import upgrade

        settings = self._settings()
        wiring = SandboxWiring(**json.loads(wiring_file.read_text()))

        def work() -> dict[str, Any]:
            upgrade(settings.database_url)
            return asyncio.run(bootstrap_demo(settings, self.config.credentials_file, wiring))

        self.say(f"migrating {settings.database_url} and creating the demo tenant")
        # A thread of its own: asyncio.run must not touch a caller's event loop (tests).
        with ThreadPoolExecutor(1, thread_name_prefix="dev-bootstrap") as pool:
            self.credentials = pool.submit(work).result()

    def _settings(self) -> Settings:
        """The children's Settings: read from their environment, not this process's."""
        saved, env = dict(os.environ), self._env()
        try:
            os.environ.clear()
            os.environ.update(env)
            return Settings()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def _write_wiring(self, pebble: PebbleSandbox) -> Path:
        wiring = SandboxWiring(
            scm_base_url=f"{self.config.scm_url}/api",
            acme_directory_url=pebble.directory_url,
            acme_ca_bundle=str(pebble.files.ca_bundle),
            eab_kid=pebble.files.eab_kid,
            eab_hmac_key=pebble.files.eab_hmac_key,
        )
        path = self.config.sandbox_dir / "wiring.json"
        path.write_text(json.dumps(asdict(wiring), indent=2) + "\n")
        path.chmod(0o600)
        return path

    def _wait_http(self, name: str, url: str) -> None:
        deadline = time.monotonic() + self.config.startup_timeout
        while time.monotonic() < deadline:
            self.check_children()
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ChildExited(f"{name} did not answer {url} within {self.config.startup_timeout}s")

    # -- running and stopping -----------------------------------------------------------------

    def check_children(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise ChildExited(f"{child.name} exited with code {code}")
        if self.pebble is not None:
            for process in self.pebble.processes:
                if process.poll() is not None:
                    raise ChildExited(f"pebble exited; see {self.pebble.log_file}")

    def wait(self) -> None:
        """Until a child ends on its own (ChildExited) or the caller is interrupted."""
        while True:
            self.check_children()
            time.sleep(0.2)

    def stop(self) -> None:
        # The API first (no new work), then the worker, then what they talk to.
        for child in reversed(self.children):
            stop_process(child.process, timeout=10)
        for child in self.children:
            child.pump.join(timeout=2)
        self.children.clear()
        if self.pebble is not None:
            self.pebble.stop()
            self.pebble = None

    # -- output -------------------------------------------------------------------------------

    def _copy_output(self, name: str, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._emit(name, line.rstrip("\n"))

    def _emit(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:>6} | {line}\n")
            self.out.flush()

    def say(self, line: str) -> None:
        self._emit("dev", line)

    def _print_summary(self) -> None:
        config, pebble = self.config, self.pebble
        assert pebble is not None
        rows = [
            "",
            "=" * 78,
            "Certbroker SANDBOX — everything below is local; nothing is publicly trusted",
            f"  API, Swagger UI   {config.api_url}/docs",
            "  worker            one arq worker",
            f"  metrics           {config.api_url}/metrics (API: expiry, uploads) and"
            f" http://{config.host}:{config.worker_metrics_port}/metrics (worker: jobs, CA"
            " calls, renewals, alerts, webhooks, SCM imports)",
            f"  SCM simulator     {config.scm_url}/api (login, password, customerUri: sandbox;"
            f" state {config.sandbox_dir / 'scm-state.sqlite3'})",
            f"  ACME (pebble)     {pebble.directory_url} (management {pebble.management_url};"
            f" TLS CA {pebble.files.ca_bundle}; log {pebble.log_file})",
            f"  challtestsrv      DNS 127.0.0.1:{config.pebble.dns}, management"
            f" http://127.0.0.1:{config.pebble.challtestsrv} (every name → 127.0.0.1)",
            f"  demo credentials  {config.credentials_file}",
            f"  client            {self.credentials['client_id']}",
            f"  approver          {self.credentials['approver']['client_id']}",
            f"  organization      {SANDBOX_ORGANIZATION!r}"
            f" {self.credentials.get('sandbox_organization_id')} (sandbox: true)",
            f"  its ACME server   {config.api_url}/acme/"
            f"{self.credentials.get('sandbox_organization_id')}/directory (EAB keys:"
            " POST /v1/organizations/{id}/acme-credentials)",
            "Ctrl-C stops everything.",
            "=" * 78,
            "",
        ]
        for row in rows:
            self.say(row)
        self.say(
            "WARNING sandbox mode: the organization above issues from the SCM simulator and "
            "pebble, not from Sectigo"
        )


def run(config: DevStackConfig) -> int:
    """The `certbroker dev` command: run until Ctrl-C or SIGTERM, or until a child dies."""

    def interrupted(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starting us in the background leaves it ignored otherwise.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    stack = DevStack(config)
    try:
        stack.start()
        stack.wait()
    except KeyboardInterrupt:
        stack.say("stopping")
        return 0
    except ChildExited as error:
        stack.say(f"{error}; stopping the rest")
        return 1
    except Exception as error:  # a taken port, a missing binary: say it plainly
        stack.say(f"cannot start: {error}")
        return 1
    finally:
        stack.stop()
    return 0
