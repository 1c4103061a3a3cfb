"""URLs of the 外部協力者 pages (/partners/)."""

from django.urls import path

from machidata.privacy import views_partners as views

app_name = "partners"
urlpatterns = [
    path("", views.partner_list_view, name="list"),
    path("new/", views.partner_create_view, name="new"),
    path("mine/", views.partner_home_view, name="home"),
    path("<int:pk>/end/", views.partner_end_view, name="end"),
]
