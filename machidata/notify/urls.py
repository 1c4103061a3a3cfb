"""URLs of the notifications page (/notifications/)."""

from django.urls import path

from machidata.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.notification_list_view, name="list"),
    path("read/", views.notification_mark_all_view, name="mark_all"),
]
