"""The session cookie: its name and flags, set and cleared in one place.

Owns how the session ID travels to the browser: the ``__Host-`` cookie, path ``/``, Secure
(TLS only), HttpOnly (no script reads it) and SameSite=Strict (no cross-site request carries
it). Serves IoT-1005-1 5.1.1.3 (authentication resists replay and theft; the session itself is
``auth/sessions.py``'s) and 5.4.2.1 (the session ID only inside TLS).
"""

from __future__ import annotations

from starlette.responses import Response

from vigilcam.auth.sessions import COOKIE_NAME

__all__ = ["clear_session_cookie", "set_session_cookie"]


def set_session_cookie(response: Response, value: str, max_age: int) -> None:
    """Hand the browser its session ID for at most ``max_age`` seconds."""
    response.set_cookie(COOKIE_NAME, value, max_age=max_age, path="/", secure=True,
                        httponly=True, samesite="strict")


def clear_session_cookie(response: Response) -> None:
    """Tell the browser to forget the session ID (logout, reset, erasure)."""
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="strict")
