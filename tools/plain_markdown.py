"""Turn a chapter's MyST Markdown into plain Jupyter Markdown, for the student notebooks.

JupyterLab, Colab, nbconvert and GitHub render CommonMark (with ``$`` math and raw HTML), not
MyST: there ``{doc}`02_manualgrad``` shows as it is typed, and a hint in a MyST dropdown shows as
an open code block. So every MyST role and directive the chapters use becomes what a plain
renderer shows well:

- ``{glue:text}`name:fmt``` becomes the value glued in the executed chapter, formatted as MyST-NB
  formats it;
- ``{doc}``, ``{ref}``, ``{numref}`` and ``{download}`` become links to the published site (its
  address is ``html.baseurl`` in ``_config.yml``), with the titles the site shows;
- ``{term}`` becomes bold text linked to the glossary, ``{cite:t}``/``{cite:p}`` author-year text
  linked to the references page;
- ``(label)=`` targets become HTML anchors;
- a dropdown admonition (a hint) becomes ``<details><summary>...</summary>``, collapsed wherever
  it is rendered; other admonitions a block quote with a bold title; an ``{exercise}`` a bold
  title over its text.

``convert(text, context)`` does one cell; ``Context.from_repository`` gathers what it needs once.
"""

from __future__ import annotations

import re
from ast import literal_eval
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

GLUE_PREFIX = "application/papermill.record/"
ROLE = re.compile(r"\{(?P<role>[a-z]+(?::[a-z]+)?)\}`(?P<content>[^`]*)`")
FENCE_OPEN = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[a-z:-]+)\}"
                        r"\s*(?P<argument>.*)$")
LABEL = re.compile(r"^\((?P<label>[A-Za-z0-9_:.-]+)\)=\s*$")
OPTION = re.compile(r"^\s*:(?P<key>[a-z-]+):\s*(?P<value>.*)$")
TITLED = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important",
          "seealso": "See also", "attention": "Attention", "caution": "Caution",
          "hint": "Hint", "danger": "Danger", "error": "Error"}


@dataclass
class Context:
    """What converting one chapter needs to know about the whole book."""

    site: str                                   # the published site's address, ending in /
    repository: str                             # the repository's address, no trailing /
    branch: str
    page: str                                   # this chapter's path, e.g. chapters/01_x
    titles: dict[str, str] = field(default_factory=dict)     # page path -> title
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (page, title)
    glued: dict[str, str] = field(default_factory=dict)       # name -> text/plain
    terms: dict[str, str] = field(default_factory=dict)       # lower-case term -> term
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (names, year)

    def url(self, page: str, anchor: str = "") -> str:
        return f"{self.site}{page}.html" + (f"#{anchor}" if anchor else "")


SITE_ONLY = re.compile(r"<!-- site-only -->.*?<!-- /site-only -->", re.S)


def convert(text: str, context: Context) -> str:
    """One Markdown cell of a chapter, in plain Jupyter Markdown. Text between
    ``<!-- site-only -->`` and ``<!-- /site-only -->`` (say, "open the student notebook") is
    for the site's readers only, and is left out."""
    text = re.sub(r"\n{3,}", "\n\n", SITE_ONLY.sub("", text))  # no gap where it was
    return _links(_roles(_directives(text, context), context), context)


LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")


def _links(text: str, context: Context) -> str:
    """Relative links (``[References](references.md)``) point at the published site's page, or
    at the repository's file: the student notebook lives in another folder than the chapter."""
    def absolute(match: re.Match) -> str:
        target = match["target"]
        if re.match(r"[a-z][a-z0-9+.-]*:|#|/", target):
            return match[0]
        path, _, anchor = target.partition("#")
        page = _resolve(path, context.page)
        if page in context.titles:
            return f"[{match['text']}]({context.url(page, anchor)})"
        link = f"{context.repository}/blob/{context.branch}/{_resolve(path, context.page, True)}"
        return f"[{match['text']}]({link})"
    return LINK.sub(absolute, text)


# --- directives ------------------------------------------------------------------------------


