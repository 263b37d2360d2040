"""A fixed-window rate limit per client, kept in Django's cache: how often a client may do a thing."""
from __future__ import annotations

from django.core.cache import cache


def allow(key: str, *, limit: int, window_s: int) -> bool:
    """Count one more use of `key` in the current window of `window_s` seconds; whether it is within
    `limit`. A cache per process (the default) limits per web process; a shared cache (Redis) limits
    across all of them."""
    if limit <= 0:
        return True
    if cache.add(key, 1, timeout=window_s):
        return True
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, timeout=window_s)
        return True


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, which a reverse proxy must set to the real client (nginx's
    real_ip module); a forwarded-for header is never trusted, any client can write one."""
    return request.META.get("REMOTE_ADDR", "")
