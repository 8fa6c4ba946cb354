"""The `certbroker` command: serve, worker, migrate, tenants, clients, openapi, sandbox, demo,
dev."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings


def _load_all_tables() -> None:
    # A table's foreign keys resolve only once every table is in the metadata; the API and the
    # worker touch tables whose modules they may not import themselves.
    from app.models import import_all_models

    import_all_models()


def _warn_if_sandbox(settings: Settings, process: str) -> None:
    if settings.sandbox_mode:
        logging.getLogger("certbroker").warning(
            "SANDBOX MODE: this %s serves organizations wired to local simulators "
            "(SCM simulator, pebble); their certificates are not publicly trusted",
            process,
        )


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.main import create_app

    _load_all_tables()
    settings = Settings()
    options: dict[str, object] = {
        "host": args.host,
        "port": args.port,
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        "log_config": None,
        "access_log": False,
        # SIGTERM: stop accepting connections, let requests in flight finish (drain) for up
        # to this long, then close.
        "timeout_graceful_shutdown": args.graceful_timeout,
    }
    if args.workers > 1:
        # N processes share the listening socket; uvicorn's supervisor restarts one that dies.
        # Each builds its own app (engine, Redis pool) from the same settings.
        from app.logs import configure_logging

        configure_logging(settings.log_level)
        _warn_if_sandbox(settings, "API")
        uvicorn.run("app.main:create_app", factory=True, workers=args.workers, **options)
        return
    app = create_app(settings)  # configures logging
    _warn_if_sandbox(settings, "API")
    uvicorn.run(app, **options)


def _worker(_args: argparse.Namespace) -> None:
    from app.logs import configure_logging
    from app.worker import run_worker

    _load_all_tables()
    settings = Settings()
    configure_logging(settings.log_level)
    _warn_if_sandbox(settings, "worker")
    run_worker(settings)


def _migrate(args: argparse.Namespace) -> None:
    from app.migrations import upgrade

    upgrade(Settings().database_url, args.revision)
    print(f"database migrated to {args.revision}")


def _openapi(args: argparse.Namespace) -> None:
    from app.openapi_export import write_spec

    for path in write_spec(Path(args.out)):
        print(f"wrote {path}")


async def _with_session(work):
    from app.db import session_scope
    from app.runtime import Runtime

    runtime = Runtime.build(Settings())
    try:
        async with session_scope(runtime.sessions) as session:
            return await work(session, runtime)
    finally:
        await runtime.close()


def _tenants_create(args: argparse.Namespace) -> None:
    from app.tenants.service import create_tenant

    async def work(session, _runtime):
        tenant = await create_tenant(session, args.name)
        return {"id": tenant.id, "name": tenant.name, "slug": tenant.slug}

    print(json.dumps(asyncio.run(_with_session(work)), indent=2))


def _clients_create(args: argparse.Namespace) -> None:
    from app.clients.service import create_api_client
    from app.tenants.service import find_tenant

    async def work(session, _runtime):
        tenant = await find_tenant(session, args.tenant)
        if tenant is None:
            raise SystemExit(f"no tenant {args.tenant!r}")
        client, secret = await create_api_client(session, tenant.id, args.name, args.scopes)
        return {
            "tenant_id": tenant.id,
            "client_id": client.client_id,
            "client_secret": secret,
            "scopes": client.scopes,
        }

    result = asyncio.run(_with_session(work))
    print(json.dumps(result, indent=2))
    print("The client secret is shown once; store it now.", file=sys.stderr)


def _signing_keys_rotate(_args: argparse.Namespace) -> None:
    from app.auth.signing_keys import rotate_signing_key

    async def work(session, runtime):
        key = await rotate_signing_key(session, runtime)
        return key.kid

    print(f"new signing key {asyncio.run(_with_session(work))}")


def _secrets_reencrypt(_args: argparse.Namespace) -> None:
    from app.crypto.rotation import reencrypt_all

    _load_all_tables()

    async def work(session, runtime):
        return await reencrypt_all(session, runtime.secretbox)

    counts = asyncio.run(_with_session(work))
    for column, count in counts.items():
        print(f"{column}: {count} re-encrypted")
    print("every secret is now sealed under the active data key")


def _demo(args: argparse.Namespace) -> None:
    from app.demo import SandboxWiring, bootstrap_demo

    sandbox = SandboxWiring(**json.loads(args.sandbox.read_text())) if args.sandbox else None
    asyncio.run(bootstrap_demo(Settings(), Path(args.credentials_file), sandbox))


def _dev(args: argparse.Namespace) -> None:
    from app.sandbox.devstack import DevStackConfig, run

    config = DevStackConfig(
        var_dir=args.var_dir,
        host=args.host,
        api_port=args.port,
        scm_port=args.scm_port,
        worker_metrics_port=args.worker_metrics_port,
    )
    sys.exit(run(config))


def _sandbox_scm(args: argparse.Namespace) -> None:
    from app.sandbox.scm.server import config_from_args, serve

    serve(args.host, args.port, config_from_args(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="certbroker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.add_argument(
        "--workers", type=int, default=1, help="API processes sharing the port (default 1)"
    )
    serve.add_argument(
        "--graceful-timeout",
        type=float,
        default=20.0,
        help="seconds to drain requests in flight on SIGTERM (default 20)",
    )
    serve.set_defaults(func=_serve)

    sub.add_parser("worker", help="run a job worker").set_defaults(func=_worker)

    migrate = sub.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(func=_migrate)

    openapi = sub.add_parser("openapi", help="write openapi.json and openapi.yaml")
    openapi.add_argument("--out", default="openapi")
    openapi.set_defaults(func=_openapi)

    tenants = sub.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="action", required=True
    )
    tenant_create = tenants.add_parser("create", help="create a tenant")
    tenant_create.add_argument("name")
    tenant_create.set_defaults(func=_tenants_create)

    clients = sub.add_parser("clients", help="manage API clients").add_subparsers(
        dest="action", required=True
    )
    client_create = clients.add_parser(
        "create", help="create an API client; prints its secret once"
    )
    client_create.add_argument("--tenant", required=True, help="tenant id or slug")
    client_create.add_argument("--name", required=True)
    client_create.add_argument("--scopes", nargs="+", required=True)
    client_create.set_defaults(func=_clients_create)

    keys = sub.add_parser("signing-keys", help="token signing keys").add_subparsers(
        dest="action", required=True
    )
    keys.add_parser("rotate", help="start signing with a new key").set_defaults(
        func=_signing_keys_rotate
    )

    secrets_cmd = sub.add_parser("secrets", help="secrets at rest").add_subparsers(
        dest="action", required=True
    )
    secrets_cmd.add_parser(
        "reencrypt", help="re-seal every stored secret under CERTBROKER_DATA_KEY_ID"
    ).set_defaults(func=_secrets_reencrypt)

    demo = sub.add_parser("demo", help="create the demo tenant and API client if missing")
    demo.add_argument("--credentials-file", default="var/demo-credentials.json")
    demo.add_argument(
        "--sandbox",
        type=Path,
        default=None,
        help="JSON of the local simulators' addresses (written by `certbroker dev`): also "
        "create or re-wire the sandbox organization",
    )
    demo.set_defaults(func=_demo)

    dev = sub.add_parser(
        "dev",
        help="the sandbox: SCM simulator, pebble, demo tenant, a worker and the API together",
    )
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000, help="the API")
    dev.add_argument("--scm-port", type=int, default=8500)
    dev.add_argument("--worker-metrics-port", type=int, default=9464, help="the worker's /metrics")
    dev.add_argument("--var-dir", type=Path, default=Path("var"))
    dev.set_defaults(func=_dev)

    sandbox = sub.add_parser("sandbox", help="local simulators").add_subparsers(
        dest="which", required=True
    )
    scm = sandbox.add_parser("scm", help="run the Sectigo Certificate Manager simulator")
    try:
        from app.sandbox.scm.server import add_arguments
    except ImportError:  # the simulator module is optional at import time of the CLI
        scm.add_argument("--host", default="127.0.0.1")
        scm.add_argument("--port", type=int)
    else:
        add_arguments(scm)  # --host, --port and the simulator's knobs
    scm.set_defaults(func=_sandbox_scm, port=8500)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
