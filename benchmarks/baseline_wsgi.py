"""Baselines for the HTTP benchmark: the same 40 KB page from a bare WSGI callable and
from a plain Django view with startproject's default middleware (no database)."""

import os
from pathlib import Path

PAGE = (Path(os.environ.get("BENCH_PAGE", "/dev/null")).read_bytes() or b"x" * 40_000)


def bare(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))])
    return [PAGE]


def plain_django():
    from django.conf import settings

    settings.configure(
        DEBUG=False, SECRET_KEY="benchmark-only", ALLOWED_HOSTS=["127.0.0.1"], ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.messages"],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        DATABASES={},
    )
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def page(request):
    from django.http import HttpResponse

    return HttpResponse(PAGE)


if os.environ.get("BENCH_PLAIN_DJANGO"):
    from django.urls import path

    urlpatterns = [path("", page)]
    django_app = plain_django()
