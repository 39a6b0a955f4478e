"""`/people`: profiles created or updated by `externalId`, one at a time or in batches.

Every write goes through `store.people.write_people`, so one person and a batch of 1,000
follow the same rules: given fields overwrite, custom attributes merge key by key (null
removes one), given lists replace. A batch is checked item by item (a bad item is refused
with its reason and never drops the good ones) and written in one group commit.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from tidings.api import openapi
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.errors import validation_details
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.responses import JSONResponse
from tidings.api.schemas import ERRORS, Strict, id_path
from tidings.domain.errors import InvalidInput, MalformedRequest, Problem, ProblemList
from tidings.domain.people import (
    PersonChanges,
    check_person,
    normalize_email,
    normalize_phone,
)
from tidings.domain.values import ValueType, check_text
from tidings.services import people as service
from tidings.services.items import refused
from tidings.store import people as store
from tidings.store.definitions import attribute_types

router = APIRouter(prefix="/people", tags=["people"], responses=ERRORS)
MAX_ITEMS = 1000
PersonId = id_path("person")
Text = Annotated[str, AfterValidator(check_text)]
ExternalId = Annotated[Text, StringConstraints(min_length=1, max_length=255)]


class PersonCreate(Strict):
    """A person as clients write it. Only the fields given change; see the module doc."""

    externalId: ExternalId | None = Field(
        None, description="Your id of the person; POST /people updates the one holding it"
    )
    firstName: str | None = None
    lastName: str | None = None
    gender: str | None = Field(None, description="female, male or other")
    birthDate: str | None = Field(None, description="A date such as 1990-04-30")
    city: str | None = None
    country: str | None = Field(None, description="ISO 3166 code such as HR")
    timezone: str | None = Field(None, description="IANA zone such as Europe/Zagreb")
    preferredLanguage: str | None = Field(None, description="Language tag such as en or pt-BR")
    phones: list[str] | None = Field(None, description="International numbers; replace all")
    emails: list[str] | None = Field(None, description="Email addresses; replace all")
    tags: list[str] | None = Field(None, description="Tag names (created when new); replace all")
    companies: list[str] | None = Field(None, description="Existing company names; replace all")
    unsubscribed: list[str] | None = Field(
        None,
        max_length=5,
        description="Channels the person opted out of (sms, email, whatsapp, viber, voice); "
        "replace all",
    )
    attributes: dict[str, Any] | None = Field(
        None, description="Declared custom attributes, merged key by key; null removes one"
    )


class PersonUpdate(PersonCreate):
    """The same fields; `externalId` here gives the person another one (null removes it)."""


class ItemAnswer(BaseModel):
    status: str = Field(description="accepted or refused")
    id: int | None = None
    created: bool | None = None
    error: dict[str, Any] | None = None


class ItemsAnswer(BaseModel):
    items: list[ItemAnswer]


_person = TypeAdapter(PersonCreate)
BATCH_BODY = openapi.many(openapi.register("PersonCreate", _person), MAX_ITEMS)


def _check(body: PersonCreate, types: dict[str, ValueType], problems: ProblemList) -> PersonChanges:
    return check_person(body.model_dump(exclude_unset=True), types, problems)


def _types(ctx: AppContext, account_id: int) -> dict[str, ValueType]:
    with ctx.db.read() as conn:
        return attribute_types(conn, account_id)


@router.post(
    "",
    status_code=201,
    responses={200: {"description": "An existing person (by externalId) was updated"}},
    summary="Create a person, or update the one with this externalId",
)
def upsert_person(
    body: PersonCreate,
    response: Response,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    changes = _check(body, _types(ctx, who.account_id), problems)
    problems.raise_if_any()
    item = store.PersonWrite(changes, external_id=body.externalId)
    account, now = who.account_id, ctx.now_micros()

    created, person = ctx.db.write(lambda conn: service.upsert_person(conn, account, item, now))
    response.status_code = 201 if created else 200
    return person


@router.post(
    "/batch",
    response_model=ItemsAnswer,
    openapi_extra=BATCH_BODY,
    summary="Create or update up to 1,000 people, answered per item",
)
async def upsert_people(
    request: Request,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> JSONResponse:
    """Each item follows the rules of `POST /people` and is answered on its own, in order;
    all accepted items are stored in one transaction before the answer. Several items with
    one externalId apply in order (the later wins field by field, attributes merge) and
    all are accepted with the same id; only the first says `created`."""
    items = _parse_batch(await request.body())
    answers, writes = await run_in_threadpool(_check_batch, ctx, who.account_id, items)
    account, now = who.account_id, ctx.now_micros()

    def write(conn: Connection) -> tuple[int, Any]:
        return service.upsert_people(
            conn, account, answers, writes, idempotency_key=idempotency_key, now=now
        )

    status, body = await ctx.db.write_async(write)
    return JSONResponse(body, status_code=status)


def _check_batch(
    ctx: AppContext, account_id: int, items: list[Any]
) -> tuple[list[dict[str, Any] | None], list[tuple[int, store.PersonWrite]]]:
    """Each item checked on its own: the refusals by position, and the writes to make.
    Runs off the event loop (a read and up to 1,000 checks)."""
    types = _types(ctx, account_id)
    answers: list[dict[str, Any] | None] = [None] * len(items)
    writes: list[tuple[int, store.PersonWrite]] = []
    for index, raw in enumerate(items):
        try:
            body = _person.validate_python(raw)
        except ValidationError as exc:
            details = validation_details(exc.errors())
            answers[index] = refused([Problem(d["field"], d["message"]) for d in details])
            continue
        problems = ProblemList()
        changes = _check(body, types, problems)
        if problems:
            answers[index] = refused(problems.items)
        else:
            writes.append((index, store.PersonWrite(changes, external_id=body.externalId)))
    return answers, writes


def _parse_batch(body: bytes) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the request body is not valid JSON") from None
    if not isinstance(data, list):
        raise InvalidInput([Problem("body", "must be a list of people")])
    if not data:
        raise InvalidInput([Problem("body", "the list is empty")])
    if len(data) > MAX_ITEMS:
        raise InvalidInput([Problem("body", f"at most {MAX_ITEMS} people per request")])
    return data


@router.get("", summary="People by id, filtered by any of externalId, tag, email, phone, company")
def list_people(
    external_id: str | None = Query(None, alias="externalId", max_length=255),
    tag: str | None = Query(None, max_length=255, description="Only people with this tag"),
    email: str | None = Query(None, max_length=320, description="Only people with this email"),
    phone: str | None = Query(None, max_length=64, description="Only people with this number"),
    company: str | None = Query(None, max_length=255, description="Only this company's people"),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    texts = {"externalId": external_id, "tag": tag, "company": company}
    for name, value in texts.items():
        if value is not None:
            try:
                check_text(value)
            except ValueError as exc:
                problems.add(name, str(exc))
    if email is not None:
        try:
            email = normalize_email(email)
        except ValueError as exc:
            problems.add("email", str(exc))
    if phone is not None:
        if phone.startswith(" "):  # an unencoded `+` in a query string arrives as a space
            phone = "+" + phone.lstrip()
        try:
            phone = normalize_phone(phone)
        except ValueError as exc:
            problems.add("phone", str(exc))
    problems.raise_if_any()
    where = store.PeopleFilter(
        external_id=external_id, tag=tag, email=email, phone=phone, company=company
    )
    with ctx.db.read() as conn:
        rows = store.list_people(conn, who.account_id, where, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.get("/{person_id}")
def read_person(
    person_id: int = PersonId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_person(conn, who.account_id, person_id)


@router.patch("/{person_id}", summary="Change a person: the same rules as POST /people")
def update_person(
    body: PersonUpdate,
    person_id: int = PersonId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    changes = _check(body, _types(ctx, who.account_id), problems)
    problems.raise_if_any()
    item = store.PersonWrite(changes, person_id=person_id)
    rename = "externalId" in body.model_fields_set
    account, now = who.account_id, ctx.now_micros()

    return ctx.db.write(
        lambda conn: service.update_person(
            conn, account, person_id, item, now, rename=rename, external_id=body.externalId
        )
    )


@router.delete("/{person_id}", status_code=204, summary="Delete a person and all of theirs")
def delete_person(
    person_id: int = PersonId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: service.delete_person(conn, who.account_id, person_id))
    return Response(status_code=204)
