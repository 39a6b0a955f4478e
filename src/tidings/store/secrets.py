"""Server-wide secrets (`server_secrets`): made once, at first need, by whichever process
asks first; every process of the install then reads the same value."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select

from tidings.store.dialect import dialect_of_conn, insert_ignore
from tidings.store.tables import server_secrets

TRACKING = "tracking"
REPORT_LINKS = "report_links"  # signs the download links of emailed reports


def secret(conn: Connection, name: str) -> bytes:
    """The secret `name` (32 random bytes, made if missing)."""
    conn.execute(
        insert_ignore(dialect_of_conn(conn), server_secrets).values(
            name=name, value=secrets.token_hex(32)
        )
    )
    value = conn.execute(select(server_secrets.c.value).where(server_secrets.c.name == name))
    return bytes.fromhex(value.scalar_one())
