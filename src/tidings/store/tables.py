"""The one schema, in SQLAlchemy Core, for SQLite and PostgreSQL alike.

Conventions: every table has `account_id` and every query filters on it; instants are
BIGINT microseconds since the epoch (cheap to index and compare on both databases);
JSON documents are JSONB on PostgreSQL and TEXT on SQLite.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")

# Per-person link tables, whose rows are their primary key, are stored by it on SQLite:
# a rowid table would keep each row twice (the table and its key's index, ~13-33 B a row).
WITHOUT_ROWID = (
    "person_contacts",
    "person_tags",
    "person_companies",
    "element_visits",
    "audience_members",
    "flow_series",
)
Json = JSON().with_variant(JSONB(), "postgresql")


# A participation's phase is stored as a small code, its index here: waiting 0 (every
# parked person) and exited 1 (the history) take no bytes on SQLite, running 2 (inside a
# batch only) one, held 3 (the version failed: kept where they were, moved by nothing) one.
# Core binds and reads the names (`PhaseCode`); raw SQL says
# `phase = {WAITING}` and maps rows itself (store/journeys.py). API and domain see names.
PHASES = ("waiting", "exited", "running", "held")
PHASE_CODE = {name: code for code, name in enumerate(PHASES)}
WAITING, EXITED, RUNNING, HELD = 0, 1, 2, 3


class PhaseCode(TypeDecorator[str]):
    """The phase's name in Python, its code (`PHASES`) in the database."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> int | None:
        return None if value is None else PHASE_CODE[value]

    def process_literal_param(self, value: str | None, dialect: Dialect) -> str:
        return "NULL" if value is None else str(PHASE_CODE[value])

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else PHASES[value]


