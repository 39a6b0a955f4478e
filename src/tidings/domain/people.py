"""Person profiles: the standard attributes, contacts and custom attributes, checked.

Also the small rules around them: tag and company names, company details, and how a
change is folded into a stored profile (`merge_attributes`, `combine`). Everything here
is pure; the store applies what these functions decide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from tidings.domain.errors import ProblemList
from tidings.domain.values import ValueType, check_json, check_text, coerce

# Standard attributes: API name -> store column. Custom attributes live in `attributes`.
STANDARD_ATTRIBUTES: dict[str, str] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "gender": "gender",
    "birthDate": "birth_date",
    "city": "city",
    "country": "country",
    "timezone": "timezone",
    "preferredLanguage": "preferred_language",
}
STANDARD_TYPES: dict[str, ValueType] = {
    name: ValueType.date if name == "birthDate" else ValueType.text for name in STANDARD_ATTRIBUTES
}
GENDERS = ("female", "male", "other")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_CONTACTS = 20
MAX_TAGS = 100
MAX_NAME = 255
MAX_LANGUAGE = 35
MAX_COMPANY_ATTRIBUTES = 100


def printable(key: str) -> str:
    """`key` as it can appear in an answer (and be stored with it): unpaired surrogates
    and NUL characters escaped."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def check_name(raw: str) -> str:
    """A tag or company name: trimmed, 1 to 255 characters."""
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"must be a name of 1 to {MAX_NAME} characters")
    return check_text(name)


def normalize_phone(raw: str) -> str:
    """A phone number in E.164 (`+385911234567`), or ValueError. Numbers need their `+cc`."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{raw!r} is not a phone number in international form (+385...)") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(raw: str) -> str:
    """An email address with its domain lower-cased, or ValueError. No DNS look-up."""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{raw!r} is not a valid email address: {exc}") from None
    return str(result.normalized)


def check_standard(name: str, value: Any) -> Any:
    """Check one standard attribute; return its stored form or raise ValueError."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a text" if name != "birthDate" else "must be a date")
    check_text(value)
    if name == "birthDate":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("must be a date such as 1990-04-30") from None
    if name == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Zagreb") from None
        return value
    if name == "country":
        upper = value.upper()
        if upper not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 country code such as HR")
        return upper
    if name == "gender":
        lower = value.lower()
        if lower not in GENDERS:
            raise ValueError(f"must be one of {', '.join(GENDERS)}")
        return lower
    if name == "preferredLanguage" and (len(value) > MAX_LANGUAGE or not _LANGUAGE.match(value)):
        raise ValueError(f"{value!r} is not a language tag such as en or pt-BR")
    if len(value) > 255:
        raise ValueError("must be at most 255 characters")
    return value


@dataclass(frozen=True)
class PersonChanges:
    """A checked set of changes to one person. `None` for a list means "leave as is"."""

    standard: dict[str, Any]
    attributes: dict[str, Any]
    phones: list[str] | None
    emails: list[str] | None
    tags: list[str] | None
    companies: list[str] | None
    unsubscribed: list[str] | None = None  # the channels the person opted out of


CONSENT_CHANNELS = ("sms", "email", "whatsapp", "viber", "voice")


def check_person(
    data: Mapping[str, Any],
    attribute_types: Mapping[str, ValueType],
    problems: ProblemList,
    prefix: str = "",
) -> PersonChanges:
    """Check a person's fields (already shaped by the API schema) against the account's
    attribute definitions. Problems go to `problems`; the result is only valid without any.
    """
    standard: dict[str, Any] = {}
    for name in STANDARD_ATTRIBUTES:
        if name in data:
            try:
                standard[name] = check_standard(name, data[name])
            except ValueError as exc:
                problems.add(prefix + name, str(exc))

    attributes: dict[str, Any] = {}
    for name, value in (data.get("attributes") or {}).items():
        path = f"{prefix}attributes.{printable(name)}"
        kind = attribute_types.get(name)
        if kind is None:
            problems.add(path, f"unknown attribute {name!r}: declare it first at /attributes")
            continue
        try:
            attributes[name] = coerce(value, kind)
            check_json(attributes[name])
        except ValueError as exc:
            problems.add(path, str(exc))

    phones = _contacts(data, "phones", normalize_phone, problems, prefix)
    emails = _contacts(data, "emails", normalize_email, problems, prefix)
    tags = _names(data, "tags", problems, prefix)
    companies = _names(data, "companies", problems, prefix)
    unsubscribed = None
    if "unsubscribed" in data:
        unsubscribed = []
        for i, channel in enumerate(data["unsubscribed"] or []):
            if channel not in CONSENT_CHANNELS:
                problems.add(
                    f"{prefix}unsubscribed.{i}",
                    f"{channel!r} is not a channel; one of {', '.join(CONSENT_CHANNELS)}",
                )
            elif channel not in unsubscribed:
                unsubscribed.append(channel)
    return PersonChanges(standard, attributes, phones, emails, tags, companies, unsubscribed)


