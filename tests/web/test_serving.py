"""`tidings serve` answers the web app at `/` and every page path; the API keeps its 404s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tidings.api import web
from tidings.api.app import create_app
from tidings.bootstrap import Tidings

INDEX = '<!doctype html><html><body><div id="root"></div></body></html>'


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


def client_for(system: Tidings, dist: Path) -> Iterator[TestClient]:
    app = create_app(system.app.state.ctx)
    web.install(app, dist=dist)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def site(system: Tidings, built: Path) -> Iterator[TestClient]:
    yield from client_for(system, built)


@pytest.fixture
def unbuilt(system: Tidings, tmp_path: Path) -> Iterator[TestClient]:
    yield from client_for(system, tmp_path / "missing")


def test_the_root_answers_the_built_app(site: TestClient) -> None:
    r = site.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text == INDEX


@pytest.mark.parametrize("path", ["/flows/12", "/flows", "/sandbox/messages", "/sign-in"])
def test_a_page_path_answers_index_html_for_client_routing(site: TestClient, path: str) -> None:
    r = site.get(path)
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["cache-control"] == "no-cache"


def test_assets_are_served_and_cached_for_good(site: TestClient) -> None:
    r = site.get("/assets/index-abc123.js")
    assert r.status_code == 200
    assert r.text == "console.log('app')"
    assert "immutable" in r.headers["cache-control"]
    assert site.get("/favicon.svg").text == "<svg/>"


def test_a_missing_asset_is_a_404_not_the_app(site: TestClient) -> None:
    r = site.get("/assets/index-old.js")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_no_path_leaves_the_build_folder(site: TestClient) -> None:
    r = site.get("/assets/..%2f..%2fpyproject.toml")
    assert r.status_code == 404
    assert "tidings" not in r.text


def test_api_paths_keep_their_json_answers(site: TestClient) -> None:
    r = site.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = site.post("/api/v1/no-such-thing", json={})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_the_api_still_answers_through_the_same_app(site: TestClient) -> None:
    assert site.get("/api/v1/health").status_code == 200
    r = site.get("/api/v1/flows", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 200
    assert "items" in r.json()
    # a wrong method on a real API path is still a 405, not the app
    assert site.put("/api/v1/health").status_code == 405


def test_without_a_build_the_root_says_how_to_build(unbuilt: TestClient) -> None:
    r = unbuilt.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "make web" in r.text
    assert "not built" in r.text
    assert unbuilt.get("/flows/3").text == r.text
