"""Small fixes to the site's HTML that keep every page's browser console clean.

sphinx-thebe and sphinx-togglebutton (loaded by Jupyter Book) register an inline configuration
script twice, once with the file name ``None`` and once with ``''``, so Sphinx does not see the two
as equal and each page carries both; the browser then reports "Identifier 'THEBE_JS_URL' has
already been declared". This extension drops such repeated scripts, keeping the first of each.
"""

from __future__ import annotations


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    """Remove scripts that repeat an earlier one (same file or body, same attributes)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
