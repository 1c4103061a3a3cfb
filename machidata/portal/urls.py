"""Public portal pages under /open/ and the CKAN Action API under /api/3/action/ and /api/action/."""

from django.urls import path

from machidata.portal import api, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("datasets/<slug:slug>/", views.dataset, name="dataset"),
    path("datasets/<slug:slug>/<slug:name>.csv", views.download, name="download"),
]

ckan_urlpatterns = (
    [
        path("3/action/<str:name>", api.action, name="action"),
        path("action/<str:name>", api.action, name="action_unversioned"),
    ],
    "ckan",
)
