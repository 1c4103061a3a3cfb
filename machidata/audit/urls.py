from django.urls import path

from machidata.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("<int:pk>/", views.event_detail, name="detail"),
]