def _directives(text: str, context: Context) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        label = LABEL.match(lines[i])
        if label:
            out.append(f'<a id="{label["label"]}"></a>')
            i += 1
            continue
        opened = FENCE_OPEN.match(lines[i])
        if not opened:
            out.append(lines[i])
            i += 1
            continue
        close = _closing_line(lines, i, opened["fence"])
        options, body_start = {}, i + 1
        while body_start < close and OPTION.match(lines[body_start]):
            option = OPTION.match(lines[body_start])
            options[option["key"]] = option["value"]
            body_start += 1
        body = _directives("\n".join(lines[body_start:close]).strip("\n"), context)
        out.append(_directive(opened["name"], opened["argument"].strip(), options, body))
        i = close + 1
    return "\n".join(out)


def _closing_line(lines: list[str], start: int, fence: str) -> int:
    """The line that closes the fence opened at ``start``: the same character, at least as
    long, alone on its line."""
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return j
    raise ValueError(f"the directive opened by {lines[start]!r} is never closed")


def _directive(name: str, argument: str, options: dict[str, str], body: str) -> str:
    dropdown = "dropdown" in options.get("class", "").split()
    if name in ("admonition", *TITLED):
        title = argument or TITLED.get(name, name.title())
        if dropdown:
            return f"<details><summary>{title}</summary>\n\n{body}\n\n</details>"
        quoted = "\n".join("> " + line if line else ">" for line in body.split("\n"))
        return f"> **{title}**\n>\n{quoted}"
    if name == "exercise":
        anchor = f'<a id="{options["label"]}"></a>\n' if "label" in options else ""
        return f"{anchor}**Exercise: {argument}**\n\n{body}" if argument \
            else f"{anchor}**Exercise.**\n\n{body}"
    if name in ("solution", "solution-start", "solution-end"):
        raise ValueError("solutions must be removed before the conversion")
    raise ValueError(f"no plain-Markdown form for the MyST directive {{{name}}}: add one to "
                     "tools/plain_markdown.py")


# --- roles -----------------------------------------------------------------------------------


def _roles(text: str, context: Context) -> str:
    return ROLE.sub(lambda match: _role(match["role"], match["content"], context), text)


def _explicit(content: str) -> tuple[str | None, str]:
    """``text <target>`` -> (text, target); ``target`` -> (None, target)."""
    match = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", content, re.S)
    return (match[1], match[2]) if match else (None, content.strip())


def _role(role: str, content: str, context: Context) -> str:
    if role == "glue:text":
        return _glued(content, context)
    if role == "doc":
        text, target = _explicit(content)
        page = _resolve(target, context.page)
        if page not in context.titles:
            raise ValueError(f"{{doc}}`{content}`: no page {page}")
        return f"[{text or context.titles[page]}]({context.url(page)})"
    if role in ("ref", "numref"):
        text, label = _explicit(content)
        if label not in context.labels:
            raise ValueError(f"{{{role}}}`{content}`: no target {label!r}")
        page, title = context.labels[label]
        return f"[{text or title}]({context.url(page, label)})"
    if role == "download":
        text, target = _explicit(content)
        path = _resolve(target, context.page, keep_suffix=True)
        link = f"{context.repository}/blob/{context.branch}/{path}"
        return f"[{text or Path(path).name}]({link})"
    if role == "term":
        text, target = _explicit(content)
        term = context.terms.get(target.lower())
        if term is None:
            raise ValueError(f"{{term}}`{content}`: not in the glossary")
        anchor = "term-" + re.sub(r"[^\w.-]+", "-", term).strip("-")
        return f"**[{text or target}]({context.url('chapters/glossary', anchor)})**"
    if role in ("cite", "cite:t", "cite:p"):
        return _cite(role, content, context)
    raise ValueError(f"no plain-Markdown form for the MyST role {{{role}}}: add one to "
                     "tools/plain_markdown.py")


def _resolve(target: str, page: str, keep_suffix: bool = False) -> str:
    """A path relative to ``page``'s folder (or absolute from the book's root, ``/intro``)."""
    if target.startswith("/"):
        parts = target.lstrip("/").split("/")
    else:
        parts = page.split("/")[:-1] + target.split("/")
    resolved = []
    for part in parts:
        if part == "..":
            resolved.pop()
        elif part not in ("", "."):
            resolved.append(part)
    path = "/".join(resolved)
    return path if keep_suffix else re.sub(r"\.(ipynb|md)$", "", path)


