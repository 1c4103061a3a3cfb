"""URLs of the data request pages (/data-requests/)."""

from django.urls import path

from machidata.datarequests import views

app_name = "datarequests"
urlpatterns = [
    path("", views.request_list_view, name="list"),
    path("new/", views.request_create_view, name="new"),
    path("<int:pk>/", views.request_detail_view, name="detail"),
    path("<int:pk>/route/", views.request_route_view, name="route"),
    path("<int:pk>/answer/", views.request_answer_view, name="answer"),
    path("<int:pk>/withdraw/", views.request_withdraw_view, name="withdraw"),
    path("<int:pk>/comment/", views.request_comment_view, name="comment"),
]
