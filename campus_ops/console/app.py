"""The console's routes: a page and a JSON endpoint for each view, static files, runbooks.

| page | JSON | what |
|---|---|---|
| ``/`` | ``/api/city`` | every school worst first, alerts firing, headline charts |
| ``/school/{code}`` | ``/api/school/{code}`` | one school's gateway, devices, alerts, charts |
| ``/school/{code}/device/{name}`` | ``/api/school/{code}/device/{name}?range=6h`` | one device |
| ``/alerts`` | ``/api/alerts`` | firing and pending alerts by school |
| ``/assets`` | ``/api/assets?school=`` | the asset register, searchable; ``/assets.csv?q=`` |
| ``/runbook/{anchor}`` | | one runbook of docs/central.md |

A school or device the store and roster do not know is a 404 page that links back to the
city. Every answer carries a Content-Security-Policy that lets a page load only from the
console itself.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler

from campus_core.names import is_name
from campus_ops import assets
from campus_ops.roster import SCHOOL_CODE

from . import alertsview, auth, i18n, runbooks
from .assetsview import assets_page as assets_data
from .assetsview import rows as asset_rows
from .city import city
from .context import Context
from .device import DEFAULT_RANGE, device_page
from .device import exists as device_exists
from .page import CHARTS_DEFAULT, CSP, STATIC, frame, message
from .panels import panel
from .school import exists as school_exists
from .school import school
from .sources import SourceError

CONTEXT = web.AppKey("context", Context)
CREDENTIALS = web.AppKey("credentials", auth.Credentials)
CHARTS = web.AppKey("charts", Path)
RUNBOOKS = web.AppKey("runbooks", dict)


def _lang(request: web.Request) -> tuple[str, bool]:
    """The request's language, and whether ``?lang=`` chose it (links then keep it)."""
    chosen = request.query.get("lang")
    lang = i18n.choose(chosen, request.headers.get("Accept-Language"))
    return lang, chosen is not None and chosen[:2].lower() == lang


def _other_lang(request: web.Request, lang: str) -> str:
    query = {**request.query, "lang": "en" if lang == "zh" else "zh"}
    return f"{request.path}?{urlencode(query)}"


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _page(request: web.Request, title: str, script: str, api: str, *, charts: bool = True) -> web.Response:
    lang, explicit = _lang(request)
    return _html(
        frame(
            lang,
            title,
            explicit=explicit,
            script=script,
            api=api,
            charts=charts,
            other_lang_href=_other_lang(request, lang),
        )
    )


def _not_found(request: web.Request, key: str, **names: str) -> web.Response:
    lang, explicit = _lang(request)
    text = i18n.t(lang, key).format(**names)
    if request.path.startswith("/api/"):
        return web.json_response({"error": text}, status=404)
    return _html(message(lang, i18n.t(lang, "nf.title"), text, explicit=explicit), 404)


def _known_code(code: str) -> bool:
    return bool(SCHOOL_CODE.match(code))


async def city_page(request: web.Request) -> web.Response:
    """The city."""
    lang, _ = _lang(request)
    return _page(request, i18n.t(lang, "nav.city"), "city", "/api/city")


async def school_page(request: web.Request) -> web.Response:
    """A school, or a 404 when neither the roster nor the store knows it."""
    code = request.match_info["code"]
    if not _known_code(code) or await school_exists(request.app[CONTEXT], code) is False:
        return _not_found(request, "nf.school", code=code)
    name = request.app[CONTEXT].school_name(code)
    return _page(request, f"{name} ({code})" if name else code, "school", f"/api/school/{code}")


async def device_page_html(request: web.Request) -> web.Response:
    """A device, or a 404 when its school or the device is unknown."""
    code, device = request.match_info["code"], request.match_info["device"]
    ctx = request.app[CONTEXT]
    if not _known_code(code) or await school_exists(ctx, code) is False:
        return _not_found(request, "nf.school", code=code)
    if not is_name(device) or await device_exists(ctx, code, device) is False:
        return _not_found(request, "nf.device", school=code, device=device)
    return _page(request, f"{device} · {code}", "device", f"/api/school/{code}/device/{device}")


