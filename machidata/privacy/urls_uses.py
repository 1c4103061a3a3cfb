"""URLs of the register of approved uses (/privacy/uses/)."""

from django.urls import path

from machidata.privacy import views_uses as views

app_name = "privacy_uses"
urlpatterns = [
    path("", views.use_list_view, name="list"),
    path("new/", views.use_create_view, name="new"),
    path("export/", views.use_export_view, name="export"),
    path("<int:pk>/", views.use_detail_view, name="detail"),
    path("<int:pk>/document/", views.use_document_view, name="document"),
]
