"""The HTML frame every page shares; the scripts fill it from the JSON endpoints.

No script runs inline (the Content-Security-Policy forbids it): the interface's strings
travel as a JSON data block the scripts read, and each page's script is a file of its own.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import urlencode

from . import i18n

STATIC = Path(__file__).resolve().parent / "static"
#: The chart library as `npm ci` installs it beside this package (package.json).
CHARTS_DEFAULT = (
    Path(__file__).resolve().parent / "node_modules" / "echarts" / "dist" / "echarts.common.min.js"
)
CHARTS_HINT = (
    "install it with `make demo` or `make test` (they run `npm ci` in campus_ops/console), "
    "or give `campus-ops console --charts FILE` the path of echarts.common.min.js"
)
#: Everything a page loads comes from the console itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def lang_query(lang: str, explicit: bool) -> str:
    """What internal links carry so a chosen language stays chosen (nothing when the browser chose)."""
    return f"?{urlencode({'lang': lang})}" if explicit else ""


def frame(
    lang: str,
    title: str,
    *,
    explicit: bool,
    script: str | None = None,
    api: str | None = None,
    body: str = "",
    charts: bool = False,
    other_lang_href: str = "?",
) -> str:
    """A whole page: the header with navigation and the language switch, then ``body``.

    ``script`` names the page's script (``city`` loads /static/city.js), which reads ``api``.
    ``body`` is HTML made by the caller (escaped there).
    """
    words = i18n.strings(lang)
    keep = lang_query(lang, explicit)
    data_block = json.dumps(words, ensure_ascii=False).replace("</", "<\\/")
    scripts = []
    if charts:
        scripts.append('<script src="/static/vendor/echarts.js" defer></script>')
    if script:
        scripts.append('<script src="/static/console.js" defer></script>')
        scripts.append(f'<script src="/static/{html.escape(script)}.js" defer></script>')
    attributes = {
        "data-page": script or "",
        "data-api": api or "",
        "data-lang": lang,
        "data-keep": keep,
        "data-charts-hint": CHARTS_HINT,
    }
    attrs = " ".join(f'{key}="{html.escape(value)}"' for key, value in attributes.items())
    nav = " ".join(
        f'<a href="{href}{keep}">{html.escape(words[key])}</a>'
        for href, key in (("/", "nav.city"), ("/alerts", "nav.alerts"), ("/assets", "nav.assets"))
    )
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · {html.escape(words["app.title"])}</title>
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/console.css">
{chr(10).join(scripts)}
</head>
<body {attrs}>
<header>
<a class="brand" href="/{keep}">{html.escape(words["app.title"])}</a>
<nav>{nav}</nav>
<a class="lang" id="other-lang" href="{html.escape(other_lang_href)}">{html.escape(words["lang.other"])}</a>
</header>
<main id="main">
<h1 id="title">{html.escape(title)}</h1>
{body}
</main>
<footer id="status"></footer>
<script type="application/json" id="strings">{data_block}</script>
</body>
</html>
"""


def message(lang: str, title: str, text: str, *, explicit: bool, back: bool = True) -> str:
    """A page that says one thing (not found, not yet built), with a link back to the city."""
    keep = lang_query(lang, explicit)
    link = f'<p><a id="back" href="/{keep}">{html.escape(i18n.t(lang, "nf.back"))}</a></p>' if back else ""
    return frame(lang, title, explicit=explicit, body=f'<p class="message">{html.escape(text)}</p>{link}')