def _contacts(
    data: Mapping[str, Any], key: str, normalize: Any, problems: ProblemList, prefix: str
) -> list[str] | None:
    if key not in data:
        return None
    raw = data[key] or []  # an explicit null clears the list
    if len(raw) > MAX_CONTACTS:
        problems.add(prefix + key, f"at most {MAX_CONTACTS} {key} per person")
        return None
    out: list[str] = []
    for i, item in enumerate(raw):
        try:
            value = normalize(check_text(item))
        except ValueError as exc:
            problems.add(f"{prefix}{key}.{i}", str(exc))
            continue
        if value not in out:
            out.append(value)
    return out


def _names(
    data: Mapping[str, Any], key: str, problems: ProblemList, prefix: str
) -> list[str] | None:
    if key not in data:
        return None
    raw = data[key] or []  # an explicit null clears the list
    if len(raw) > MAX_TAGS:
        problems.add(prefix + key, f"at most {MAX_TAGS} {key} per person")
        return None
    out: list[str] = []
    for i, item in enumerate(raw):
        try:
            name = check_name(item)
        except ValueError as exc:
            problems.add(f"{prefix}{key}.{i}", str(exc))
            continue
        if name not in out:
            out.append(name)
    return out


def check_attribute_name(name: str) -> None:
    if not _ATTRIBUTE_NAME.match(name):
        raise ValueError("must start with a letter or _ and hold only letters, digits and _")
    if name in STANDARD_ATTRIBUTES:
        raise ValueError(f"{name!r} is a standard attribute")
    if name in ("id", "externalId"):
        raise ValueError(f"{name!r} is the person's own id (person.{name})")


def merge_attributes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Custom attributes after a change: key by key, and a `None` value removes the key."""
    merged = dict(current)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def combine(earlier: PersonChanges, later: PersonChanges) -> PersonChanges:
    """Two changes to one person as one, as if `earlier` were applied and then `later`:
    the later wins field by field, attributes merge key by key, given lists replace."""
    attributes = dict(earlier.attributes)
    attributes.update(later.attributes)  # a later None still removes the key when applied
    return replace(
        earlier,
        standard={**earlier.standard, **later.standard},
        attributes=attributes,
        phones=earlier.phones if later.phones is None else later.phones,
        emails=earlier.emails if later.emails is None else later.emails,
        tags=earlier.tags if later.tags is None else later.tags,
        companies=earlier.companies if later.companies is None else later.companies,
        unsubscribed=earlier.unsubscribed if later.unsubscribed is None else later.unsubscribed,
    )


@dataclass(frozen=True)
class CompanyChanges:
    """A checked change to a company; `domain` is only changed when `domain_given`."""

    name: str | None
    domain: str | None
    domain_given: bool
    attributes: dict[str, Any]


def check_company(data: Mapping[str, Any], problems: ProblemList) -> CompanyChanges:
    """Check a company's fields (already shaped by the API schema). Company attributes are
    free-form JSON values, keyed like custom attributes; a `None` value removes the key."""
    name = None
    if data.get("name") is not None:
        try:
            name = check_name(data["name"])
        except ValueError as exc:
            problems.add("name", str(exc))
    domain = None
    if data.get("domain") is not None:
        try:
            domain = check_domain(data["domain"])
        except ValueError as exc:
            problems.add("domain", str(exc))
    attributes: dict[str, Any] = {}
    raw = data.get("attributes") or {}
    if len(raw) > MAX_COMPANY_ATTRIBUTES:
        problems.add("attributes", f"at most {MAX_COMPANY_ATTRIBUTES} attributes")
        raw = {}
    for key, value in raw.items():
        try:
            if not _ATTRIBUTE_NAME.match(key):
                raise ValueError(
                    "names start with a letter or _ and hold only letters, digits and _"
                )
            check_json(value)
        except ValueError as exc:
            problems.add(f"attributes.{printable(key)}", str(exc))
            continue
        attributes[key] = value
    return CompanyChanges(name, domain, "domain" in data, attributes)


def check_domain(raw: str) -> str:
    """A company's web domain, lower-cased (`example.com`); no scheme, path or port."""
    value = check_text(raw).strip().lower()
    if not _DOMAIN.match(value):
        raise ValueError(f"{raw!r} is not a domain name such as example.com")
    return value
