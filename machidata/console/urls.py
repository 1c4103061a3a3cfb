"""Routes of the SQL console page."""

from django.urls import path

from machidata.console import views

app_name = "console"
urlpatterns = [
    path("", views.console_page, name="page"),
]
