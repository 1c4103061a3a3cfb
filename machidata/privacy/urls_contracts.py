"""URLs of the contract terms pages (/privacy/contracts/)."""

from django.urls import path

from machidata.privacy import views_contracts as views

app_name = "privacy_contracts"
urlpatterns = [
    path("<slug:slug>/", views.contract_edit_view, name="edit"),
]
