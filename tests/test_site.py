"""The built site, opened page by page in a real browser (headless Chromium), with no network.

`make test` builds the site before running pytest; this module serves `_build/html` on 127.0.0.1
and, for every page, checks what a reader would notice: the page loads, nothing fails in the
console, every image has loaded, every equation was typeset by the site's own MathJax (any request
that leaves 127.0.0.1 is blocked, so math that needs a CDN fails here), and no raw TeX is left in
the text. With BACKPROP_SCREENSHOTS=1 in the environment, a full-page screenshot of each page is
saved under `_build/screenshots/` for a person to look at (they take a third of the module's time,
and no test reads them).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "_build" / "html"
SCREENSHOTS = REPO / "_build" / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("BACKPROP_SCREENSHOTS") == "1"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SKIP_DIRS = {"_static", "_sources", "_images", "reports", "_sphinx_design_static"}
SKIP_PAGES = {"genindex.html", "search.html", "index.html"}  # index.html only redirects to intro

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -r requirements.txt"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Chromium is not installed: run `apt-get install chromium` (Debian/Ubuntu) to test the "
        "site in a real browser",
        allow_module_level=True,
    )


def site_pages() -> list[str]:
    """Every content page of the built site, as paths relative to `_build/html`."""
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        relative = path.relative_to(SITE)
        if relative.parts[0] not in SKIP_DIRS and str(relative) not in SKIP_PAGES:
            pages.append(relative.as_posix())
    return pages


@pytest.fixture(scope="module")
def server():
    """Serve the built site on a free port of 127.0.0.1 for the duration of the module."""
    if not (SITE / "intro.html").is_file():
        pytest.fail(f"No built site in {SITE}: run `make test` (it builds the site first) or "
                    "`make book`.")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page whose requests may only reach 127.0.0.1; the rest are blocked and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.blocked = []
    page.console_errors = []

    def only_local(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def test_the_site_has_its_pages():
    pages = site_pages()
    assert "intro.html" in pages and "chapters/05_mnist.html" in pages, pages


@pytest.mark.parametrize("path", site_pages())
def test_page_renders_offline(server, page, path):
    response = page.goto(f"{server}/{path}", wait_until="load")
    assert response is not None and response.status == 200

    math_sources = page.locator(".math").count()
    if math_sources:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    typeset = page.locator("mjx-container").count()
    assert typeset >= math_sources, f"{path}: {math_sources} equations but {typeset} typeset"
    text = page.evaluate(  # the visible prose: code listings may show TeX on purpose
        "() => { const m = document.querySelector('main').cloneNode(true);"
        " m.querySelectorAll('pre, code').forEach(e => e.remove()); return m.innerText; }"
    )
    for raw in ("$$", "\\(", "\\begin{"):
        assert raw not in text, f"{path}: raw TeX {raw!r} left in the visible text"

    broken = page.evaluate(
        "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.src)"
    )
    assert broken == [], f"{path}: images that did not load: {broken}"
    assert page.console_errors == [], f"{path}: console errors: {page.console_errors}"
    assert page.blocked == [], f"{path}: requests that needed the internet: {page.blocked}"

    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / (path.replace("/", "_").removesuffix(".html") + ".png"),
                        full_page=True)
        record_equations(path, typeset)


def record_equations(path: str, count: int) -> None:
    """Keep each page's count of rendered equations in `_build/screenshots/equations.json`."""
    record = SCREENSHOTS / "equations.json"
    counts = json.loads(record.read_text()) if record.is_file() else {}
    counts[path] = count
    record.write_text(json.dumps(counts, indent=1, sort_keys=True))


def test_search_finds_the_chain_rule(server, page):
    page.goto(f"{server}/search.html?q=chain+rule", wait_until="load")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 1
    assert page.console_errors == [], page.console_errors


