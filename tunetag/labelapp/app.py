"""The page's HTTP interface (Starlette): the page itself, a small JSON API, audio and images.

Only the person who started ``tunetag label`` may use it: requests must carry the session's
token and name the host as 127.0.0.1 or localhost (which stops DNS rebinding). Songs are
reached by their number in the CSV only; no path from a request is ever opened.
"""

from __future__ import annotations

import json
import secrets
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tunetag.errors import AudioDecodeError, LabelFileError, ParameterError, TunetagError
from tunetag.evaluation.htmlpage import stylesheet
from tunetag.labelapp.media import playable_audio
from tunetag.labelapp.session import LabelSession

TOKEN_HEADER = "X-Tunetag-Token"
MAX_BODY_BYTES = 16 * 1024  # a label change is a few dozen bytes
STATIC_FILES = {"/app.js": "text/javascript", "/style.css": "text/css"}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
STATUS_OF = {ParameterError: 400, AudioDecodeError: 422, LabelFileError: 500}


class RequireToken:
    """Refuse (403) every request that does not carry the session's token.

    The token comes in the ``token`` query parameter (the page's URL, audio and image
    sources) or the ``X-Tunetag-Token`` header (the page's API calls).
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            given = request.headers.get(TOKEN_HEADER) or request.query_params.get("token", "")
            if not secrets.compare_digest(given.encode(), self.token):
                refusal = _error(403, "missing or wrong token: open the URL tunetag label printed")
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(session: LabelSession) -> Starlette:
    """The labelling page's web app for one session.

    Parameters
    ----------
    session : LabelSession
        The CSV, queue and settings being served (see `open_session`).
    """

    def page(request: Request) -> Response:
        html = _static_text("index.html").replace("__TOKEN__", session.token)
        return Response(html, media_type="text/html", headers=PAGE_HEADERS)

    def static(request: Request) -> Response:
        path = request.url.path
        return Response(_static_text(path.lstrip("/")), media_type=STATIC_FILES[path])

    def shared_style(request: Request) -> Response:
        return Response(stylesheet(), media_type="text/css")

    def state(request: Request) -> Response:
        return JSONResponse(session.state())

    def song(request: Request) -> Response:
        return JSONResponse(session.song(request.path_params["song_id"]))

    def why(request: Request) -> Response:
        if session.live is None:
            return _error(409, "this page does not learn (started with --no-learn)")
        return JSONResponse({"why": session.why(request.path_params["song_id"])})

    async def set_labels(request: Request) -> Response:
        body = await _json_body(request)
        task, labels = body.get("task"), body.get("labels")
        if not isinstance(task, str) or not _is_list_of_str(labels):
            raise ParameterError('send {"task": "<column>", "labels": ["<label>", ...]}')
        song_id = request.path_params["song_id"]
        await _in_thread(session.store.set_labels, song_id, task, labels)
        session.labels_changed()
        return await _song_and_state(song_id)

    async def undo(request: Request) -> Response:
        if not session.store.can_undo:
            return _error(409, "nothing to undo")
        song_id = await _in_thread(session.store.undo)
        session.labels_changed()
        return await _song_and_state(song_id)

    def live(request: Request) -> Response:
        if session.live is None:
            return _error(409, "this page does not learn (started with --no-learn)")
        return JSONResponse({"live": session.live_summary(), "keep": session.keeper.status()})

    def keep(request: Request) -> Response:
        if session.keeper is None:
            return _error(409, "this page does not learn (started with --no-learn)")
        learnt = [name for name, fit in session.live.state.tasks.items() if fit["seen_classes"] > 1]
        if not learnt:
            return _error(409, "nothing to keep yet: label songs of two classes first")
        return JSONResponse({"keep": session.keeper.start(learnt)})

    async def _song_and_state(song_id: int) -> Response:
        found = await _in_thread(lambda: {"song": session.song(song_id), "state": session.state()})
        return JSONResponse(found)

    def audio(request: Request) -> Response:
        song_id = request.path_params["song_id"]
        path, media_type, _ = playable_audio(session.store.audio_path(song_id), session.cache_dir)
        return FileResponse(path, media_type=media_type)

    def image(request: Request) -> Response:
        png = session.spectrogram(request.path_params["song_id"])
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    routes = [
        Route("/", page),
        *(Route(path, static) for path in STATIC_FILES),
        Route("/tunetag.css", shared_style),
        Route("/api/state", state),
        Route("/api/songs/{song_id:int}", song),
        Route("/api/songs/{song_id:int}/labels", set_labels, methods=["POST"]),
        Route("/api/songs/{song_id:int}/why", why),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/live", live),
        Route("/api/keep", keep, methods=["POST"]),
        Route("/audio/{song_id:int}", audio),
        Route("/image/{song_id:int}", image),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
        Middleware(RequireToken, token=session.token),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={TunetagError: _tunetag_error, HTTPException: _http_error},
    )
    # No redirects: "/app.js/" would go to a URL built from the request's Host header,
    # token and all; the page never asks for a path it does not serve.
    app.router.redirect_slashes = False
    return app


async def _in_thread(function, *args):
    """Run blocking work (CSV writes, decoding) off the event loop."""
    return await run_in_threadpool(function, *args)


async def _json_body(request: Request) -> dict:
    """The request's JSON object, read no further than `MAX_BODY_BYTES` whatever its
    ``Content-Length`` says (a chunked body declares none)."""
    too_long = ParameterError(f"a request body has at most {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        raise too_long
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_long
    try:
        found = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"the request body is not JSON ({exc})") from exc
    if not isinstance(found, dict):
        raise ParameterError("the request body must be a JSON object")
    return found


def _is_list_of_str(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _static_text(name: str) -> str:
    return resources.files("tunetag.labelapp").joinpath("static", name).read_text("utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, wrong method) as JSON, like every other error."""
    return _error(exc.status_code, exc.detail)


async def _tunetag_error(request: Request, exc: Exception) -> Response:
    status = next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 500)
    return _error(status, str(exc))
