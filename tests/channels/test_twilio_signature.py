"""X-Twilio-Signature: Twilio's documented example and twilio-python's RequestValidator cases,
and the callbacks the provider refuses (forged, missing, tampered, malformed)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tidings.channels.answering import AnsweringApi
from tidings.channels.providers import Callback, CallbackRefused
from tidings.channels.twilio import (
    TwilioProvider,
    TwilioSettings,
    signature,
    valid_signature,
)

# Twilio's documented example (Security: validating requests; twilio-python's tests).
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_documented_example_signs_as_twilio_documents() -> None:
    assert signature(TOKEN, URL, PARAMS) == EXPECTED
    assert valid_signature(TOKEN, URL, PARAMS, EXPECTED)


def test_a_repeated_parameter_is_signed_once_per_distinct_value_in_order() -> None:
    pairs = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert signature(TOKEN, URL, pairs) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_ports_are_tried_with_and_without_as_the_helper_library_does() -> None:
    # Signed without the port, received on :1234.
    assert valid_signature(TOKEN, URL.replace(".com", ".com:1234"), PARAMS, EXPECTED)
    http_1234 = URL.replace(".com", ".com:1234").replace("https", "http")
    assert valid_signature(TOKEN, http_1234, PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=")
    # Signed with the default port, received without it.
    assert valid_signature(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")
    http = URL.replace("https", "http")
    assert valid_signature(TOKEN, http, PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4=")


def test_a_json_body_is_checked_by_its_bodysha256() -> None:
    body = '{"property": "value", "boolean": true}'
    digest = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = f"{URL}&bodySHA256={digest}"
    assert valid_signature(TOKEN, url, body, "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not valid_signature(TOKEN, url, body + " ", "a9nBmqA0ju/hNViExpshrM61xv4=")


def test_anything_changed_breaks_the_signature() -> None:
    assert not valid_signature("54321", URL, PARAMS, EXPECTED)
    assert not valid_signature(TOKEN, URL.replace("foo=1", "foo=2"), PARAMS, EXPECTED)
    assert not valid_signature(TOKEN, URL, {**PARAMS, "Digits": "4321"}, EXPECTED)
    assert not valid_signature(TOKEN, URL, {**PARAMS, "Extra": ""}, EXPECTED)
    assert not valid_signature(TOKEN, URL, PARAMS, "")
    assert not valid_signature(TOKEN, "https://mycompany.com:port/x", PARAMS, EXPECTED)


# --- the provider's callbacks, without a network: the callback is what the webhook hands over

SID = "AC" + "a1" * 16
AUTH = "b2" * 16
DELIVERY = "https://tidings.example/api/v1/webhooks/tok/delivery"
INBOUND = "https://tidings.example/api/v1/webhooks/tok/inbound"


def provider() -> TwilioProvider:
    settings = TwilioSettings.model_validate({"accountSid": SID, "authToken": AUTH})
    return TwilioProvider(settings, AnsweringApi(), allow_private=False)


def signed(
    url: str, form: dict[str, str], *, token: str = AUTH, sig: str | None = None
) -> Callback:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    headers["x-twilio-signature"] = sig if sig is not None else signature(token, url, form)
    query = dict(p.split("=", 1) for p in url.partition("?")[2].split("&") if p)
    return Callback(url, headers, urlencode(form).encode(), query)


def status(value: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": SID,
        "MessageSid": "SM" + "c3" * 16,
        "MessageStatus": value,
        "SmsStatus": value,
        "From": "+15005550006",
        "To": "+385911234567",
        "ApiVersion": "2010-04-01",
        **extra,
    }


@pytest.mark.parametrize(
    ("twilio", "ours"),
    [
        ("queued", "pending"),
        ("sending", "pending"),
        ("sent", "pending"),
        ("delivered", "delivered"),
        ("read", "seen"),
        ("undelivered", "failed"),
        ("failed", "failed"),
    ],
)
def test_statuses_map_to_reports_keyed_by_our_id(twilio: str, ours: str) -> None:
    url = f"{DELIVERY}?m=out-42"
    (report,) = provider().delivery_reports(signed(url, status(twilio)))
    assert (report.message_id, report.status) == ("out-42", ours)


def test_an_undelivered_report_names_twilios_error() -> None:
    url = f"{DELIVERY}?m=out-42"
    (report,) = provider().delivery_reports(signed(url, status("undelivered", ErrorCode="30003")))
    assert report.reason == "undelivered: Twilio error 30003: Unreachable destination handset"


def test_the_query_is_part_of_what_is_signed() -> None:
    callback = signed(f"{DELIVERY}?m=out-42", status("delivered"))
    moved = Callback(f"{DELIVERY}?m=out-43", callback.headers, callback.body, {"m": "out-43"})
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(moved)
    assert (refused.value.field, refused.value.status) == ("X-Twilio-Signature", 403)


@pytest.mark.parametrize(
    "callback",
    [
        signed(f"{DELIVERY}?m=1", status("delivered"), sig=""),  # missing
        signed(f"{DELIVERY}?m=1", status("delivered"), token="not-the-token"),  # forged
        signed(f"{DELIVERY}?m=1", status("delivered"), sig=EXPECTED),  # someone else's
    ],
    ids=["missing", "forged", "foreign"],
)
def test_an_unsigned_or_forged_report_is_refused(callback: Callback) -> None:
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(callback)
    assert refused.value.status == 403


def test_a_tampered_body_is_refused() -> None:
    callback = signed(f"{DELIVERY}?m=1", status("undelivered"))
    body = callback.body.replace(b"undelivered", b"delivered")
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(Callback(callback.url, callback.headers, body, callback.query))
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("form", "url", "field"),
    [
        (
            {k: v for k, v in status("sent").items() if k != "MessageStatus"},
            "?m=1",
            "MessageStatus",
        ),
        ({k: v for k, v in status("sent").items() if k != "MessageSid"}, "?m=1", "MessageSid"),
        (status("delivered"), "", "m"),
        (status("received"), "?m=1", "MessageStatus"),
        (status("teleported"), "?m=1", "MessageStatus"),
    ],
    ids=["no-status", "no-sid", "no-id", "inbound-status", "unknown-status"],
)
def test_a_signed_but_malformed_report_is_refused_naming_the_field(
    form: dict[str, str], url: str, field: str
) -> None:
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(signed(DELIVERY + url, form))
    assert (refused.value.field, refused.value.status) == (field, 400)


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", b"MessageStatus", b"a=1&&b"],
    ids=["not-utf8", "no-equals", "empty-pair"],
)
def test_a_body_that_is_not_form_data_is_refused(body: bytes) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x"}
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(Callback(f"{DELIVERY}?m=1", headers, body, {"m": "1"}))
    assert (refused.value.field, refused.value.status) == ("body", 400)


def test_a_json_report_is_refused() -> None:
    headers = {"content-type": "application/json", "x-twilio-signature": "x"}
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(Callback(f"{DELIVERY}?m=1", headers, b"{}", {"m": "1"}))
    assert refused.value.field == "content-type"


def test_an_inbound_sms_and_whatsapp_message_are_read() -> None:
    sms = {"MessageSid": "SM1", "From": "+385911234567", "To": "+15005550006", "Body": "STOP now"}
    (inbound,) = provider().inbound_messages(signed(INBOUND, sms))
    assert (inbound.channel, inbound.sender, inbound.to, inbound.text, inbound.provider_id) == (
        "sms",
        "+385911234567",
        "+15005550006",
        "STOP now",
        "SM1",
    )
    whatsapp = {**sms, "From": "whatsapp:+385911234567", "To": "whatsapp:+15005550006"}
    (inbound,) = provider().inbound_messages(signed(INBOUND, whatsapp))
    assert (inbound.channel, inbound.sender, inbound.to) == (
        "whatsapp",
        "+385911234567",
        "+15005550006",
    )


def test_an_inbound_message_must_be_signed_and_whole() -> None:
    sms = {"MessageSid": "SM1", "From": "+385911234567", "To": "+15005550006", "Body": "hi"}
    with pytest.raises(CallbackRefused) as refused:
        provider().inbound_messages(signed(INBOUND, sms, token="guess"))
    assert refused.value.status == 403
    with pytest.raises(CallbackRefused) as refused:
        provider().inbound_messages(signed(INBOUND, {k: v for k, v in sms.items() if k != "From"}))
    assert (refused.value.field, refused.value.status) == ("From", 400)


def test_settings_take_camel_case_and_keep_the_token_secret() -> None:
    settings = TwilioSettings.model_validate(
        {"accountSid": SID, "authToken": AUTH, "baseUrl": "http://127.0.0.1:9/"}
    )
    assert settings.base_url == "http://127.0.0.1:9"
    assert AUTH not in repr(settings)
    assert settings.model_dump(by_alias=True)["authToken"] != AUTH
    with pytest.raises(ValueError):
        TwilioSettings.model_validate({"accountSid": "AC123", "authToken": AUTH})
    with pytest.raises(ValueError):
        TwilioSettings.model_validate({"accountSid": SID, "authToken": AUTH, "baseUrl": "ftp://x"})
