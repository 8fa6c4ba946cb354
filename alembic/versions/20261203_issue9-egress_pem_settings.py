"""organization settings hold PEM content, not server paths; the SCM client key is sealed

Revision ID: 9e9e55a1c0de
Revises: 20261203acme
Create Date: 2026-12-03 06:00:00

`acme.ca_bundle` (a path or PEM text), `scm.client_cert_file` and `scm.client_key_file`
(paths) are gone. A `ca_bundle` that held PEM certificates becomes `acme.ca_bundle_pem`; a
path is dropped without being read (reading a tenant-named file is the hole being closed), as
are the SCM file settings: such organizations re-enter their client certificate and key as
PEM (`client_cert_pem`, `client_key_pem`) before their next SCM call.
"""

import json
import logging
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "9e9e55a1c0de"
down_revision: str | None = "20261203acme"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

organization = sa.table(
    "organization",
    sa.column("id", sa.String),
    sa.column("scm", sa.JSON),
    sa.column("acme", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scm_client_key_secret", sa.Text(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(organization.c.id, organization.c.scm, organization.c.acme))
    for org_id, scm, acme in rows.all():
        scm, acme = _loaded(scm), _loaded(acme)
        changed = False
        if scm and ({"client_cert_file", "client_key_file"} & scm.keys()):
            paths = [scm.pop("client_cert_file", None), scm.pop("client_key_file", None)]
            if any(paths):
                log.warning("organization %s: SCM client certificate paths dropped", org_id)
            changed = True
        if acme and "ca_bundle" in acme:
            bundle = acme.pop("ca_bundle")
            if isinstance(bundle, str) and "-----BEGIN CERTIFICATE-----" in bundle:
                acme["ca_bundle_pem"] = bundle
            elif bundle:
                log.warning("organization %s: acme.ca_bundle path dropped", org_id)
            changed = True
        if changed:
            connection.execute(
                organization.update().where(organization.c.id == org_id).values(scm=scm, acme=acme)
            )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(organization.c.id, organization.c.acme))
    for org_id, acme in rows.all():
        acme = _loaded(acme)
        if acme and "ca_bundle_pem" in acme:
            acme["ca_bundle"] = acme.pop("ca_bundle_pem")
            connection.execute(
                organization.update().where(organization.c.id == org_id).values(acme=acme)
            )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("scm_client_key_secret")


def _loaded(value: object) -> dict | None:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else None
