"""Per-client rate limits in the shared cache (fixed windows), answered with 429 and Retry-After.

A counter per client address and window lives in the ``default`` cache (Redis in
production), so the limit holds across every worker and server. ``cache.add`` starts a
window, ``cache.incr`` counts in it: both are atomic in Redis.

The client (``client_address``, also django-axes's address for sign-in lockouts) is
``REMOTE_ADDR``, unless that is one of the ``HEALTHLIB_TRUSTED_PROXY_IPS`` ranges: only
then is ``X-Forwarded-For`` read, because anyone who reaches gunicorn directly can write
that header. It is read from the right, skipping hops that are themselves trusted
proxies; the first untrusted address is the client, as nginx's realip module does with
``real_ip_recursive on`` ("the last non-trusted address sent in the request header
field", https://nginx.org/en/docs/http/ngx_http_realip_module.html); whatever lies
further left was written by the client itself. If every hop is trusted, the leftmost is
the client. An entry that is not an IP address stops the walk at the last trusted hop
(nginx does the same), so junk never becomes a client id.
"""

import ipaddress
import secrets
import time
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.http import JsonResponse
from django.shortcuts import render

from .pagecache import CACHE_ERRORS, cache_unavailable


def parse_rate(rate):
    """``"60/60"`` → (60 requests, 60 seconds)."""
    count, seconds = rate.split("/")
    return int(count), int(seconds)


def ip_address(text):
    """``text`` as an IP address (IPv4-mapped IPv6 as IPv4, no zone), or None."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if address.version == 6:
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.scope_id:
            return ipaddress.IPv6Address(str(address).partition("%")[0])
    return address


def client_address(request):
    """The address of the client that sent ``request``: ``REMOTE_ADDR``, or behind trusted
    proxies the rightmost untrusted ``X-Forwarded-For`` hop (see the module docstring)."""
    return environ_client_address(request.META)


def environ_client_address(meta):
    """``client_address`` from a WSGI environ (or ``request.META``) ``meta``: a str."""
    remote = meta.get("REMOTE_ADDR", "")
    client = ip_address(remote)
    if client is None:
        return remote  # not an IP connection (a Unix socket): nothing better to go on
    trusted = settings.HEALTHLIB_TRUSTED_PROXY_IPS
    if any(client in network for network in trusted):
        for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            if not hop.strip():
                continue
            address = ip_address(hop)
            if address is None:
                break  # junk: the last trusted hop stands
            client = address
            if not any(address in network for network in trusted):
                break
    return str(client)


def over_limit(request, scope, rate):
    """Seconds until the window resets when ``request`` exceeds ``rate`` in ``scope``, else 0.

    Marks ``request.limits_counted``: an address whose every request counts is never answered
    ahead of Django (``healthlib.earlyhits``)."""
    request.limits_counted = True
    limit, window = parse_rate(rate)
    now = int(time.time())
    start = now - now % window
    key = f"ratelimit:{scope}:{client_address(request)}:{start}"
    try:
        count = _count(caches["default"], key, window)
    except CACHE_ERRORS as error:
        # The shared counters are out of reach: each process counts on its own meanwhile, so
        # patients are answered and a client hammering the site (or a password) is still refused.
        cache_unavailable(error)
        count = _count(_FALLBACK, key, window)
    return (start + window - now) or 1 if count > limit else 0


# Per-process counters and slots while the shared cache cannot be reached (a limit then holds per worker).
_FALLBACK = LocMemCache("healthlib-limits-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


def _count(cache, key, window):
    if cache.add(key, 1, timeout=window + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return 1


IN_FLIGHT_SECONDS = 30  # gunicorn's worker timeout: a request still running by then is killed


@contextmanager
def running_slot(request, scope, limit):
    """Whether the client has a free slot to run one more request of ``scope`` (``with ... as
    allowed``): at most ``limit`` run at once per client; 0 means no limit.

    A rate limit bounds how many requests a client makes in a window, not how many run at
    once: sent together, a client's 60 costly searches would hold every worker for their
    whole time budget while other visitors wait. Each slot is a key in the ``default``
    cache holding its request's own token, taken with ``cache.add``, given back when the
    request ends, and expiring on its own should a worker die mid-request. ``add`` is
    atomic in Redis; the file cache of the embedded layout checks and then writes, so two
    near-simultaneous requests can both take a slot: reading the token back narrows that,
    and a request only ever gives back a slot still holding its own token, so such a race
    costs one extra search rather than freeing the slot while another still runs.
    """
    if not limit:
        yield True
        return
    cache = caches["default"]
    prefix, token = f"running:{scope}:{client_address(request)}", secrets.token_hex(8)

    def take(cache):
        return next((key for key in (f"{prefix}:{n}" for n in range(limit))
                     if cache.add(key, token, timeout=IN_FLIGHT_SECONDS) and cache.get(key) == token), None)

    try:
        slot = take(cache)
    except CACHE_ERRORS as error:  # per-process slots meanwhile (as over_limit counts)
        cache_unavailable(error)
        cache = _FALLBACK
        slot = take(cache)
    try:
        yield slot is not None
    finally:
        try:
            if slot is not None and cache.get(slot) == token:
                cache.delete(slot)
        except CACHE_ERRORS as error:  # the slot expires on its own
            cache_unavailable(error)


def rate_limited(scope, setting, json=False, methods=None, concurrency=None):
    """Limit a view to ``settings.<setting>`` requests per window per client (only
    requests whose method is in ``methods``, when given), and, when ``concurrency`` names
    a setting, to that many running at once per client (``running_slot``)."""

    def refuse(request, retry_after):
        message = "Too many requests. Please wait a moment and try again."
        if json:
            response = JsonResponse({"error": message}, status=429)
        else:
            response = render(request, "429.html", {"retry_after": retry_after}, status=429)
        response["Retry-After"] = str(retry_after)
        return response

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if methods is not None and request.method not in methods:
                return view(request, *args, **kwargs)
            retry_after = over_limit(request, scope, getattr(settings, setting))
            if retry_after:
                return refuse(request, retry_after)
            if concurrency is None:
                return view(request, *args, **kwargs)
            with running_slot(request, scope, getattr(settings, concurrency)) as allowed:
                return view(request, *args, **kwargs) if allowed else refuse(request, 1)

        return wrapper

    return decorator
