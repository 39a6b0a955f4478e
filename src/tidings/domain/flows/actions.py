"""Elements that act on data: profiles, variables, outside APIs, other flows, catalogs and
internal notifications."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_LIST,
    MAX_MAP,
    MAX_NAME,
    Duration,
    ElementBase,
    Expression,
    Template,
    VariableName,
)


class UpdateProfile(ElementBase):
    """Change the person's profile: attributes and tags."""

    type: Literal["update_profile"] = Field(description="Update the person's profile.")
    set: dict[str, Expression] = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Attributes to set, each from an expression: {attribute: expression}.",
    )
    add_tags: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="Tags to add."
    )
    remove_tags: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="Tags to remove."
    )


class UpdateVariable(ElementBase):
    """Set flow variables from expressions."""

    type: Literal["update_variable"] = Field(description="Update flow variables.")
    set: dict[VariableName, Expression] = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Variables to set: {variable: expression}.",
    )


class CallApi(ElementBase):
    """Call an outside HTTP API; the answer may fill flow variables."""

    OUTCOMES: ClassVar[tuple[str, ...]] = ("success", "failure")
    WAITS: ClassVar[bool] = True  # the answer comes back as a later stimulus

    type: Literal["call_api"] = Field(description="Call an HTTP API.")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        default="POST", description="The HTTP method."
    )
    url: Template | None = Field(default=None, description="The URL (Liquid), http or https.")
    headers: dict[str, Template] = Field(
        default_factory=dict, max_length=MAX_MAP, description="Request headers (Liquid values)."
    )
    body: Template | None = Field(default=None, description="The request body (Liquid).")
    timeout: Duration = Field(
        default="PT10S", description="How long one try may take (at most PT60S)."
    )
    retries: int = Field(
        default=2,
        description="Retries on connection errors and 5xx, with backoff (0 to 5).",
    )
    assign: dict[VariableName, Expression] = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Flow variables from the answer: {variable: response.x}.",
    )


class AddToFlow(ElementBase):
    """Add the person to another flow, passing variables along."""

    type: Literal["add_to_flow"] = Field(description="Add the person to another flow.")
    flow: int | None = Field(default=None, description="The id of the flow to add them to.")
    variables: dict[VariableName, Expression] = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Variables of the other flow: {name: expression}.",
    )


class Notify(ElementBase):
    """Tell someone inside the business (a store manager, a sales rep)."""

    type: Literal["notify"] = Field(description="Notify an internal recipient.")
    channel: Literal["sms", "email"] | None = Field(default=None, description="sms or email.")
    to: Expression | None = Field(
        default=None, description="An expression giving the phone number or address."
    )
    from_: str | None = Field(default=None, alias="from", max_length=320, description="The sender.")
    text: Template | None = Field(default=None, description="The SMS text (Liquid).")
    subject: Template | None = Field(default=None, description="The email subject (Liquid).")
    html: Template | None = Field(default=None, description="The email body (Liquid).")


class CatalogLookup(ElementBase):
    """Find one catalog item by key and copy its columns into flow variables."""

    OUTCOMES: ClassVar[tuple[str, ...]] = ("found", "notFound")

    type: Literal["catalog_lookup"] = Field(description="Look an item up in a catalog.")
    catalog: str | None = Field(default=None, max_length=MAX_NAME, description="Catalog name.")
    key: Expression | None = Field(default=None, description="An expression giving the key.")
    assign: dict[VariableName, Expression] = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Flow variables from the item: {variable: item.column}.",
    )
