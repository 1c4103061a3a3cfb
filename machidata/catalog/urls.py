"""Catalog URLs (namespace ``catalog``)."""

from django.urls import include, path

from machidata.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("new/", views.dataset_create_view, name="create"),
    path("export.<str:fmt>", views.catalog_export, name="export"),
    path("inventory/", include("machidata.catalog.inventory_urls")),
    path("<slug:slug>/", views.dataset_detail, name="detail"),
    path("<slug:slug>/edit/", views.dataset_edit_view, name="edit"),
    path("<slug:slug>/retire/", views.dataset_retire_view, name="retire"),
    path("<slug:slug>/ingest/", include("machidata.ingest.urls")),
    path("<slug:slug>/tables/", include("machidata.catalog.table_urls")),
]
