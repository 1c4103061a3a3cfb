"""URLs of the chart pages (/charts/)."""

from django.urls import path

from machidata.charts import views

app_name = "charts"
urlpatterns = [
    path("", views.chart_list_view, name="list"),
    path("new/", views.chart_new_view, name="new"),
    path("preview/", views.chart_preview_view, name="preview"),
    path("<uuid:uuid>/", views.chart_detail_view, name="detail"),
    path("<uuid:uuid>/edit/", views.chart_edit_view, name="edit"),
    path("<uuid:uuid>/delete/", views.chart_delete_view, name="delete"),
    path("<uuid:uuid>/export/<str:fmt>/", views.chart_export_view, name="export"),
]
