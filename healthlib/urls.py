from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path
from django.views.static import serve

from conditions import api, feeds, seo, sitemaps
from conditions import views as conditions_views

from . import views
from .pagecache import public_page
from .ratelimit import rate_limited

urlpatterns = [
    path("", conditions_views.home, name="home"),
    path("", include("conditions.urls")),
    path("search/", include("conditions.search.urls")),
    path("api/v1/", include("conditions.api")),
    # HL7 Infobutton: from a code on a patient's chart to our articles (conditions/infobutton.py).
    re_path(r"^infobutton/?$", api.knowledge_request, name="infobutton"),
    # The markdownx editor's preview and upload endpoints, hardened (conditions/editing.py).
    path("markdownx/", include("conditions.editing")),
    path("sitemap.xml", public_page(sitemap, query_params=("p",)), {"sitemaps": sitemaps.SITEMAPS}, name="sitemap"),
    path("robots.txt", public_page(seo.robots_txt), name="robots-txt"),
    path("feeds/rss/", public_page(feeds.LatestArticlesFeed()), name="feed-rss"),
    path("feeds/atom/", public_page(feeds.LatestArticlesAtomFeed()), name="feed-atom"),
    path("healthz", conditions_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says (the admin's pages say nothing).
    path("favicon.ico", views.favicon),
    # Sign-in attempts are limited per client before any password is hashed (django-axes
    # then locks a user name after repeated failures).
    path("admin/login/", rate_limited("login", "HEALTHLIB_LOGIN_RATE_LIMIT", methods=("POST",))(admin.site.login)),
    path("admin/", admin.site.urls),
]

if settings.HEALTHLIB_SERVE_MEDIA:
    # Uploaded images (re-encoded on upload, so safe to serve as they are) in the embedded default.
    urlpatterns.append(re_path(r"^%s(?P<path>.*)$" % settings.MEDIA_URL.lstrip("/"), serve, {"document_root": settings.MEDIA_ROOT}))

handler404 = "healthlib.views.page_not_found"
handler500 = "healthlib.security.server_error"
