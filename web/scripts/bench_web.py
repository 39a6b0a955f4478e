"""`make bench-web`: the web app's figures in headless Chromium, printed as JSON.

- JavaScript the app loads, gzipped (target <= 400 KB);
- All communications with 1,000 flows: navigation start to the first page of rows (< 1 s);
- a flow of 200 elements: navigation start to every node drawn (< 1.5 s);
- panning that canvas: requestAnimationFrame intervals while the mouse drags it (60 fps).
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from tidings.api.web import DIST
from tidings.bench.server import running_server

FLOWS = 1000
ELEMENTS = 200


def big_flow() -> dict[str, Any]:
    """A chain of SMS, waits and waits for events; each wait for event's timeout exits."""
    elements: list[dict[str, Any]] = []
    for i in range(ELEMENTS):
        nxt = f"e{i + 1}" if i + 1 < ELEMENTS else None
        kind = i % 3
        if kind == 0:
            el: dict[str, Any] = {"type": "send_sms", "from": "Shop", "text": f"Message {i}"}
            if nxt:
                el["next"] = nxt
        elif kind == 1:
            el = {"type": "wait", "duration": "PT1H"}
            if nxt:
                el["next"] = nxt
        else:
            el = {"type": "wait_for_event", "event": "Purchase", "timeout": "P1D"}
            if nxt:
                el["next"] = {"event": nxt}
        elements.append({"id": f"e{i}", "name": f"Step {i}", **el})
    return {"name": "Two hundred steps", "entry": {"type": "api"}, "elements": elements}


def js_gzipped() -> int:
    return sum(len(gzip.compress(p.read_bytes(), 9)) for p in (DIST / "assets").glob("*.js"))


PAN = """
async () => {
  const pane = document.querySelector('.react-flow__pane');
  const box = pane.getBoundingClientRect();
  const stamps = [];
  let running = true;
  const tick = (t) => { stamps.push(t); if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const fire = (type, x, y) => pane.dispatchEvent(new MouseEvent(type, {
    bubbles: true, clientX: x, clientY: y, buttons: 1, view: window }));
  let x = box.left + box.width / 2, y = box.top + box.height / 2;
  fire('mousedown', x, y);
  const start = performance.now();
  while (performance.now() - start < 2000) {
    await new Promise((r) => requestAnimationFrame(r));
    const phase = (performance.now() - start) / 2000 * Math.PI * 4;
    x += Math.cos(phase) * 12; y += Math.sin(phase) * 12 - 3;
    fire('mousemove', x, y);
  }
  fire('mouseup', x, y);
  running = false;
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
  return gaps;
}
"""


def main() -> None:
    if not (DIST / "index.html").is_file():
        sys.exit("the web app is not built: run `make web`")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with running_server(clock="virtual") as server:
        base = f"http://{server.host}:{server.port}"
        headers = {"Authorization": f"Bearer {server.key}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=60) as client:

            def create(i: int) -> None:
                body = {"name": f"Flow {i:04}", "entry": {"type": "api"}}
                client.post("/flows", json=body).raise_for_status()

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(create, range(FLOWS - 1)))
            big = client.post("/flows", json=big_flow())
            big.raise_for_status()
            big_id = big.json()["id"]

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base)
            context.add_init_script(f"localStorage.setItem('tidings.apiKey', '{server.key}')")
            page = context.new_page()
            lists, opens = [], []
            for _ in range(3):
                page.goto("/")
                page.wait_for_function(
                    "document.querySelectorAll('table[aria-label=Flows] tbody tr').length >= 20"
                )
                lists.append(page.evaluate("performance.now()"))
            for _ in range(3):
                # drawn: the nodes in view (a big flow draws only those) after the fit
                page.goto(f"/flows/{big_id}")
                page.wait_for_function(
                    "document.querySelectorAll('.react-flow__node').length >= 10"
                    " && document.querySelector('.react-flow__node')?.offsetWidth > 0"
                )
                opens.append(page.evaluate("performance.now()"))
            page.wait_for_timeout(300)
            gaps = page.evaluate(PAN)
            browser.close()

    gaps.sort()
    figures = {
        "jsGzippedKB": round(js_gzipped() / 1024, 1),
        "allCommunications1000FlowsMs": round(statistics.median(lists)),
        "flow200ElementsOpenMs": round(statistics.median(opens)),
        "pan": {
            "frames": len(gaps),
            "fps": round(1000 / statistics.mean(gaps), 1),
            "p95FrameMs": round(gaps[int(len(gaps) * 0.95)], 1),
        },
        "targets": {"jsGzippedKB": 400, "allCommunicationsMs": 1000, "flowOpenMs": 1500, "fps": 60},
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
