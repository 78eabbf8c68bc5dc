from django.urls import path

from . import views

app_name = "conditions"

urlpatterns = [
    path("conditions/", views.article_index, name="index"),
    path("conditions/letter/<slug:letter>/", views.article_index, name="letter"),
    path("conditions/<slug:slug>/", views.article_detail, name="article"),
    path("categories/<slug:slug>/", views.category_detail, name="category"),
]