def _glued(content: str, context: Context) -> str:
    """The glued value, formatted as MyST-NB's ``format_plain_text`` formats it."""
    key, spec = content.rsplit(":", 1) if ":" in content else (content, "")
    if key not in context.glued:
        raise ValueError(f"{{glue:text}}`{content}`: nothing was glued as {key!r} in the "
                         "executed chapter")
    text = context.glued[key]
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not spec:
        return str(value)
    kind = spec[-1]
    if kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    elif kind == "s":
        value = str(value)
    return format(value, spec)


def _cite(role: str, content: str, context: Context) -> str:
    parts = []
    for key in (key.strip() for key in content.split(",")):
        if key not in context.citations:
            raise ValueError(f"{{{role}}}`{key}`: not in references.bib")
        names, year = context.citations[key]
        link = context.url("chapters/references")
        parts.append(f"[{names} ({year})]({link})" if role == "cite:t"
                     else f"[{names}, {year}]({link})")
    return ", ".join(parts) if role == "cite:t" else "(" + "; ".join(parts) + ")"


# --- what the whole book knows ------------------------------------------------------------


def glued_values(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Every value glued in an executed notebook: name -> its text/plain."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if not scrap:
                continue
            data = output.get("data", {})
            text = data.get(scrap.get("mime_prefix", "") + "text/plain",
                            data.get(GLUE_PREFIX + "text/plain", data.get("text/plain")))
            if text is not None:
                values[scrap["name"]] = text
    return values


def page_titles_and_labels(repo: Path, pages: list[str]) -> tuple[dict, dict]:
    """Each page's title (its first ``# `` heading) and every label the pages define: exercise
    labels (titled ``Exercise: ...``) and ``(label)=`` targets (titled by the heading after)."""
    titles, labels = {}, {}
    for page in pages:
        texts = _page_markdown(repo / page)
        joined = "\n".join(texts)
        heading = re.search(r"^# (.+)$", joined, re.M)
        titles[page] = heading[1].strip() if heading else Path(page).name
        for match in re.finditer(r"\{exercise\}\s*(.*)\n\s*:label:\s*(\S+)", joined):
            labels[match[2]] = (page, f"Exercise: {match[1].strip()}")
        for match in re.finditer(r"^\(([^)]+)\)=\s*\n+#+ (.+)$", joined, re.M):
            labels[match[1]] = (page, match[2].strip())
    return titles, labels


def _page_markdown(stem: Path) -> list[str]:
    if stem.with_suffix(".ipynb").exists():
        notebook = nbformat.read(stem.with_suffix(".ipynb"), as_version=4)
        return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    return [stem.with_suffix(".md").read_text()]


def glossary_terms(glossary: Path) -> dict[str, str]:
    """The glossary's terms, by lower-case name: the unindented lines of its glossary block."""
    text = glossary.read_text()
    terms = [line.strip() for block in re.findall(r"```\{glossary\}\n(.*?)\n```", text, re.S)
             for line in block.split("\n") if line and not line[0].isspace()]
    return {term.lower(): term for term in terms}


def bib_citations(bib: Path) -> dict[str, tuple[str, str]]:
    """key -> (``Rumelhart et al.``-style names, year) for every entry of a BibTeX file."""
    citations = {}
    for match in re.finditer(r"@\w+\{([^,]+),(.*?)\n\}", bib.read_text(), re.S):
        key, body = match[1].strip(), match[2]
        author = re.search(r"author\s*=\s*\{(.*)\},?\s*$", body, re.M)
        year = re.search(r"year\s*=\s*\{?(\d{4})", body)
        surnames = [_surname(name) for name in author[1].split(" and ")] if author else ["?"]
        names = (surnames[0] if len(surnames) == 1
                 else " and ".join(surnames) if len(surnames) == 2
                 else f"{surnames[0]} et al.")
        citations[key] = (names, year[1] if year else "n.d.")
    return citations


def _surname(name: str) -> str:
    name = name.strip()
    surname = name.split(",")[0] if "," in name else name.split()[-1]
    accents = {"\\'e": "é", "\\'a": "á", '\\"o': "ö", '\\"u': "ü", "\\`e": "è"}
    for code, letter in accents.items():
        surname = surname.replace("{" + code + "}", letter)
    surname = re.sub(r"\\['`^\"~]\{?(\w)\}?", r"\1", surname)  # other accents: the letter
    return surname.replace("{", "").replace("}", "")
