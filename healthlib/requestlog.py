"""Structured request logs: one JSON object per request on the ``healthlib.request`` logger.

Fields: time, request id (the ``X-Request-ID`` a proxy sent, else a new one, echoed on
the response), method, path, status, duration in ms, response bytes, cache hit/miss,
client address. JSON lines go straight into any log collector (journald, Loki, ELK).
"""

import json
import logging
import re
import time
import uuid

from .ratelimit import client_address

logger = logging.getLogger("healthlib.request")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname, "logger": record.name}
        entry.update(getattr(record, "fields", None) or {"message": record.getMessage()})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        fields = {
            "request_id": request.id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "bytes": len(response.content) if not response.streaming else None,
            "cache": response.get("X-Cache", ""),
            "client": client_address(request),  # the same address as rate limits and sign-in lockout
        }
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(level, "%(method)s %(path)s %(status)s", fields, extra={"fields": fields})
        return response
