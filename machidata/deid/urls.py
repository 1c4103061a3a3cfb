"""URLs of the 仮名加工・匿名加工 pages (/deid/)."""

from django.urls import path

from machidata.deid import views

app_name = "deid"
urlpatterns = [
    path("", views.index_view, name="index"),
    path("new/", views.plan_new_view, name="plan_new"),
    path("<int:pk>/", views.plan_detail_view, name="plan"),
    path("<int:pk>/run/", views.run_upload_view, name="run_upload"),
    path("runs/<int:pk>/", views.run_detail_view, name="run"),
]
