"""URLs of the 利用申請 pages (/access-requests/)."""

from django.urls import path

from machidata.privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.request_list_view, name="list"),
    path("new/<slug:slug>/", views.request_create_view, name="new"),
    path("<int:pk>/", views.request_detail_view, name="detail"),
    path("<int:pk>/act/", views.request_act_view, name="act"),
    path("<int:pk>/cancel/", views.request_cancel_view, name="cancel"),
    path("<int:pk>/renew/", views.grant_renew_view, name="renew"),
    path("<int:pk>/revoke/", views.grant_revoke_view, name="revoke"),
]
