"""URLs of the standard open-data sets (/standards/): templates for everyone, declarations for staff."""

from django.urls import path

from machidata.standards import views

app_name = "standards"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:code>/template.csv", views.template, name="template"),
    path("tables/<slug:slug>/<slug:name>/", views.table_page, name="table"),
    path("tables/<slug:slug>/<slug:name>/declare/", views.table_declare, name="declare"),
    path("tables/<slug:slug>/<slug:name>/undeclare/", views.table_undeclare, name="undeclare"),
    path("tables/<slug:slug>/<slug:name>/standard.csv", views.table_download, name="download"),
]
