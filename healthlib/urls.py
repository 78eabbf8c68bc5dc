from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("conditions.urls")),
    path("search/", views.search, name="search"),
    path("search/suggest/", views.suggest, name="search-suggest"),
    path("admin/", admin.site.urls),
]