class EmptyAsNull(TypeDecorator[dict[str, Any]]):
    """A JSON object column whose empty object is stored as NULL and read back as `{}`
    (a person's custom attributes: most people have none, and `'{}'` cost every one of
    them its bytes). Core binds and reads it; raw SQL writes NULL for empty and reads
    NULL as empty. SQL over the document reads NULL as it reads a missing key (NULL)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        # none_as_null: Python None is SQL NULL (JSON's default would store JSON 'null')
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        return value or None

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any]:
        return {} if value is None else value

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        # a key or a text compared with the document binds as itself, as with JSON
        return self.impl_instance.coerce_compared_value(op, value)


def _account() -> Column[int]:
    return Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)


accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("allow_private_urls", Boolean, nullable=False, server_default="0"),
    Column("prices", Json),  # the traffic price table (domain/prices.py); NULL: none
    Column("created_at", BigInteger, nullable=False),
    # the account whose admin key created it (its sub-accounts' MEP is its to read); NULL:
    # none (the default account, and accounts made by `tidings` itself)
    Column("parent_id", Id, index=True),
    # the monthly engaged persons the account's subscription includes (the MEP
    # dashboard shows the month's use of it); NULL: none set (migration 0021)
    Column("mep_subscription", BigInteger),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(255), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # when a call last presented it (to within the API's key cache, 30 s); NULL: never
    Column("last_used_at", BigInteger),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

people = Table(
    "people",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("external_id", String(255)),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("gender", String(16)),
    Column("birth_date", String(10)),
    Column("city", String(255)),
    Column("country", String(2)),
    Column("timezone", String(64)),
    Column("preferred_language", String(35)),
    # Custom attributes; NULL when there are none (EmptyAsNull: read back as {}).
    Column("attributes", EmptyAsNull),
    # The channels the person unsubscribed from, space-separated ("email sms"); NULL: none
    # (migration 0018).
    Column("unsubscribed", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "external_id", name="uq_people_account_external"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

person_contacts = Table(
    "person_contacts",
    metadata,
    _account(),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("value", String(320), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("person_id", "kind", "value"),
    Index("ix_person_contacts_lookup", "account_id", "kind", "value"),
    sqlite_with_rowid=False,  # see WITHOUT_ROWID
)

tags = Table(
    "tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_tags_account_name"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

person_tags = Table(
    "person_tags",
    metadata,
    _account(),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("tag_id", Id, ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("person_id", "tag_id"),
    Index("ix_person_tags_tag", "account_id", "tag_id"),
    sqlite_with_rowid=False,  # see WITHOUT_ROWID
)

companies = Table(
    "companies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(255), nullable=False),
    Column("domain", String(255)),
    Column("attributes", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_companies_account_name"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

person_companies = Table(
    "person_companies",
    metadata,
    _account(),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("company_id", Id, ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("person_id", "company_id"),
    Index("ix_person_companies_company", "account_id", "company_id"),
    sqlite_with_rowid=False,  # see WITHOUT_ROWID
)

attribute_definitions = Table(
    "attribute_definitions",
    metadata,
    _account(),
    Column("name", String(64), nullable=False),
    Column("type", String(16), nullable=False),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "name"),
)

event_definitions = Table(
    "event_definitions",
    metadata,
    _account(),
    Column("name", String(128), nullable=False),
    Column("properties", Json, nullable=False),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "name"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("properties", Json, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_events_person_time", "account_id", "person_id", "time"),
    Index("ix_events_name_time", "account_id", "name", "time"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

segments = Table(
    "segments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    Column("rule", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_segments_account_name"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _account(),
    Column("scope", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "scope", "key"),
)

flows = Table(
    "flows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    # The schedule is the flow's, shared by all versions (the guide: a schedule changed in
    # a new version applies to every version).
    Column("starts_at", BigInteger),
    Column("ends_at", BigInteger),
    Column("last_activity_at", BigInteger),
    Column("duplicate_of", Id),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_flows_account_updated", "account_id", "updated_at"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

flow_versions = Table(
    "flow_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("launched_at", BigInteger),
    Column("finished_at", BigInteger),
    Column("failure", Text),  # why the version failed (engine/failures.py)
    UniqueConstraint("flow_id", "version", name="uq_flow_versions_flow_version"),
    Index("ix_flow_versions_status", "status"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

flow_templates = Table(
    "flow_templates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    Column("document", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_flow_templates_account_name"),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

# --- the journey engine ---------------------------------------------------------------------
# A participation is one person in one flow version: a row, not a coroutine. Waiting people
# cost disk, and finding due work never scans the merely waiting (partial indexes below).

participations = Table(
    "participations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    # No partition column: a person's is person_id % P, P fixed at install (DESIGN.md),
    # which the engine's reads of owned partitions compute (journeys.person_partition_sql).
    Column("phase", PhaseCode, nullable=False),
    Column("element", String(64)),
    # Empty JSON is stored as NULL (no variables, no element-local state, no message
    # events): a parked person pays no bytes for what they do not have. Readers take NULL
    # as empty ({} or []), on both databases (store/journeys.py).
    Column("variables", Json),
    Column("entry_event", Json),
    Column("local", Json),
    Column("message_events", Json),
    Column("wake_at", BigInteger),
    # The awaited event's name; NULL while it is the event of the wait_for_event the person
    # waits at (the compiled program knows it: engine/programs.py maps it both ways), so a
    # parked person does not pay for the name. Rows that name it anyway read the same.
    Column("waiting_for", String(128)),
    Column("waiting_element", String(64)),
    Column("entered_at", BigInteger, nullable=False),
    Column("exited_at", BigInteger),
    Column("exit_reason", String(64)),
    # The trace lines of a set-based entry (engine/uniform.py): everyone of the cohort
    # entered with the same lines at `entered_at`, one shared detail (journey_step_details,
    # no foreign key: details go by age) instead of a journey_steps row each. NULL: the
    # entry is traced in journey_steps, like every later step (store/traces.py).
    Column("entry_detail", Id),
    Index(
        "ix_participations_due",
        "wake_at",
        sqlite_where=text(f"phase = {WAITING} AND wake_at IS NOT NULL"),
        postgresql_where=text(f"phase = {WAITING} AND wake_at IS NOT NULL"),
    ),
    # A person's waiting participations (DESIGN.md: waits are indexed by person). Every
    # reader takes all of a person's waiting rows, a few, and checks the event on the row:
    # the event name in the index would cost its length a waiting person for no search.
    Index(
        "ix_participations_awaiting",
        "person_id",
        sqlite_where=text(f"phase = {WAITING}"),
        postgresql_where=text(f"phase = {WAITING}"),
    ),
    sqlite_autoincrement=True,
)
# By flow and person: entry rules' history, audience refreshes, performance, and a
# person's journeys (probed for each flow of the account: store/traces.py). And unique:
# a person is in a flow at most once at a time (DESIGN.md), whatever the version, for the
# third column is 0 on every live participation (an exited one has its own id there).
# One index does what a plain one and a partial unique one did, at the cost of one.
# SQLAlchemy does not reflect an index on an expression: a migration that rebuilds
# participations in SQLite's batch mode must create it again (test_migrations checks it).
uq_participations_history = Index(
    "uq_participations_history",
    participations.c.flow_id,
    participations.c.person_id,
    case((participations.c.phase == "exited", participations.c.id), else_=0),
    unique=True,
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("partition", Integer, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # event, enter, result, cancel
    Column("flow_id", Id),
    Column("version", Integer),
    Column("participation_id", Id),
    Column("payload", Json, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Index("ix_inbox_due", "due_at", "id"),
    sqlite_autoincrement=True,
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("participation_id", Id),
    Column("flow_id", Id),
    Column("version", Integer),
    Column("element", String(64)),
    Column("person_id", Id),
    # message, call_api, notify; call (an action on a live call), price (asks a provider)
    Column("kind", String(16), nullable=False),
    Column("channel", String(16)),
    Column("payload", Json, nullable=False),
    # pending, done (sandbox, call_api), failed; a provider's messages: pending, sending
    # (claimed), sent (accepted, awaiting its report), delivered or failed (reported)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("done_at", BigInteger),
    # The connection a message goes out through; NULL: the sandbox (migration 0018).
    Column("connection_id", Id),
    Column("provider_id", String(64)),  # the provider's id of the message, when not ours
    Column("price", Float),  # what the message cost, as priced or as the provider billed
    Column("reason", String(500)),  # why it failed, in the provider's words
    Column("seen_at", BigInteger),  # when its first `seen` report came (once per message)
    Column("clicked_at", BigInteger),  # when a provider first reported a click
    # Sandbox sends and API calls due (a provider's messages have their own index below,
    # so thousands of them waiting for a provider never slow the sandbox's look-ups).
    Index(
        "ix_outbox_pending",
        "next_attempt_at",
        sqlite_where=text("status = 'pending' AND connection_id IS NULL"),
        postgresql_where=text("status = 'pending' AND connection_id IS NULL"),
    ),
    # Due API calls, pending or in flight (migration 0009): claims read them by time.
    Index(
        "ix_outbox_due_calls",
        "next_attempt_at",
        sqlite_where=text("kind = 'call_api' AND status IN ('pending', 'sending')"),
        postgresql_where=text("kind = 'call_api' AND status IN ('pending', 'sending')"),
    ),
    # Messages due at a provider, pending or in flight (migration 0018).
    Index(
        "ix_outbox_due_provider",
        "next_attempt_at",
        sqlite_where=text("connection_id IS NOT NULL AND status IN ('pending', 'sending')"),
        postgresql_where=text("connection_id IS NOT NULL AND status IN ('pending', 'sending')"),
    ),
    sqlite_autoincrement=True,
)

# Server-wide secrets, made at first need (migration 0018): the key that signs tracking
# and unsubscribe links (domain/tracking.py), the same for every process of the install.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

# An account's link to a provider (DESIGN.md, Channels and providers; migration 0018).
connections = Table(
    "connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("channels", Json, nullable=False),
    Column("settings", Json, nullable=False),  # secrets included: never answered, never logged
    # When it was last made the default of its channels (the latest wins); NULL: not default.
    Column("default_since", BigInteger),
    Column("webhook_token", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    sqlite_autoincrement=True,  # ids are never reused after a delete
)

flow_counters = Table(
    "flow_counters",
    metadata,
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("element", String(64), nullable=False),  # "" for the flow itself
    Column("name", String(64), nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("flow_id", "version", "element", "name"),
)

element_visits = Table(
    "element_visits",
    metadata,
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("element", String(64), nullable=False),
    Column("person_id", Id, nullable=False),
    PrimaryKeyConstraint("flow_id", "version", "element", "person_id"),
    sqlite_with_rowid=False,  # see WITHOUT_ROWID
)

# A real-time audience's members as the last refresh saw them, source by source (`source`
# a key of store/audience.source_keys: `t:<tag>`, `s:<segment id>`, `p`, ...): a person
# not in a source's rows who now belongs to it has joined it (store/audience.refresh_members).
# No foreign key on the person: a deleted person is no member, and the next refresh drops
# their rows.
audience_members = Table(
    "audience_members",
    metadata,
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(300), nullable=False),
    Column("person_id", Id, nullable=False),
    PrimaryKeyConstraint("flow_id", "source", "person_id"),
    sqlite_with_rowid=False,  # see WITHOUT_ROWID
)

sandbox_messages = Table(
    "sandbox_messages",
    metadata,
    Column("id", Id, primary_key=True),  # the outbox id: a retried send is the same message
    _account(),
    Column("channel", String(16), nullable=False),
    Column("to", String(320), nullable=False),
    Column("sender", String(320)),
    Column("content", Json, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("sent_at", BigInteger, nullable=False),
    Column("flow_id", Id),
    Column("version", Integer),
    Column("element", String(64)),
    Column("person_id", Id),
    Index("ix_sandbox_messages_account", "account_id", "id"),
)

sandbox_settings = Table(
    "sandbox_settings",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("delivered", Float, nullable=False),
    Column("seen", Float, nullable=False),
    Column("clicked", Float, nullable=False),
    Column("delay", String(32), nullable=False),
)

# --- catalogs (account tables of items by key, read by `catalog_lookup`) -------------------

catalogs = Table(
    "catalogs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(128), nullable=False),
    Column("columns", Json, nullable=False),  # [{"name", "type"}], the key column excluded
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name"),
    sqlite_autoincrement=True,
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("catalog_id", Id, ForeignKey("catalogs.id", ondelete="CASCADE"), nullable=False),
    _account(),
    Column("key", String(256), nullable=False),
    Column("item_values", Json, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("catalog_id", "key"),
)

# --- scale-out: partition leases of `tidings worker` processes (PostgreSQL) -----------------
# A worker owns a partition while its lease is unexpired; every batch it writes checks the
# epoch it was granted, so a worker that lost the lease cannot write any more.

partition_leases = Table(
    "partition_leases",
    metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(128)),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("started_at", BigInteger, nullable=False),
    Column("heartbeat_at", BigInteger, nullable=False),
)

# --- the per-person trace: what happened to a person in a flow and why (bounded) ------------
# A set-based move writes the same lines for thousands of people: such a detail is stored
# once (`journey_step_details`, per day and content digest) and rows refer to it; a detail
# that one row alone has stays on its row (`kind`, `element`, `detail`). See store/traces.py.

journey_step_details = Table(
    "journey_step_details",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("day", Integer, nullable=False),  # of the rows' `at`: days since the epoch
    Column("digest", LargeBinary, nullable=False),  # of account, kind, element and detail
    Column("kind", String(32), nullable=False),
    Column("element", String(64)),
    Column("detail", Json, nullable=False),
    UniqueConstraint("day", "digest", name="uq_journey_step_details_day"),
    sqlite_autoincrement=True,  # ids are never reused: a pruned detail stays gone
)

journey_steps = Table(
    "journey_steps",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("participation_id", Id),
    Column("element", String(64)),
    Column("kind", String(32)),  # these three, or detail_id
    Column("detail", Json),
    Column("detail_id", Id),  # journey_step_details (no foreign key: details go by age)
    Column("at", BigInteger, nullable=False),
    # by person (the journeys answer, and the cascade of a person's delete); retention
    # goes in id order, see traces.prune
    Index("ix_journey_steps_person", "person_id", "id"),
    sqlite_autoincrement=True,
)

# Indexes on expressions, which Alembic's comparison cannot see (tests/store checks them).
EXPRESSION_INDEXES = (uq_participations_history,)

# --- flow performance over time (issue #17, migration 0021) ---------------------------------
# The flow figures by UTC hour (`hour`: hours since the epoch), added to with every step
# beside `flow_counters` (store/counts.py): a series by hour or day in the flow's zone
# sums at most 24 rows a name and day, however many people the flow has. Version 0 holds
# the people counted once over all versions (`people.*`, see store/counts.py).
flow_series = Table(
    "flow_series",
    metadata,
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("flow_id", "version", "hour", "name"),
    sqlite_with_rowid=False,
)

# --- keys, sub-accounts and monthly engaged persons (issue #17, "MEP"; store/mep.py) -------
# A person who enters a flow in a calendar month of the account's zone is one engaged person
# of that month: one row, the first entry's (insert-if-absent in the entry's transaction).
# `month` is year * 100 + month (202611). No foreign key to the person or the flow: who was
# engaged stays billed after a delete. `engaged_counts` adds up the rows really inserted,
# by the flow of each person's first entry, so a month of millions reads a few rows.

engaged_people = Table(
    "engaged_people",
    metadata,
    _account(),
    Column("month", Integer, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("engaged_at", BigInteger, nullable=False),
    Column("flow_id", Id, nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("account_id", "month", "person_id"),
    sqlite_with_rowid=False,  # stored by its key, as the link tables (WITHOUT_ROWID)
)

engaged_counts = Table(
    "engaged_counts",
    metadata,
    _account(),
    Column("month", Integer, nullable=False),
    Column("flow_id", Id, nullable=False),
    Column("engaged", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "month", "flow_id"),
)

# --- reports made in the background (issue #17: reports, migration 0022) --------------------
# A report asked for through `POST /reports` is a row here (`status` pending, running,
# ready or failed with its `reason`); a report worker claims it (`lease_until`, wall-clock
# micros: a worker that stops mid-way leaves it to be claimed again) and writes its file
# into `report_chunks`, a MiB a row, which `GET /reports/{id}/file` streams back in order.
# In the database rather than a folder: every serve process of a PostgreSQL install reads
# them, backups hold them, and an account's delete takes them along (services/reports.py).
reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("type", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("format", String(8), nullable=False),
    Column("request", Json, nullable=False),  # what was asked: flow, version, month, accounts
    Column("status", String(16), nullable=False),
    Column("reason", String(500)),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", BigInteger),
    Column("rows", BigInteger),
    Column("size", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Index("ix_reports_account", "account_id", "id"),
    Index(
        "ix_reports_due",
        "id",
        sqlite_where=text("status IN ('pending', 'running')"),
        postgresql_where=text("status IN ('pending', 'running')"),
    ),
    sqlite_autoincrement=True,
)

report_chunks = Table(
    "report_chunks",
    metadata,
    _account(),
    Column("report_id", Id, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("report_id", "seq"),
)

# --- SFTP imports (issue #17, migration 0019) ------------------------------------------------
# An account's SFTP servers (`/sftp-connections`): the password or private key is stored
# whole and never answered (store/sftp.py); `host_key` pins the server's public key.
sftp_connections = Table(
    "sftp_connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("username", String(255), nullable=False),
    Column("secrets", Json, nullable=False),  # {"password"} or {"privateKey"}: never answered
    Column("host_key", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# When each running sftp entry polls next (engine/sftp_imports.py): a version without a
# row polls at once.
sftp_polls = Table(
    "sftp_polls",
    metadata,
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("polled_at", BigInteger, nullable=False),
    Column("next_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("flow_id", "version"),
)

# The import performance table: a file imported (its name and checksum: imported once),
# or a poll that failed (`error`, never a secret).
sftp_imports = Table(
    "sftp_imports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _account(),
    Column("flow_id", Id, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("fetched_at", BigInteger, nullable=False),
    Column("connection", String(200), nullable=False),
    Column("file", String(1024)),
    Column("checksum", String(64)),
    Column("total", Integer, nullable=False),
    Column("valid", Integer, nullable=False),
    Column("invalid", Integer, nullable=False),
    Column("error", String(500)),
    Index("ix_sftp_imports_flow", "flow_id", "id"),
    Index("ix_sftp_imports_file", "flow_id", "file", "checksum"),
    sqlite_autoincrement=True,
)

# --- Inbound calls in IVR (issue #15, migration 0023) -----------------------------------------
# A call to one of an Infobip connection's numbers, while it lasts (store/live_calls.py):
# `ringing` (received; Tidings answers it when a flow takes the number), `answered` (the
# caller entered the flow; voice elements act on the call), `ending` (Tidings hung up),
# `ended` (finished). `message_id`: the outbox id of the voice element's message the call
# is playing (its SAY_FINISHED / DTMF_CAPTURED / hang-up is that message's report), and
# `capturing` whether that message collects digits (then only DTMF_CAPTURED reports it).
live_calls = Table(
    "live_calls",
    metadata,
    _account(),
    Column("person_id", Id, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("connection_id", Id, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("call_id", String(128), nullable=False),  # Infobip's callId
    Column("caller", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("message_id", Id),
    Column("capturing", Boolean, nullable=False),  # the message collects digits
    Column("started_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("person_id", "connection_id", "call_id"),
    Index("ix_live_calls_call", "connection_id", "call_id", unique=True),
)

# --- Reports emailed (issue #17, migration 0024) ---------------------------------------------
# The email a report is sent by when it is done (store/report_emails.py): to whom (one
# copy each), from which sender, through which connection (NULL: deleted since; the
# account's email route then), each recipient's outcome so far, and how the send went:
# `waiting` (the report is being built), `pending` (due at `due_at`, wall-clock micros
# as report leases; NULL: at once), `sending` (a worker holds it until `lease_until`),
# `sent` or `failed` (with the reason).
report_emails = Table(
    "report_emails",
    metadata,
    _account(),
    Column("report_id", Id, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("recipients", Json, nullable=False),  # a list of addresses
    Column("sender", String(320)),
    Column("connection_id", Id, ForeignKey("connections.id", ondelete="SET NULL")),
    Column("outcomes", Json),  # {address: {"status": "sent" | "failed", "reason"}} so far
    Column("status", String(16), nullable=False),
    Column("reason", String(500)),
    Column("attempts", Integer, nullable=False),
    Column("due_at", BigInteger),
    Column("lease_until", BigInteger),
    Column("sent_at", BigInteger),
    PrimaryKeyConstraint("report_id"),
    Index(
        "ix_report_emails_due",
        "due_at",
        sqlite_where=text("status IN ('pending', 'sending')"),
        postgresql_where=text("status IN ('pending', 'sending')"),
    ),
)
