"""The web app's built files at `/`; any other page path answers index.html (client routing).

The build (`make web`: `npm ci && npm run build` in web/) writes into `tidings/web_dist/`,
beside this package, so an installed checkout finds it with no setting. Paths of the API and
of the server's own endpoints are never answered with the app: a wrong `/api/...` path stays
a JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from tidings.api.errors import envelope

DIST = Path(__file__).resolve().parent.parent / "web_dist"
# Prefixes the app never answers: the API and the server's own endpoints at the root.
RESERVED = ("api", "metrics", "health", "t", "unsubscribe", "webhooks")

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidings</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>Tidings</h1>
<p>The API runs at <a href="/api/v1/docs">/api/v1</a>, but the web app is not built.</p>
<p>Build it with <code>make web</code> (it runs <code>npm ci</code> and
<code>npm run build</code> in <code>web/</code>), or start the server with
<code>make run</code>, which builds it when it is missing or older than its sources.</p>
</body></html>
"""


def install(app: FastAPI, dist: Path = DIST) -> None:
    """Serve `dist` for the paths no route of `app` matches.

    It is the router's default (what runs when no route matches at all), not a catch-all
    route: a wrong method on an API path stays a 405, a POST anywhere else a JSON 404.
    """
    root = dist.resolve()
    fallback = app.router.default

    async def web_app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].lstrip("/")
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await fallback(scope, receive, send)
            return
        if path.split("/", 1)[0] in RESERVED:
            await envelope(404, "not_found", "Not Found")(scope, receive, send)
            return
        await answer(root, path)(scope, receive, send)

    app.router.default = web_app


def answer(root: Path, path: str) -> Response:
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT)
    if path:
        wanted = (root / path).resolve()
        if wanted.is_relative_to(root) and wanted.is_file():
            # Vite names assets by their content hash: they never change.
            immutable = wanted.parent == root / "assets"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(wanted, headers={"Cache-Control": cache})
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            # A missing file is a 404, not the app (a stale tab asking for an old bundle).
            return envelope(404, "not_found", "Not Found")
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
