"""Routes of the analysis pages."""

from django.urls import path

from machidata.analysis import views

app_name = "analysis"
urlpatterns = [
    path("", views.analysis_list, name="list"),
    path("<int:pk>/", views.analysis_detail, name="detail"),
    path("<int:pk>/export/<str:fmt>", views.analysis_export, name="export"),
    path("sample-size/", views.sample_size_page, name="sample_size"),
]
