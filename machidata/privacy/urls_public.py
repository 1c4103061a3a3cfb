"""The public 個人情報ファイル簿 (/open/personal-information-files/): entries marked for publication."""

from django.urls import path

from machidata.privacy import views_register as views

app_name = "privacy_public"
urlpatterns = [path("", views.register_public_view, name="register")]
