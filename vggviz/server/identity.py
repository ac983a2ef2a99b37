"""Voilà's own sign-in, plus the `_xsrf` cookie on every page, so a closing tab frees its kernel.

When a tab closes, Voilà's page posts a shutdown request for its kernel with the `_xsrf` token it
reads from a cookie; but Voilà sets that cookie only on pages rendered from a template namespace
(the tree), not on a notebook it serves, so the request is refused (403, voila#1458) and the
kernel lives on until culled. Reading `handler.xsrf_token` is how Tornado sets the cookie.
Configured in voila.json (`Voila.identity_provider_class`).
"""

from __future__ import annotations

from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.utils import ensure_async
from tornado import web


class ClosingTabIdentityProvider(PasswordIdentityProvider):
    """Voilà's default identity provider, setting the `_xsrf` cookie on every page it serves."""

    async def get_user(self, handler: web.RequestHandler) -> User | None:
        user = await ensure_async(super().get_user(handler))
        if handler.request.method == "GET":
            handler.current_user = user  # what jupyter_server sets next; the cookie asks for it
            handler.xsrf_token  # noqa: B018  (reading it sets the cookie when it is missing)
        return user