def test_every_chapter_offers_download_and_launch():
    """The theme writes these links into each page's HTML: no browser is needed to find them."""
    chapters = [p for p in site_pages() if re.match(r"chapters/\d\d_", p)]
    assert len(chapters) == 10, chapters
    for path in chapters:
        html = (SITE / path).read_text(encoding="utf-8")
        assert path.replace(".html", ".ipynb").split("/")[-1] in html, f"{path}: no .ipynb download"
        assert "colab.research.google.com" in html, f"{path}: no Colab launch button"
        assert "mybinder.org" in html, f"{path}: no Binder launch button"
        # the launch buttons open the student notebook (plain Markdown), not the chapter's MyST
        launches = re.findall(r'href="([^"]*(?:colab\.research|mybinder)[^"]*)"', html)
        student = "student/" + path.split("/")[-1].replace(".html", ".ipynb")
        assert len(launches) >= 2 and all(student in url for url in launches), launches
        # the header's ".ipynb, to work in" downloads the student notebook, with no solution
        download = re.search(r'href="([^"]*_downloads/[^"]*\.ipynb)"[^>]*>\s*(?:<[^>]*>\s*)*'
                             r'<span class="btn__text-container">\.ipynb, to work in', html)
        assert download, f"{path}: the header's download button does not serve the student copy"
        served = (SITE / path).parent / download[1]
        assert "### BEGIN SOLUTION" not in served.read_text(encoding="utf-8"), served
        # a folded solution says it is one
        if "### BEGIN SOLUTION" in html:
            assert "Show the solution" in html and "Show code cell source</p>" not in "".join(
                re.findall(r"<details[^>]*>(?:(?!</details>).)*BEGIN SOLUTION", html, re.S)
            ), f"{path}: a folded solution is not labelled as one"


# Pages with a step-through or an explorable figure (backprop.interactive): frames made when the
# book was built, played by the page itself. Each must exist and respond, offline.
INTERACTIVE_PAGES = {
    "chapters/01_chain_rule.html": 2,  # the backward step-through, the learning-rate slider
    "chapters/04_autograd.html": 1,  # the step-through of a graph with a reused node
    "chapters/08_optimisers.html": 1,  # the optimisers' race
}


def shown_frame(page, player):
    return player.locator("img").first.get_attribute("src")


@pytest.mark.parametrize("path", sorted(INTERACTIVE_PAGES))
def test_interactive_figures_respond_offline(server, page, path):
    page.goto(f"{server}/{path}", wait_until="load")
    players = page.locator("div.animation")
    assert players.count() >= INTERACTIVE_PAGES[path], f"{path}: missing interactive figures"
    for index in range(players.count()):
        player = players.nth(index)
        player.scroll_into_view_if_needed()
        first = shown_frame(page, player)
        player.locator("button[title='Next frame']").click()
        after_next = shown_frame(page, player)
        assert after_next != first, f"{path}, figure {index}: 'next' did not change the frame"
        player.locator("button[title='Previous frame']").click()
        assert shown_frame(page, player) == first, f"{path}, figure {index}: 'previous' failed"
        slider = player.locator("input[type=range]")
        last = slider.get_attribute("max")
        slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", last)
        assert shown_frame(page, player) not in (first, after_next) or last == "1", (
            f"{path}, figure {index}: moving the slider did not change the frame")
        player.locator("button[title='Play']").click()
    page.wait_for_timeout(300)
    assert page.console_errors == [], f"{path}: console errors: {page.console_errors}"
    assert page.blocked == [], f"{path}: requests that needed the internet: {page.blocked}"


def test_every_page_has_the_favicon_and_no_figure_is_described_by_its_file_name():
    for path in site_pages():
        html = (SITE / path).read_text(encoding="utf-8")
        assert 'rel="icon"' in html and "favicon.svg" in html, f"{path}: no favicon"
        for alt in re.findall(r'<img[^>]*\balt="([^"]*)"', html):
            assert alt and not alt.endswith((".png", ".svg", ".jpg")) and "_images" not in alt, (
                f"{path}: a figure's alt text is {alt!r}")


def test_the_execution_status_page_lists_every_chapter_with_its_run_time():
    html = (SITE / "chapters" / "status.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    chapters = [row for row in rows if re.search(r"<td><p>\d+ s</p></td>", row)]
    assert len(chapters) == len(list((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))), rows


def _page_budget():
    import importlib.util

    spec = importlib.util.spec_from_file_location("page_budget", REPO / "tools" / "page_budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", [p for p in site_pages() if re.match(r"chapters/\d\d_", p)])
def test_chapter_pages_fit_the_screen_and_the_budget(server, page, path):
    """At 1,280 x 900 px: no code or output block scrolls sideways, no display equation is cut,
    no figure is shrunk below 70 % of its drawn width, and the page is at most 30 screens long
    (tools/page_budget.py prints the same numbers for every chapter)."""
    budget = _page_budget()
    numbers = budget.measure(page, f"{server}/{path}")
    assert not budget.over_budget(numbers), (path, numbers)
