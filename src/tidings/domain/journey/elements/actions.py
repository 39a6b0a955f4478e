"""Elements that act on data: the profile, flow variables, outside APIs, other flows,
internal notifications, and catalog lookups.

`update_profile` emits the change and applies it to the person the rest of this step
sees, so a later condition reads the new value at once. `call_api` emits the request
and holds the person until the shell reports `ResultArrived` (`success` or `failure`,
the response as `data`: `response.x` in `assign`, which applies on success only). The
shell adds the `Idempotency-Key` header and does the retries. `catalog_lookup` works the
same way with `LookupCatalog`: `found` (the item as `data`, `item.x`) or `notFound`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from tidings.domain.catalogs import KEY_COLUMN, item_key, with_key
from tidings.domain.flows import actions as flows
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements.base import Handler, builds, duration
from tidings.domain.journey.elements.calls import RESULT_GRACE
from tidings.domain.journey.elements.content import Content, EmailContent, SmsContent
from tidings.domain.journey.run import Go, Hold, Move, Run
from tidings.domain.journey.types import (
    AddToFlow,
    CallApi,
    LookupCatalog,
    Notify,
    ResultArrived,
    UpdateProfile,
)
from tidings.domain.people import merge_attributes, normalize_email, normalize_phone
from tidings.domain.templates import RenderError
from tidings.domain.values import ValueType

DEFAULT_API_TIMEOUT: Final = timedelta(seconds=10)
LOOKUP_GRACE: Final = timedelta(minutes=5)
MAX_RETRIES: Final = 5
# add_to_flow: at most this many flows in a row may add a person on to the next, each
# within CHAIN_WINDOW of entering; a loop of flows adding each other stops there.
MAX_HOPS: Final = 10
CHAIN_WINDOW: Final = timedelta(hours=1)


@builds(flows.UpdateProfile)
class ProfileHandler(Handler):
    """Set attributes, add and remove tags."""

    def __init__(self, element: flows.UpdateProfile, compiler: Compiler) -> None:
        super().__init__(element)
        scope = compiler.scope()
        attributes = compiler.context.attributes
        self.set = tuple(
            (name, expression)
            for name, source in element.set.items()
            if (
                expression := compiler.expression(
                    source, f"{element.id}.set.{name}", scope=scope, expect=attributes.get(name)
                )
            )
            is not None
        )
        self.add_tags = tuple(element.add_tags)
        self.remove_tags = tuple(element.remove_tags)

    def enter(self, run: Run) -> Move:
        ctx = run.context()
        values = {name: expression.evaluate(ctx) for name, expression in self.set}
        run.emit(UpdateProfile(values, self.add_tags, self.remove_tags))
        person = run.person
        zone = values.get("timezone", person.timezone)
        run.change_person(
            person._replace(
                attributes=merge_attributes(person.attributes, values),
                tags=(person.tags | frozenset(self.add_tags)) - frozenset(self.remove_tags),
                timezone=zone if isinstance(zone, str) else None,
            )
        )
        return Go()


@builds(flows.UpdateVariable)
class VariableHandler(Handler):
    """Set flow variables; every value is computed before any is set."""

    def __init__(self, element: flows.UpdateVariable, compiler: Compiler) -> None:
        super().__init__(element)
        self.set = compiler.assignments(element.set, f"{element.id}.set")

    def enter(self, run: Run) -> Move:
        run.assign(self.set, self.id)
        return Go()


@builds(flows.CallApi)
class ApiHandler(Handler):
    """Call an HTTP API and wait for the answer."""

    def __init__(self, element: flows.CallApi, compiler: Compiler) -> None:
        super().__init__(element)
        e = element.id
        self.method = element.method
        self.url = compiler.template(element.url, f"{e}.url")
        self.headers = tuple(
            (name, compiler.template(value, f"{e}.headers.{name}"))
            for name, value in element.headers.items()
        )
        self.body = compiler.template(element.body, f"{e}.body")
        self.timeout = duration(compiler, element.timeout, f"{e}.timeout") or DEFAULT_API_TIMEOUT
        self.retries = min(max(element.retries, 0), MAX_RETRIES)
        self.assign = compiler.assignments(
            element.assign, f"{e}.assign", scope=compiler.scope(response=True)
        )

    def enter(self, run: Run) -> Move:
        if self.url is None:
            run.trace(self.id, "skipped", "no url")
            return Go("failure")
        data = run.template_data()
        try:
            url = self.url.render(data).strip()
            headers = {name: _rendered(value, data) for name, value in self.headers}
            body = self.body.render(data) if self.body is not None else None
        except RenderError as exc:
            run.trace(self.id, "skipped", exc.message)
            return Go("failure")
        run.emit(
            CallApi(
                self.id, self.method, url, headers, body, self.timeout.total_seconds(), self.retries
            )
        )
        # The guide counts a Call API as a message sent: once per call, whatever its retries.
        run.count("messagesSent", None)
        run.count("messagesSent", self.id)
        # The shell always answers; the timer only guards against a lost answer.
        return Hold(wake_at=run.now + self.timeout * (self.retries + 1) + RESULT_GRACE)

    def on_timer(self, run: Run) -> Move:
        run.trace(self.id, "outcome", "failure: no answer came back")
        return Go("failure")

    def on_result(self, run: Run, result: ResultArrived) -> Move | None:
        if result.outcome == "success":
            run.assign(self.assign, self.id, response=result.data)
            run.trace(self.id, "outcome", "success")
            return Go("success")
        if result.outcome == "failure":
            status = result.data.get("status")
            run.trace(self.id, "outcome", "failure" + (f": {status}" if status else ""))
            return Go("failure")
        return None


def _rendered(template: Any, data: dict[str, Any]) -> str:
    return template.render(data) if template is not None else ""


@builds(flows.AddToFlow)
class AddToFlowHandler(Handler):
    """Add the person to another flow with variables; the person goes on here at once.

    The shell enters them into the target's active version, where its frequency cap
    applies. `hops` counts the add_to_flow steps in a row: it grows when this flow adds
    the person on within CHAIN_WINDOW of their entry and starts again at 1 after a longer
    stay. Beyond MAX_HOPS (flows adding each other in a loop, with no real wait between)
    the person is not added: the element counts `refused.loop` and traces why."""

    def __init__(self, element: flows.AddToFlow, compiler: Compiler) -> None:
        super().__init__(element)
        self.flow = element.flow
        scope = compiler.scope()
        self.variables = tuple(
            (name, expression)
            for name, source in element.variables.items()
            if (
                expression := compiler.expression(
                    source, f"{element.id}.variables.{name}", scope=scope
                )
            )
            is not None
        )

    def enter(self, run: Run) -> Move:
        if self.flow is None:
            run.trace(self.id, "skipped", "no flow to add to")
            return Go()
        ctx = run.context()
        values = {name: expression.evaluate(ctx) for name, expression in self.variables}
        hops = run.hops + 1 if run.now - run.state.entered_at < CHAIN_WINDOW else 1
        if hops > MAX_HOPS:
            run.count("refused.loop", self.id)
            run.trace(self.id, "skipped", f"added on {MAX_HOPS} times in a row: a loop of flows?")
            return Go()
        run.emit(AddToFlow(self.id, self.flow, values, hops))
        return Go()


@builds(flows.Notify)
class NotifyHandler(Handler):
    """Tell someone in the business, by SMS or email, at an address from an expression
    (`person.storeManagerPhone`, `"sales@shop.example"`). The address must be a phone
    number in international form (SMS) or an email address, else the notification is
    skipped with a trace. It is a message to the business, not to the person: it counts
    as sent on this element only, and no message events come back to the person."""

    def __init__(self, element: flows.Notify, compiler: Compiler) -> None:
        super().__init__(element)
        e = element.id
        self.to = compiler.expression(element.to, f"{e}.to", expect=ValueType.text)
        self.content: Content | None = None
        if element.channel == "sms":
            self.content = SmsContent(element.from_, compiler.template(element.text, f"{e}.text"))
        elif element.channel == "email":
            self.content = EmailContent(
                element.from_,
                compiler.template(element.subject, f"{e}.subject"),
                compiler.template(element.html, f"{e}.html"),
            )

    def enter(self, run: Run) -> Move:
        content = self.content
        to = run.evaluate(self.to) if self.to is not None else None
        if content is None:
            run.trace(self.id, "skipped", "no channel")
            return Go()
        if not isinstance(to, str) or not to.strip():
            run.trace(self.id, "skipped", "no recipient")
            return Go()
        try:
            address = (normalize_phone if content.contact == "phone" else normalize_email)(to)
        except ValueError as exc:
            run.trace(self.id, "skipped", f"to: {exc}")
            return Go()
        try:
            body, parts = content.render(run.template_data())
        except RenderError as exc:
            run.trace(self.id, "skipped", exc.message)
            return Go()
        run.emit(Notify(self.id, content.channel, address, content.sender, body, parts))
        run.count("messagesSent", self.id, parts)
        return Go()


@builds(flows.CatalogLookup)
class CatalogHandler(Handler):
    """Look an item up by key and copy its columns into variables (`item.x` in assign).

    The key expression's value becomes the key text (a whole number as its digits); a
    null or empty key takes `notFound` at once. Otherwise the shell reads the item and
    answers `found` (the item as `data`) or `notFound`; `assign` applies on found only."""

    def __init__(self, element: flows.CatalogLookup, compiler: Compiler) -> None:
        super().__init__(element)
        e = element.id
        self.catalog = element.catalog
        self.key = compiler.expression(element.key, f"{e}.key")
        columns = compiler.context.catalogs.get(element.catalog or "", {})
        self.assign = compiler.assignments(
            element.assign, f"{e}.assign", scope=compiler.scope(item=with_key(columns))
        )

    def enter(self, run: Run) -> Move:
        if self.catalog is None or self.key is None:
            run.trace(self.id, "skipped", "no catalog or key")
            return Go("notFound")
        key = item_key(run.evaluate(self.key))
        if key is None:
            run.trace(self.id, "outcome", "notFound: the key is empty")
            return Go("notFound")
        return self._ask(run, self.catalog, key, asked=1)

    def _ask(self, run: Run, catalog: str, key: str, *, asked: int) -> Move:
        run.emit(LookupCatalog(self.id, catalog, key))
        # The shell answers in its next batch; the timer only guards against a lost answer
        # (a result that came while the flow was paused), when the lookup is asked again.
        local = {"catalog": catalog, "key": key, "asked": asked}
        return Hold(wake_at=run.now + LOOKUP_GRACE, local=local)

    def on_timer(self, run: Run) -> Move:
        local = run.state.local
        catalog, key, asked = local.get("catalog"), local.get("key"), local.get("asked")
        if isinstance(catalog, str) and isinstance(key, str) and asked == 1:
            run.trace(self.id, "asked again", "no answer came back")
            return self._ask(run, catalog, key, asked=2)
        run.trace(self.id, "outcome", "notFound: no answer came back")
        return Go("notFound")

    def on_result(self, run: Run, result: ResultArrived) -> Move | None:
        if result.outcome == "found":
            run.assign(self.assign, self.id, item=result.data)
            run.trace(self.id, "outcome", f"found {result.data.get(KEY_COLUMN)!r}")
            return Go("found")
        if result.outcome == "notFound":
            run.trace(self.id, "outcome", "notFound")
            return Go("notFound")
        return None
