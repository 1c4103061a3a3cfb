"""Public portal pages under /open/, the CKAN Action API under /api/3/action/ and /api/action/, DCAT at /catalog.*."""

from django.urls import path, re_path

from machidata.portal import api, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("datasets/<slug:slug>/", views.dataset, name="dataset"),
    path("organizations/<str:code>/", views.organization, name="organization"),
    path("datasets/<slug:slug>/<slug:name>.csv", views.download, name="download"),
    path(
        "datasets/<slug:slug>/<slug:name>/standard/<str:filename>",
        views.standard_download,
        name="standard_download",
    ),
    path("datasets/<slug:slug>/datapackage.json", views.dataset_datapackage, name="datapackage"),
    # after datapackage.json, which the .json pattern would otherwise take for a table named "datapackage"
    re_path(
        r"^datasets/(?P<slug>[-a-zA-Z0-9_]+)/(?P<name>[-a-zA-Z0-9_]+)\.(?P<ext>xlsx|json|parquet|geojson)$",
        views.download,
        name="download_as",
    ),
    re_path(
        r"^datasets/(?P<slug>[-a-zA-Z0-9_]+)/dcat\.(?P<ext>ttl|rdf|jsonld)$",
        views.dataset_rdf,
        name="dataset_rdf",
    ),
]

# DCAT-AP 3 of the whole catalogue at the site's root: /catalog.ttl, /catalog.rdf, /catalog.jsonld
catalog_urlpatterns = (
    [re_path(r"^catalog\.(?P<ext>ttl|rdf|jsonld)$", views.catalog_rdf, name="catalog")],
    "dcat",
)

ckan_urlpatterns = (
    [
        path("3/action/<str:name>", api.action, name="action"),
        path("action/<str:name>", api.action, name="action_unversioned"),
    ],
    "ckan",
)
