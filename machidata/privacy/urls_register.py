"""URLs of the 個人情報ファイル簿 pages (/privacy/register/) and its public list (/open/personal-information-files/)."""

from django.urls import path

from machidata.privacy import views_register as views

app_name = "privacy_register"
urlpatterns = [
    path("", views.register_list_view, name="list"),
    path("export/", views.register_export_view, name="export"),
    path("<slug:slug>/", views.register_entry_view, name="entry"),
    path("<slug:slug>/publish/", views.register_publish_view, name="publish"),
    path("<slug:slug>/retention/", views.retention_view, name="retention"),
]
