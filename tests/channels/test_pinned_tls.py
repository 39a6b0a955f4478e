"""HTTPS through the pinned transport: dialled at the checked address, verified by name.

The certificate is made by the `openssl` command for `api.partner.test`; the server is a
loopback server with TLS. SNI and certificate checks must use the URL's name although the
connection goes to 127.0.0.1, and a certificate for another name must fail.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channels.loopback import Loopback
from tests.channels.test_call_api import Names, get
from tidings.channels.call_api import CallApi

pytestmark = pytest.mark.anyio

NAME = "api.partner.test"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[Loopback]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    loopback = Loopback(tls=context)
    loopback.start()
    yield loopback
    loopback.stop()


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def test_https_uses_the_name_for_sni_and_the_certificate(
    tls_server: Loopback, certificate: tuple[Path, Path]
) -> None:
    names = Names({NAME: ["127.0.0.1"]})
    async with CallApi(
        ssl_context=trusting(certificate), resolver=names, allow_private=True
    ) as api:
        result = await api.call(get(tls_server.url("/json", NAME, "https")))

    assert result.outcome == "success", result.error
    assert result.data["orderId"] == "o-1"
    assert tls_server.sni == [NAME]


async def test_a_certificate_for_another_name_fails_without_sending(
    tls_server: Loopback, certificate: tuple[Path, Path]
) -> None:
    names = Names({"other.partner.test": ["127.0.0.1"]})
    async with CallApi(
        ssl_context=trusting(certificate), resolver=names, allow_private=True
    ) as api:
        result = await api.call(get(tls_server.url("/json", "other.partner.test", "https")))

    assert (result.outcome, result.attempts) == ("failure", 1)  # a retry would not help
    assert result.error is not None
    assert result.error.startswith("could not connect to other.partner.test: certificate not")
    assert tls_server.requests == []
