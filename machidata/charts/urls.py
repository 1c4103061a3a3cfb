"""URLs of the chart pages (/charts/)."""

from django.urls import path

from machidata.charts import views, views_dashboards, views_share

app_name = "charts"
urlpatterns = [
    path("", views.chart_list_view, name="list"),
    path("new/", views.chart_new_view, name="new"),
    path("preview/", views.chart_preview_view, name="preview"),
    path("boundaries/", views.boundary_list_view, name="boundaries"),
    path("boundaries/upload/", views.boundary_upload_view, name="boundary_upload"),
    path("<uuid:uuid>/", views.chart_detail_view, name="detail"),
    path("<uuid:uuid>/edit/", views.chart_edit_view, name="edit"),
    path("<uuid:uuid>/delete/", views.chart_delete_view, name="delete"),
    path("<uuid:uuid>/export/<str:fmt>/", views.chart_export_view, name="export"),
    path("<uuid:uuid>/public-request/", views_share.chart_public_request_view, name="public_request_new"),
    path("<uuid:uuid>/public-withdraw/", views_share.chart_public_withdraw_view, name="public_withdraw"),
    path("public-requests/<int:pk>/", views_share.public_request_view, name="public_request"),
    path("public-requests/<int:pk>/act/", views_share.public_request_act_view, name="public_request_act"),
    path(
        "public-requests/<int:pk>/cancel/",
        views_share.public_request_cancel_view,
        name="public_request_cancel",
    ),
    path(
        "dashboards/<uuid:uuid>/public-request/",
        views_share.dashboard_public_request_view,
        name="dashboard_public_request_new",
    ),
    path(
        "dashboards/<uuid:uuid>/public-withdraw/",
        views_share.dashboard_public_withdraw_view,
        name="dashboard_public_withdraw",
    ),
    path("dashboards/", views_dashboards.dashboard_list_view, name="dashboards"),
    path("dashboards/new/", views_dashboards.dashboard_new_view, name="dashboard_new"),
    path("dashboards/<uuid:uuid>/", views_dashboards.dashboard_detail_view, name="dashboard"),
    path(
        "dashboards/<uuid:uuid>/add-chart/",
        views_dashboards.dashboard_add_chart_view,
        name="dashboard_add_chart",
    ),
    path(
        "dashboards/<uuid:uuid>/add-text/",
        views_dashboards.dashboard_add_text_view,
        name="dashboard_add_text",
    ),
    path("dashboards/<uuid:uuid>/edit/", views_dashboards.dashboard_edit_view, name="dashboard_edit"),
    path(
        "dashboards/<uuid:uuid>/items/<int:index>/<str:move>/",
        views_dashboards.dashboard_item_view,
        name="dashboard_item",
    ),
    path(
        "dashboards/<uuid:uuid>/export/<str:fmt>/",
        views_dashboards.dashboard_export_view,
        name="dashboard_export",
    ),
    path(
        "dashboards/<uuid:uuid>/remove/<int:index>/",
        views_dashboards.dashboard_remove_view,
        name="dashboard_remove",
    ),
]
