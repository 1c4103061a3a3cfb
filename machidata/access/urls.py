from django.urls import path

from machidata.access import views

app_name = "access"
urlpatterns = [
    path("units/", views.unit_list, name="units"),
    path("tokens/", views.token_list, name="tokens"),
]
