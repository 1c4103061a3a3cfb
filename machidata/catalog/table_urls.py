"""Table (表) URLs, mounted by catalog/urls.py at ``<slug>/tables/`` inside the ``catalog`` namespace."""

from django.urls import path

from machidata.catalog import table_views

urlpatterns = [
    path("new/", table_views.table_create_view, name="table_create"),
    path("<slug:name>/", table_views.table_detail, name="table_detail"),
    path("<slug:name>/download/", table_views.table_download, name="table_download"),
    path("<slug:name>/schema/", table_views.table_schema_edit, name="table_schema_edit"),
    path("<slug:name>/versions/<int:number>/restore/", table_views.table_restore, name="table_restore"),
]