async def alerts_page(request: web.Request) -> web.Response:
    """Every alert vmalert holds."""
    lang, _ = _lang(request)
    return _page(request, i18n.t(lang, "nav.alerts"), "alerts", "/api/alerts", charts=False)


def _school_of(request: web.Request) -> str | None:
    """The ``?school=`` a register page or download is narrowed to; 404 for a code no school has."""
    school = request.query.get("school") or None
    if school is not None and not _known_code(school):
        raise _Missing("nf.school", code=school)
    return school


async def assets_page(request: web.Request) -> web.Response:
    """The asset register: the city's, or one school's (``?school=``)."""
    lang, _ = _lang(request)
    try:
        school = _school_of(request)
    except _Missing as missing:
        return _not_found(request, missing.key, **missing.names)
    title = i18n.t(lang, "assets.school").format(code=school) if school else i18n.t(lang, "assets.title")
    api = "/api/assets" + (f"?{urlencode({'school': school})}" if school else "")
    return _page(request, title, "assets", api, charts=False)


async def assets_csv(request: web.Request) -> web.Response:
    """The register as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese room names),
    searched as the page is (``?q=``)."""
    lang, _ = _lang(request)
    try:
        school = _school_of(request)
    except _Missing as missing:
        return _not_found(request, missing.key, **missing.names)
    try:
        found = await asset_rows(request.app[CONTEXT], school, request.query.get("q", ""))
    except SourceError as exc:
        return web.Response(text=f"{i18n.t(lang, f'err.store.{exc.kind}')}: {exc.message}\n", status=502)
    stamp = time.strftime("%Y%m%d")
    name = f"asset-register-{school or 'city'}-{stamp}.csv"
    return web.Response(
        body=("\ufeff" + assets.as_csv(found)).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def runbook_page(request: web.Request) -> web.Response:
    """One runbook section of docs/central.md."""
    lang, explicit = _lang(request)
    found = request.app[RUNBOOKS].get(request.match_info["anchor"])
    if found is None:
        text = i18n.t(lang, "runbook.missing") if not request.app[RUNBOOKS] else i18n.t(lang, "nf.page")
        return _html(message(lang, i18n.t(lang, "runbook.title"), text, explicit=explicit), 404)
    title, paragraphs = found
    body = "".join(f"<p>{runbooks.to_html(p)}</p>" for p in paragraphs)
    return _html(frame(lang, f"{i18n.t(lang, 'runbook.title')}: {title}", explicit=explicit, body=body))


class _Missing(Exception):
    """The school or device a JSON endpoint was asked about is not known: a 404 that says which."""

    def __init__(self, key: str, **names: str) -> None:
        super().__init__(key)
        self.key = key
        self.names = names


def _json(build: Callable[[web.Request, Context, str], Awaitable[dict[str, Any]]]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        lang, _ = _lang(request)
        try:
            data = await build(request, request.app[CONTEXT], lang)
        except _Missing as missing:
            return _not_found(request, missing.key, **missing.names)
        return web.json_response(data, dumps=lambda value: json.dumps(value, ensure_ascii=False))

    return handler


async def _city(request: web.Request, ctx: Context, lang: str) -> dict[str, Any]:
    return await city(ctx, lang)


async def _school(request: web.Request, ctx: Context, lang: str) -> dict[str, Any]:
    code = request.match_info["code"]
    if not _known_code(code) or await school_exists(ctx, code) is False:
        raise _Missing("nf.school", code=code)
    return await school(ctx, code, lang)


async def _device(request: web.Request, ctx: Context, lang: str) -> dict[str, Any]:
    code, device = request.match_info["code"], request.match_info["device"]
    if not _known_code(code) or await school_exists(ctx, code) is False:
        raise _Missing("nf.school", code=code)
    if not is_name(device) or await device_exists(ctx, code, device) is False:
        raise _Missing("nf.device", school=code, device=device)
    return await device_page(ctx, code, device, request.query.get("range", DEFAULT_RANGE), lang)


async def _assets(request: web.Request, ctx: Context, lang: str) -> dict[str, Any]:
    return await assets_data(ctx, _school_of(request))


async def _alerts(request: web.Request, ctx: Context, lang: str) -> dict[str, Any]:
    return {"alerts": await panel(alertsview.by_school(ctx))}


async def healthz(request: web.Request) -> web.Response:
    """The console itself answers (it says nothing of the store: the pages do)."""
    return web.Response(text="ok\n")


async def charts_library(request: web.Request) -> web.StreamResponse:
    """The chart library, from where npm installed it (never from the repository)."""
    path = request.app[CHARTS]
    if not path.is_file():
        raise web.HTTPNotFound(text=f"the chart library is not installed at {path}")
    return web.FileResponse(path, headers={"Content-Type": "text/javascript; charset=utf-8"})


async def login_page(request: web.Request) -> web.Response:
    """The sign-in form for the operators' read token (sets a cookie)."""
    lang, explicit = _lang(request)
    wrong = ""
    if request.method == "POST":
        form = await request.post()
        credentials = request.app[CREDENTIALS]
        if credentials.token_matches(str(form.get("token", ""))):
            target = str(form.get("next", "/"))
            # Only a path of this console: never a redirect elsewhere.
            target = target if target.startswith("/") and not target.startswith("//") else "/"
            response = web.HTTPSeeOther(target)
            response.set_cookie(auth.COOKIE, credentials.session_cookie(), httponly=True, samesite="Strict")
            raise response
        wrong = f'<p class="error">{html.escape(i18n.t(lang, "login.wrong"))}</p>'
    following = html.escape(request.query.get("next", "/"))
    body = (
        f'{wrong}<form method="post" action="/login" class="login">'
        f'<input type="hidden" name="next" value="{following}">'
        f"<label>{html.escape(i18n.t(lang, 'login.token'))} "
        '<input type="password" name="token" autocomplete="current-password" required></label> '
        f'<button type="submit">{html.escape(i18n.t(lang, "login.submit"))}</button></form>'
    )
    return _html(
        frame(lang, i18n.t(lang, "login.title"), explicit=explicit, body=body), 401 if wrong else 200
    )


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; unknown paths get the 404 page."""
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith("/static/"):
            raise
        response = _not_found(request, "nf.page")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def make_app(
    ctx: Context,
    credentials: auth.Credentials,
    charts: Path | None = None,
    runbook_sections: dict[str, tuple[str, list[str]]] | None = None,
) -> web.Application:
    """The console as an aiohttp application; its sources open and close with it.

    ``runbook_sections`` are :func:`runbooks.load`'s, read before the event loop runs.
    """
    app = web.Application(middlewares=[_headers, auth.middleware(credentials)])
    app[CONTEXT] = ctx
    app[CREDENTIALS] = credentials
    app[CHARTS] = charts or CHARTS_DEFAULT
    app[RUNBOOKS] = runbook_sections if runbook_sections is not None else {}

    async def sources(app: web.Application) -> Any:
        await ctx.open()
        yield
        await ctx.close()

    app.cleanup_ctx.append(sources)
    app.add_routes(
        [
            web.get("/", city_page),
            web.get("/school/{code}", school_page),
            web.get("/school/{code}/device/{device}", device_page_html),
            web.get("/alerts", alerts_page),
            web.get("/assets", assets_page),
            web.get("/assets.csv", assets_csv),
            web.get("/runbook/{anchor}", runbook_page),
            web.get("/login", login_page),
            web.post("/login", login_page),
            web.get("/api/city", _json(_city)),
            web.get("/api/school/{code}", _json(_school)),
            web.get("/api/school/{code}/device/{device}", _json(_device)),
            web.get("/api/alerts", _json(_alerts)),
            web.get("/api/assets", _json(_assets)),
            web.get("/static/vendor/echarts.js", charts_library),
            web.get("/healthz", healthz),
            web.static("/static", STATIC),
        ]
    )
    return app
