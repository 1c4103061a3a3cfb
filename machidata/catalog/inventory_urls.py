"""Inventory import URLs, included under /catalog/inventory/ inside the ``catalog`` namespace."""

from django.urls import path

from machidata.catalog import inventory_views as views

urlpatterns = [
    path("", views.inventory_upload, name="inventory_upload"),
    path("sheet/", views.inventory_sheet, name="inventory_sheet"),
    path("mapping/", views.inventory_mapping, name="inventory_mapping"),
    path("preview/", views.inventory_preview, name="inventory_preview"),
    path("result/", views.inventory_result, name="inventory_result"),
    path("errors.csv", views.inventory_errors_csv, name="inventory_errors_csv"),
]
