"""Per-client rate limits in the shared cache (fixed windows), answered with 429 and Retry-After.

A counter per client address and window lives in the ``default`` cache (Redis in
production), so the limit holds across every worker and server. ``cache.add`` starts a
window, ``cache.incr`` counts in it: both are atomic in Redis. The client is
``REMOTE_ADDR``, unless ``HEALTHLIB_TRUSTED_PROXIES`` says how many proxies (load
balancers) stand in front: then it is the address that many hops from the right of
``X-Forwarded-For`` (the one the outermost trusted proxy saw); anything further left was
written by the client and is not trusted.
"""

import time
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django.shortcuts import render


def parse_rate(rate):
    """``"60/60"`` → (60 requests, 60 seconds)."""
    count, seconds = rate.split("/")
    return int(count), int(seconds)


def client_address(request):
    proxies = getattr(settings, "HEALTHLIB_TRUSTED_PROXIES", 0)
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies][:64]
    return request.META.get("REMOTE_ADDR", "")


def over_limit(request, scope, rate):
    """Seconds until the window resets when ``request`` exceeds ``rate`` in ``scope``, else 0."""
    limit, window = parse_rate(rate)
    now = int(time.time())
    start = now - now % window
    key = f"ratelimit:{scope}:{client_address(request)}:{start}"
    cache = caches["default"]
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 1)
            count = 1
    return (start + window - now) or 1 if count > limit else 0


def rate_limited(scope, setting, json=False):
    """Limit a view to ``settings.<setting>`` requests per window per client."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            retry_after = over_limit(request, scope, getattr(settings, setting))
            if retry_after:
                message = "Too many requests. Please wait a moment and try again."
                if json:
                    response = JsonResponse({"error": message}, status=429)
                else:
                    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
                response["Retry-After"] = str(retry_after)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
