"""Routes of the recipe pages."""

from django.urls import path

from machidata.prep import views

app_name = "prep"
urlpatterns = [
    path("", views.recipe_list, name="list"),
    path("<int:pk>/", views.recipe_detail, name="detail"),
    path("<int:pk>/steps/", views.step_add, name="step_add"),
    path("<int:pk>/steps/<int:index>/remove", views.step_remove, name="step_remove"),
    path("<int:pk>/steps/<int:index>/preview", views.step_preview, name="step_preview"),
    path("<int:pk>/sources/", views.source_add, name="source_add"),
    path("<int:pk>/run", views.recipe_run, name="run"),
    path("<int:pk>/certify", views.recipe_certify, name="certify"),
    path("starters/<slug:slug>/", views.starter, name="starter"),
    path("codes/", views.codelists, name="codelists"),
    path("codes/<slug:slug>/", views.codelist_detail, name="codelist"),
]
