"""OpenID Connect sign-in (/sso/); the callback address is the one registered with the provider."""

from django.urls import path

from machidata.access import signin

app_name = "sso"
urlpatterns = [
    path("oidc/start/", signin.oidc_start, name="oidc_start"),
    path("oidc/callback/", signin.oidc_callback, name="oidc_callback"),
]
