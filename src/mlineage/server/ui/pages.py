"""The UI's routes: one page shell for every stable URL (``/lineage/<ref>``, ``/runs/<id>``,
``/artifacts/<ref>``, ``/models/<name>``, ``/diff/<a>/<b>``, ``/audit``), the static assets, and login /
logout.

The shell is the same HTML for every URL; ``app.js`` reads the path and asks the API. With auth on, a page
request without a valid session goes to ``/login?next=<path>`` first. The login form posts the token once;
it is kept in an HttpOnly, SameSite=Strict cookie (Secure unless the server is reached over plain HTTP on a
non-loopback address, where a browser would drop a Secure cookie: put TLS in front of a shared server).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..auth import AuthError
from ..deps import SESSION_COOKIE, ServerDep

STATIC = Path(__file__).parent / "static"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}
# No inline script or style anywhere: user data can only ever become text.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

router = APIRouter(include_in_schema=False)


@cache
def _assets() -> dict[str, bytes]:
    """Every shipped file, read once: a request can only ever name one of these."""
    return {path.name: path.read_bytes() for path in STATIC.iterdir() if path.is_file()}


def _asset(name: str) -> bytes | None:
    return _assets().get(name)


def _file(name: str) -> Response:
    body = _asset(name)
    if body is None:
        return Response("not found", status_code=404, media_type="text/plain", headers=HEADERS)
    kind = _TYPES.get(Path(name).suffix, "application/octet-stream")
    return Response(body, media_type=kind, headers=HEADERS)


def _signed_in(request: Request, state: ServerDep) -> bool:
    if not state.auth:
        return True
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    try:
        state.authenticate(token).require("read")
    except Exception:  # noqa: BLE001 (an unknown, revoked or read-less token: log in again)
        return False
    return True


def shell_page(request: Request, state: ServerDep) -> Response:
    """The one page of every stable URL (``SHELL_PATHS``); with auth on, sign in first."""
    if not _signed_in(request, state):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303, headers=HEADERS)
    return _file("index.html")


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    return _file(name)


# Every stable URL the shell serves; ``/diff?a=..&b=..`` is the same page for refs that contain a slash.
SHELL_PATHS = ("/", "/lineage/{ref:path}", "/runs/{run_id}", "/artifacts/{ref:path}", "/models/{name:path}",
               "/diff/{a}/{b}", "/diff", "/audit")


for _path in SHELL_PATHS:
    router.add_api_route(_path, shell_page, methods=["GET"])


@router.get("/login")
def login_page() -> Response:
    return _file("login.html")


def _next(target: str) -> str:
    """Only a path on this server (never ``//host`` or a scheme): no open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/login")
async def login(request: Request, state: ServerDep) -> Response:
    """The form's token (urlencoded; read by hand so the server needs no multipart parser)."""
    body = await request.body()
    fields = dict(parse_qsl(body[:4096].decode("utf-8", "replace"), keep_blank_values=True))
    target = _next(fields.get("next", "/"))
    token = fields.get("token", "").strip()
    try:
        if not token or len(token) > 200:
            raise AuthError("no token")
        state.authenticate(token).require("read")
    except Exception:  # noqa: BLE001 (any refusal: back to the form, saying so)
        return RedirectResponse(f"/login?error=1&next={quote(target, safe='')}", status_code=303,
                                headers=HEADERS)
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    loopback = request.client is not None and request.client.host in _LOOPBACK
    secure = request.url.scheme == "https" or loopback
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure,
                        path="/", max_age=12 * 3600)
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
