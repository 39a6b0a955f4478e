"""Person profiles: the standard attributes, contacts and custom attributes, checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from tidings.domain.errors import ProblemList
from tidings.domain.values import ValueType, coerce

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
MAX_CONTACTS = 20
MAX_TAGS = 100


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
    if name == "preferredLanguage" and not _LANGUAGE.match(value):
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
        path = f"{prefix}attributes.{name}"
        kind = attribute_types.get(name)
        if kind is None:
            problems.add(path, f"unknown attribute {name!r}: declare it first at /attributes")
            continue
        try:
            attributes[name] = coerce(value, kind)
        except ValueError as exc:
            problems.add(path, str(exc))

    phones = _contacts(data, "phones", normalize_phone, problems, prefix)
    emails = _contacts(data, "emails", normalize_email, problems, prefix)
    tags = _names(data, "tags", problems, prefix)
    companies = _names(data, "companies", problems, prefix)
    return PersonChanges(standard, attributes, phones, emails, tags, companies)


def _contacts(
    data: Mapping[str, Any], key: str, normalize: Any, problems: ProblemList, prefix: str
) -> list[str] | None:
    raw = data.get(key)
    if raw is None:
        return None
    if len(raw) > MAX_CONTACTS:
        problems.add(prefix + key, f"at most {MAX_CONTACTS} {key} per person")
        return None
    out: list[str] = []
    for i, item in enumerate(raw):
        try:
            value = normalize(item)
        except ValueError as exc:
            problems.add(f"{prefix}{key}.{i}", str(exc))
            continue
        if value not in out:
            out.append(value)
    return out


def _names(
    data: Mapping[str, Any], key: str, problems: ProblemList, prefix: str
) -> list[str] | None:
    raw = data.get(key)
    if raw is None:
        return None
    if len(raw) > MAX_TAGS:
        problems.add(prefix + key, f"at most {MAX_TAGS} {key} per person")
        return None
    out: list[str] = []
    for i, item in enumerate(raw):
        name = item.strip()
        if not name or len(name) > 255:
            problems.add(f"{prefix}{key}.{i}", "must be a name of 1 to 255 characters")
            continue
        if name not in out:
            out.append(name)
    return out


def check_attribute_name(name: str) -> None:
    if not _ATTRIBUTE_NAME.match(name):
        raise ValueError("must start with a letter or _ and hold only letters, digits and _")
    if name in STANDARD_ATTRIBUTES:
        raise ValueError(f"{name!r} is a standard attribute")
