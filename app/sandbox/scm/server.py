"""Running the simulator: `serve()` for the CLI, `ScmSandboxServer` for tests (in a thread)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from app.sandbox.scm.app import create_scm_app
from app.sandbox.scm.config import Behaviour, ScmSandboxConfig
from app.sandbox.scm.tls import (
    ClientCertificateVerified,
    TlsFiles,
    uvicorn_tls_options,
    write_tls_files,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument(
        "--mtls-port",
        type=int,
        default=None,
        help="also serve /private/api over mutual TLS on this port",
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help="where to write the mTLS listener's and a client's PEM files",
    )
    parser.add_argument(
        "--state-file", type=Path, default=None, help="SQLite file to persist state"
    )
    parser.add_argument("--token-lifetime", type=int, default=300, help="OAuth token seconds")
    parser.add_argument(
        "--issue-delay",
        type=float,
        default=0.2,
        help="seconds from Applied to Issued; negative: stuck in Applied",
    )
    parser.add_argument("--no-dcv-enforcement", action="store_true")
    parser.add_argument(
        "--legacy-collect-pending",
        action="store_true",
        help='answer {"code":0,"description":"Being processed by Sectigo"}',
    )
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of 5xx answers")
    parser.add_argument("--rate-limit-rate", type=float, default=0.0, help="share of 429 answers")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    parser.add_argument(
        "--drop-after-enroll",
        type=int,
        default=0,
        help="record the next N enrolls, then drop the connection",
    )
    parser.add_argument(
        "--fault-path",
        action="append",
        default=[],
        help="limit rate faults to this API path prefix (repeatable)",
    )
    parser.add_argument("--faults-json", default=None, help="a full /__sandbox/faults payload")
    parser.add_argument("--seed", type=int, default=None, help="random seed for fault rates")


def config_from_args(args: argparse.Namespace) -> ScmSandboxConfig:
    faults = {
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "rate_limit_rate": args.rate_limit_rate,
        "drop_rate": args.drop_rate,
        "drop_after_enroll_count": args.drop_after_enroll,
        "paths": args.fault_path,
    }
    if args.faults_json:
        faults |= json.loads(args.faults_json)
    behaviour = Behaviour(
        token_lifetime_seconds=args.token_lifetime,
        applied_to_issued_seconds=None if args.issue_delay < 0 else args.issue_delay,
        dcv_enforced=not args.no_dcv_enforcement,
        legacy_collect_pending=args.legacy_collect_pending,
    )
    return ScmSandboxConfig(
        state_file=args.state_file,
        mtls_port=args.mtls_port,
        tls_dir=args.tls_dir,
        random_seed=args.seed,
        behaviour=behaviour,
        initial_faults=faults,
    )


def _bind(host: str, port: int) -> socket.socket:
    # proto must say TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # is IPPROTO_TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class ScmSandboxServer:
    """The simulator on loopback ports, in a daemon thread with its own event loop.

    One app (one state) is served on a plain HTTP listener and, when asked, on an mTLS listener.
    Ports are bound before the thread starts, so port 0 works and `port` is known at once.
    """

    def __init__(self, config: ScmSandboxConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_scm_app(config)
        self.store = self.app.state.store
        self.host = host
        self._sockets = [_bind(host, port)]
        self.port = self._sockets[0].getsockname()[1]
        self.tls_files: TlsFiles | None = None
        self.mtls_port: int | None = None
        servers = [uvicorn.Server(self._uvicorn_config(self.app, {}))]
        if config.mtls_port is not None:
            directory = config.tls_dir or Path(tempfile.mkdtemp(prefix="scm-sandbox-tls-"))
            self.tls_files = write_tls_files(self.store, directory, [host, "localhost"])
            self._sockets.append(_bind(host, config.mtls_port))
            self.mtls_port = self._sockets[1].getsockname()[1]
            wrapped = ClientCertificateVerified(self.app)
            servers.append(
                uvicorn.Server(self._uvicorn_config(wrapped, uvicorn_tls_options(self.tls_files)))
            )
        self._servers = servers
        self._thread: threading.Thread | None = None

    @staticmethod
    def _uvicorn_config(app, tls: dict) -> uvicorn.Config:
        return uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, **tls)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def serve_forever(self) -> None:
        """Serve every listener until `stop()` (or a signal, in the main thread)."""
        await asyncio.gather(
            *(s.serve(sockets=[sock]) for s, sock in zip(self._servers, self._sockets, strict=True))
        )

    def start(self, timeout: float = 10.0) -> ScmSandboxServer:
        self._thread = threading.Thread(
            target=asyncio.run, args=(self.serve_forever(),), name="scm-sandbox", daemon=True
        )
        self._thread.start()
        give_up = time.monotonic() + timeout
        while not all(server.started for server in self._servers):
            if not self._thread.is_alive() or time.monotonic() > give_up:
                self.stop()
                raise RuntimeError("SCM sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()


def serve(host: str, port: int, config: ScmSandboxConfig) -> None:
    """Run in the foreground until interrupted (the `certbroker sandbox scm` command)."""
    server = ScmSandboxServer(config, host, port)
    print(f"SCM sandbox: {server.origin}/api (login/password/customerUri: sandbox)", flush=True)
    if server.tls_files:
        print(
            f"mTLS: https://{host}:{server.mtls_port}/private/api, files in "
            f"{server.tls_files.server_cert.parent}",
            flush=True,
        )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve_forever())
