"""Public URLs of 事業 pages (/open/projects/): no sign-in, only published pages."""

from django.urls import path

from machidata.ebpm import views_public

app_name = "ebpm_public"
urlpatterns = [
    path("", views_public.page_list, name="list"),
    path("<int:pk>/", views_public.page_detail, name="detail"),
]
