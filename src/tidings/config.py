"""Settings, from `TIDINGS_*` environment variables (read only by the composition root)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./tidings.db",
        description="sqlite:///path/to/file.db (default) or postgresql+psycopg://user@host:port/db",
    )
    api_key: SecretStr | None = Field(
        None, description="Becomes an admin key of the default account at start."
    )
    allow_private_urls: bool = Field(
        False, description="Let call_api reach private, loopback and link-local addresses."
    )
    clock: str = Field("real", description="real, virtual or virtual:INSTANT")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Where providers and people reach this server: the base of the webhook, "
        "tracking and unsubscribe URLs (Twilio's signatures are checked against it).",
    )
    partitions: int = Field(256, ge=1, le=65536, description="Person partitions, fixed at install.")
    max_body_bytes: int = Field(1_048_576, description="Largest request body accepted.")
    lease_seconds: float = Field(
        15.0,
        gt=0,
        description="PostgreSQL: how long a worker's partition lease lasts without renewal "
        "(a stopped worker's partitions are taken over after this long).",
    )
    lease_renew_seconds: float = Field(
        3.0, gt=0, description="PostgreSQL: how often a worker renews its leases and rebalances."
    )
    engine_process: bool = Field(
        True,
        description="With the real clock, run the engine in a child process (its own "
        "core; on PostgreSQL a worker with its share of the partitions); off runs it as "
        "a thread of the API process.",
    )
    trace_retention_days: int = Field(
        30, ge=1, le=3650, description="Days the per-person journey trace is kept."
    )
    uniform_paths: bool = Field(
        True,
        description="Move people whom a timer or a plain event moves alike with set-based "
        "statements (off: every person is stepped alone; the outcome is the same).",
    )
    sql_sends: bool = Field(
        True,
        description="Let the store compose the SMS of set-based entries whose text is "
        "literals and the person's text fields (off: composed in Python; the same messages).",
    )
    send_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a batch of messages handed to a provider may go unanswered "
        "before it is claimed and sent again (after a crash; the outbox id keeps it one "
        "message at a provider that de-duplicates).",
    )
    send_ahead: int = Field(
        80_000,
        ge=1,
        description="At most this many messages claimed for providers and not answered "
        "yet: the rest of a big launch waits in the store (not in memory, not against "
        "its lease) until the providers take what they have.",
    )
    log_level: str = Field("info", description="debug, info, warning or error")
