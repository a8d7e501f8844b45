"""The web UI: static pages (``static/``, shipped in the package; no build step, no CDN) served with a strict
Content-Security-Policy, and the login that keeps a server token in an HttpOnly cookie. Every view reads the
same ``/api/v1`` endpoints the CLI's remote client uses (docs/ui.md)."""

from .pages import router

__all__ = ["router"]
