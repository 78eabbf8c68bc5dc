"""Answering repeat anonymous requests ahead of Django.

A page that ``healthlib.pagecache.public_page`` serves from its cache still costs Django's
request handling and its whole middleware stack, which is most of the cost of such a hit.
``EarlyHitMiddleware`` keeps the finished response of such a hit, headers and all, under a
key made from the raw request and the content version (``early_key``);
``EarlyHitApplication`` (``healthlib.wsgi`` wraps Django in it) answers later requests for
the same address from it without entering Django. A publish retires both at once, since both
keys carry the content version. Addresses under per-client limits (search, the API) are
never answered early: their limits count every request.

Library choice: Django's ``FetchFromCacheMiddleware`` answers hits inside Django's handler
(request object, signals, the middleware before it), and its keys cannot carry the content
version; no maintained WSGI caching package keys by a version kept in the cache either.
Each worker also keeps its own copies of the answers it gave most recently
(``cachetools.LRUCache``, bounded by ``LOCAL_BYTES``), so a hot page costs one read of the
content version rather than a read and a decompression of the whole page: since a key holds
the content version, a copy can never outlive a publish.
"""

import hashlib
import logging
import re
import threading
import time
import uuid

from cachetools import LRUCache
from django.conf import settings
from django.core.cache import caches
from django.core.handlers.wsgi import get_path_info, get_script_name
from django.http.request import split_domain_port

from .pagecache import VERSION_ENVIRON, content_version, get_page, set_page, settings_fingerprint
from .ratelimit import environ_client_address
from .requestlog import REQUEST_ID_RE
from .requestlog import logger as request_logger

logger = logging.getLogger(__name__)

ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as django.middleware.gzip.GZipMiddleware reads Accept-Encoding
PER_REQUEST_HEADERS = ("X-Request-ID", "X-Accel-Expires")  # made afresh for each request
LOCAL_BYTES = 16 * 1024 * 1024  # each worker's own copies of recent answers, by body size
OUTAGE_PAUSE = 5  # seconds the layer stands aside after the cache could not be reached
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE")
# Settings that shape a finished response (its status and headers) beyond the page itself.
RESPONSE_SETTINGS = ("MIDDLEWARE", "ALLOWED_HOSTS", "DEBUG", "X_FRAME_OPTIONS", "USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT",
                     "SESSION_COOKIE_NAME", "APPEND_SLASH", "PREPEND_WWW")
_fingerprint = [None, ""]  # the settings object last seen, and the fingerprint of its RESPONSE_SETTINGS


def response_settings_fingerprint():
    """A short hash (str) of ``RESPONSE_SETTINGS``, every ``SECURE_*`` setting (HTTPS redirect,
    HSTS, CSP, …) and the page-wide settings: a server restarted with other values files its
    answers under other keys, so none is given with headers the new settings would not give."""
    wrapped = settings._wrapped
    if _fingerprint[0] is not wrapped:  # computed again whenever the settings object is replaced (tests)
        names = sorted({*RESPONSE_SETTINGS, *(name for name in dir(wrapped) if name.startswith("SECURE_"))})
        values = repr([(name, getattr(settings, name, None)) for name in names]) + settings_fingerprint()
        _fingerprint[:] = [wrapped, hashlib.sha256(values.encode()).hexdigest()[:12]]
    return _fingerprint[1]


def early_key(environ, version):
    """The cache key (a str) of the finished response to an anonymous GET or HEAD described
    by the WSGI ``environ`` (Django's ``request.META`` is one), under content ``version``.

    The key holds what such a response depends on: the scheme as Django reads it
    (``SECURE_PROXY_SSL_HEADER``), the host, the path, the raw query string, whether gzip is
    accepted, the settings that shape responses and the content version.
    """
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header and proxy_header[0] in environ:
        scheme = "https" if environ[proxy_header[0]].split(",", 1)[0].strip() == proxy_header[1] else "http"
    else:
        scheme = environ.get("wsgi.url_scheme", "http")
    host = (environ.get("HTTP_X_FORWARDED_HOST") if settings.USE_X_FORWARDED_HOST else None) or environ.get("HTTP_HOST", "")
    address = "\x1f".join((scheme, host.lower(), environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                           environ.get("QUERY_STRING", ""), "gzip" if ACCEPTS_GZIP.search(environ.get("HTTP_ACCEPT_ENCODING", "")) else ""))
    return "early:%s:%s:%s" % (version, response_settings_fingerprint(), hashlib.sha256(address.encode()).hexdigest())


