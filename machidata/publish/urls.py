"""URLs of the publication pages (/publication/)."""

from django.urls import path

from machidata.publish import views

app_name = "publish"
urlpatterns = [
    path("", views.request_list_view, name="list"),
    path("candidates/", views.candidates_view, name="candidates"),
    path("new/<slug:slug>/", views.request_create_view, name="new"),
    path("withdraw/<slug:slug>/", views.withdraw_create_view, name="withdraw"),
    path("tables/<slug:slug>/<slug:name>/", views.table_aggregate_view, name="table_aggregate"),
    path("<int:pk>/", views.request_detail_view, name="detail"),
    path("<int:pk>/act/", views.request_act_view, name="act"),
    path("<int:pk>/recheck/", views.request_recheck_view, name="recheck"),
    path("<int:pk>/override/", views.gate_override_view, name="override"),
    path("<int:pk>/cancel/", views.request_cancel_view, name="cancel"),
]
