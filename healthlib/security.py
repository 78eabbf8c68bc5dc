"""Security middleware Django does not ship: request-size limits checked before the body
is read, Permissions-Policy, and a 503 page when the database is unreachable (never a
traceback)."""

import logging
import re

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from .context_processors import site as site_context

logger = logging.getLogger(__name__)

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()" for feature in ("accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb")
)


MULTIPART_OVERHEAD = 1024 * 1024  # an image upload's form fields and multipart framing


class RequestSizeLimitMiddleware:
    """413 for a request whose Content-Length is over the limit, 400 for one that is not a
    number, before anything reads the body.

    Django's own limit, ``DATA_UPLOAD_MAX_MEMORY_SIZE``, is checked while the body is
    parsed and excludes file upload data (https://docs.djangoproject.com/en/stable/ref/settings/#data-upload-max-memory-size):
    an anonymous multipart POST of 400 MB to any form, carrying any well-formed CSRF cookie,
    was read in full and its file part spooled to disk before CSRF refused it. The
    Content-Length header alone is enough to refuse it. The limit is
    ``HEALTHLIB_MAX_REQUEST_BYTES``, except on the editors' image upload endpoint:
    ``HEALTHLIB_MAX_IMAGE_BYTES`` plus 1 MiB of multipart overhead, refused in that
    endpoint's own JSON shape, which the editor shows (conditions/editing.py). A body sent without
    Content-Length (chunked) reaches Django as empty, so it needs no check here.
    The front server enforces the same limits (deploy/nginx.conf, ``client_max_body_size``).
    """

    DIGITS = re.compile(r"[0-9]+")

    def __init__(self, get_response):
        self.get_response = get_response
        try:
            self.upload_path = reverse("markdownx_upload")
        except NoReverseMatch:  # a URLconf without the editor
            self.upload_path = None

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH", "").strip()
        if declared:
            if not self.DIGITS.fullmatch(declared):
                return HttpResponseBadRequest(
                    "Bad request: the Content-Length header is not a number.\n", content_type="text/plain; charset=utf-8"
                )
            size = int(declared)
            if request.path_info == self.upload_path:
                if size > settings.HEALTHLIB_MAX_IMAGE_BYTES + MULTIPART_OVERHEAD:
                    message = f"The upload is {size / 1e6:.1f} MB; the limit is {settings.HEALTHLIB_MAX_IMAGE_BYTES / 1e6:.0f} MB."
                    return JsonResponse({"image": [message]}, status=413)
            elif size > settings.HEALTHLIB_MAX_REQUEST_BYTES:
                return HttpResponse(
                    f"Request too large: this address accepts at most {settings.HEALTHLIB_MAX_REQUEST_BYTES / 1e6:.1f} MB.\n",
                    status=413,
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """No page needs the camera, microphone, location or payment APIs; say so to the browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached answers 503 with a friendly page and Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)) or type(exception) is DatabaseError:
            logger.error("database unavailable: %s", exception)
            response = HttpResponse(render_to_string("503.html", site_context(None)), status=503)
            response["Retry-After"] = "30"
            response["Cache-Control"] = "no-store"
            return response
        return None


def server_error(request):
    """The 500 page (``handler500``): static HTML with the site name, no template context that could fail."""
    from django.http import HttpResponseServerError

    return HttpResponseServerError(render_to_string("500.html", site_context(None)))
