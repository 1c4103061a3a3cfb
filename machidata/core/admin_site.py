"""The Django admin site for 管理 (データ戦略課) only, whatever a user's is_staff flag says."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class MachidataAdminSite(admin.AdminSite):
    """Admin entry requires the 管理 role (or superuser) through the access policy."""

    site_header = "まちデータ 管理画面"
    site_title = "まちデータ 管理画面"
    index_title = "データ戦略課の管理メニュー"

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff with the 管理 role; is_staff alone is not enough."""
        from machidata.access.policy import actor_for  # models are not loaded when this module is

        return bool(super().has_permission(request) and actor_for(request.user).is_admin)


class MachidataAdminConfig(AdminConfig):
    """Installs :class:`MachidataAdminSite` as the default admin site."""

    default_site = "machidata.core.admin_site.MachidataAdminSite"
