"""Organisation pages (/org/)."""

from django.urls import path

from machidata.access import views

app_name = "access"
urlpatterns = [
    path("units/", views.unit_list, name="units"),
    path("import/", views.org_import, name="import"),
    path("import/preview/", views.org_import_preview, name="import_preview"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/new/", views.token_create, name="token_create"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