def answerable(environ):
    """Whether the request in ``environ`` may be answered ahead of Django: an anonymous
    (no session cookie) GET or HEAD with no body, that is not conditional."""
    return (environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get("CONTENT_LENGTH", "") in ("", "0")
            and not any(name in environ for name in CONDITIONAL) and settings.SESSION_COOKIE_NAME not in environ.get("HTTP_COOKIE", ""))


class EarlyHitMiddleware:
    """Keep the finished response of a page-cache hit for ``EarlyHitApplication``.

    First in ``MIDDLEWARE``, so it sees the response as every other middleware left it. What
    is kept: a ``200`` that ``public_page`` served from its cache (``response.early_hit``: the
    content version it came from, so a publish meanwhile cannot file an old page under the
    new version) to an anonymous GET whose query string is the one the page key holds, that
    no per-client limit counted (``request.limits_counted``: search, the API), that sets no
    cookie and varies on nothing but the encoding and the cookie. The host must name no port
    but the server's own, so ``Host: site:1``, ``site:2``, … cannot fill the cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        version = getattr(response, "early_hit", None)  # the content version the page came from
        if (version and request.method == "GET" and answerable(request.META) and response.status_code == 200
                and not getattr(request, "limits_counted", False)
                and not response.cookies and not response.streaming and self.plain_host(request)
                and {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()} <= {"accept-encoding", "cookie"}):
            headers = tuple((name, value) for name, value in response.items() if name not in PER_REQUEST_HEADERS)
            entry = (f"{response.status_code} {response.reason_phrase}", headers, response.content)
            set_page(caches["pages"], early_key(request.META, version), entry)
        return response

    @staticmethod
    def plain_host(request):
        _, port = split_domain_port(request.get_host())
        return not port or port == request.get_port()


class EarlyHitApplication:
    """WSGI middleware: answer a request whose finished response ``EarlyHitMiddleware`` kept,
    without entering Django; pass every other request to ``application``.

    Each answer gets its own ``X-Request-ID`` (the valid one a proxy sent, else a new one),
    the front's ``X-Accel-Expires`` and a line on the ``healthlib.request`` log, as Django's
    middleware would give it. A HEAD gets the headers alone. When the cache cannot be reached
    every request goes to Django, which serves it uncached.
    """

    def __init__(self, application):
        self.application = application
        self.recent = LRUCache(LOCAL_BYTES, getsizeof=lambda entry: len(entry[2]) + 1024)
        self.lock = threading.Lock()  # gunicorn's threaded workers share one layer
        self.resume_at = 0.0  # the cache could not be reached: stand aside until then

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        try:
            entry = self.entry(environ)
        except Exception:  # a fault here must never cost the request: Django answers it
            logger.exception("answering ahead of Django failed; passing the request on")
            entry = None
        if entry is None:
            return self.application(environ, start_response)
        status, headers, content = entry
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        start_response(status, [*headers, ("X-Request-ID", request_id), ("X-Accel-Expires", f"@{int(time.time())}")])
        head = environ["REQUEST_METHOD"] == "HEAD"
        fields = {
            "request_id": request_id,
            "method": environ["REQUEST_METHOD"],
            "path": get_script_name(environ).rstrip("/") + get_path_info(environ),
            "status": int(status.partition(" ")[0]),
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "bytes": 0 if head else len(content),
            "cache": "early",
            "client": environ_client_address(environ),
        }
        request_logger.info("%(method)s %(path)s %(status)s", fields, extra={"fields": fields})
        return [b""] if head else [content]

    def entry(self, environ):
        """The kept ``(status, headers, body)`` for the request in ``environ``, or ``None``."""
        if not answerable(environ) or time.monotonic() < self.resume_at:
            return None
        version = content_version()
        if version is None:  # unreachable: Django serves uncached, without this layer's timeouts first
            self.resume_at = time.monotonic() + OUTAGE_PAUSE
            return None
        environ[VERSION_ENVIRON] = version  # Django's page cache uses this read rather than its own
        key = early_key(environ, version)
        with self.lock:
            entry = self.recent.get(key)
        if entry is None:
            entry = get_page(caches["pages"], key)
            if entry is not None and len(entry[2]) <= LOCAL_BYTES // 16:
                with self.lock:
                    self.recent[key] = entry
        return entry
