"""What a chapter's page looks like at 1,280 x 900 px, measured in a real browser.

    .venv/bin/python tools/page_budget.py        # after a site build: one row per chapter

The page-level half of the guide's budget (the notebook-level half is tools/chapter_budget.py):
no code or output block that needs a sideways scroll, no display equation cut at the column's
edge, no figure shrunk below 70 % of the width it was drawn at (its labels would fall under
about 10 px), and at most 30 screens of 900 px. Only what a reader sees counts: blocks inside a
closed dropdown or a folded cell are left out. tests/test_site.py asserts the same numbers.
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 900}
BUDGET = {"sideways blocks": 0, "cut equations": 0, "shrunk figures": 0, "screens": 30}

MEASURE = """() => {
  const shown = el => el.offsetParent !== null && el.getClientRects().length > 0
      && !el.closest('details:not([open])');  // folded cells and closed dropdowns
  const main = document.querySelector('main') || document.body;
  const blocks = [...main.querySelectorAll('pre')].filter(shown)
      .filter(el => el.scrollWidth > el.clientWidth + 1);
  const equations = [...main.querySelectorAll('mjx-container[display="true"]')].filter(shown)
      .filter(el => el.scrollWidth > el.clientWidth + 1
                 || el.getBoundingClientRect().right > main.getBoundingClientRect().right + 1);
  const figures = [...main.querySelectorAll('img')].filter(shown)
      .filter(img => img.naturalWidth > 0
                  && img.getBoundingClientRect().width < 0.7 * img.naturalWidth);
  return {
    "sideways blocks": blocks.length,
    "cut equations": equations.length,
    "shrunk figures": figures.length,
    "screens": Math.round(10 * document.documentElement.scrollHeight / window.innerHeight) / 10,
    "examples": blocks.slice(0, 3).map(el => el.innerText.split('\\n').find(
        line => line.length > 80) || el.innerText.slice(0, 80)),
  };
}"""


def chapter_pages() -> list[str]:
    return sorted(p.relative_to(SITE).as_posix()
                  for p in (SITE / "chapters").glob("[0-9][0-9]_*.html"))


@contextmanager
def serve(folder: Path):
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure(page, url: str) -> dict:
    """The budget's numbers for one page, once its math is typeset."""
    page.set_viewport_size(VIEWPORT)
    page.goto(url, wait_until="load")
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    return page.evaluate(MEASURE)


def over_budget(numbers: dict) -> list[str]:
    return [f"{key} {numbers[key]} > {limit}" for key, limit in BUDGET.items()
            if numbers[key] > limit]


def main() -> int:
    from playwright.sync_api import sync_playwright

    over = 0
    print("page | " + " | ".join(BUDGET))
    with serve(SITE) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_()
                   if "127.0.0.1" in route.request.url else route.abort())
        for path in chapter_pages():
            numbers = measure(page, f"{server}/{path}")
            over += bool(over_budget(numbers))
            print(path + " | " + " | ".join(str(numbers[key]) for key in BUDGET))
        browser.close()
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
