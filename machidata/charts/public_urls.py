"""Public URLs of charts and dashboards (/open/charts/, /open/dashboards/): no sign-in, published only."""

from django.urls import path

from machidata.charts import views_public

app_name = "charts_public"
urlpatterns = [
    path("charts/", views_public.public_list_view, name="list"),
    path("charts/<uuid:uuid>/", views_public.public_chart_view, name="chart"),
    path("charts/<uuid:uuid>/export/<str:fmt>/", views_public.public_chart_export_view, name="chart_export"),
    path("dashboards/<uuid:uuid>/", views_public.public_dashboard_view, name="dashboard"),
]
