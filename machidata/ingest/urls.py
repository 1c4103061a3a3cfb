"""Ingest pages, mounted inside the catalog namespace under a dataset: catalog:ingest_upload, catalog:ingest_preview."""

from django.urls import path

from machidata.ingest import views

urlpatterns = [
    path("", views.upload, name="ingest_upload"),
    path("preview/", views.preview, name="ingest_preview"),
]
