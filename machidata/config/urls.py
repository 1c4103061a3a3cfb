"""URL map: each room mounts its own urls; the JSON API is the one NinjaAPI in config/api.py."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from machidata.access.signin import SignInView
from machidata.config.api import api
from machidata.core import views as core_views
from machidata.portal.urls import catalog_urlpatterns, ckan_urlpatterns

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.health, name="health"),
    path("readyz", core_views.ready, name="ready"),
    path("login/", SignInView.as_view(), name="login"),
    path("sso/", include("machidata.access.sso_urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("catalog/", include("machidata.catalog.urls")),
    path("org/", include("machidata.access.urls")),
    path("audit/", include("machidata.audit.urls")),
    path("jobs/", include("machidata.jobs.urls")),
    path("support/", include("machidata.support.urls")),
    path("data-requests/", include("machidata.datarequests.urls")),
    path("publication/", include("machidata.publish.urls")),
    path("access-requests/", include("machidata.privacy.urls")),
    path("privacy/register/", include("machidata.privacy.urls_register")),  # 個人情報ファイル簿
    path("privacy/uses/", include("machidata.privacy.urls_uses")),  # 承認された利用
    path("partners/", include("machidata.privacy.urls_partners")),  # 外部協力者
    path("privacy/contracts/", include("machidata.privacy.urls_contracts")),  # 契約条件
    path("deid/", include("machidata.deid.urls")),
    path("notifications/", include("machidata.notify.urls")),
    path("charts/", include("machidata.charts.urls")),
    path("prep/", include("machidata.prep.urls")),
    path("api/v1/", api.urls),
    path("open/projects/", include("machidata.ebpm.public_urls")),  # 事業の説明 (EBPM public pages)
    path("open/", include("machidata.charts.public_urls")),  # 公開グラフ・ダッシュボード
    path("open/personal-information-files/", include("machidata.privacy.urls_public")),  # 個人情報ファイル簿
    path("standards/", include("machidata.standards.urls")),
    path("api/", include(ckan_urlpatterns)),  # CKAN Action API: /api/3/action/<name>, /api/action/<name>
    path("", include(catalog_urlpatterns)),  # DCAT-AP 3: /catalog.ttl, /catalog.rdf, /catalog.jsonld
    path("admin/", admin.site.urls),
    path("surveys/", include("machidata.surveys.urls")),
    path("collect/", include("machidata.collect.urls")),
    path("ebpm/", include("machidata.ebpm.urls")),
    path("analysis/", include("machidata.analysis.urls")),
    path("sql/", include("machidata.console.urls")),
]

# The public portal in Japanese at /open/ and in English at /en/open/ (the English switch). Being the only
# language-prefixed patterns, they also make every other page Japanese whatever the browser asks for.
urlpatterns += i18n_patterns(path("open/", include("machidata.portal.urls")), prefix_default_language=False)
