"""Routes of the campaign (照会) and freshness pages."""

from django.urls import path

from machidata.collect import views, views_alerts, views_opendata

app_name = "collect"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("freshness/", views.freshness_list, name="freshness"),
    path("watching/", views.watch_list, name="watching"),
    path("watch/<slug:slug>", views.watch_toggle, name="watch"),
    path("alerts/", views_alerts.alert_list, name="alerts"),
    path("alerts/new/", views_alerts.alert_create, name="alert_new"),
    path("alerts/email", views_alerts.alert_email, name="alert_email"),
    path("alerts/<int:pk>/delete", views_alerts.alert_delete, name="alert_delete"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/scan", views.import_scan, name="import_scan"),
    path("opendata/", views_opendata.opendata_start_page, name="opendata"),
    path("opendata/<int:pk>/", views_opendata.opendata_detail, name="opendata_detail"),
    path("opendata/<int:pk>/run", views_opendata.opendata_run, name="opendata_run"),
    path("opendata/<int:pk>/publish", views_opendata.opendata_publish, name="opendata_publish"),
    path("opendata/<int:pk>/columns", views_opendata.opendata_columns, name="opendata_columns"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/close", views.campaign_close, name="close"),
    path("<int:pk>/r/<int:rid>/", views.recipient_detail, name="recipient"),
    path("<int:pk>/r/<int:rid>/template.xlsx", views.recipient_template, name="template"),
    path("<int:pk>/r/<int:rid>/upload", views.recipient_upload, name="upload"),
    path("<int:pk>/r/<int:rid>/rows", views.recipient_rows, name="rows"),
]
