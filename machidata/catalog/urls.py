from django.urls import path

from machidata.catalog import views

app_name = "catalog"
urlpatterns = [path("", views.dataset_list, name="list")]
