"""Survey pages under /surveys/."""

from __future__ import annotations

from django.urls import path

from machidata.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list_view, name="list"),
    path("<int:pk>/", views.survey_detail_view, name="detail"),
    path("<int:pk>/compare/", views.survey_compare_view, name="compare"),
    path("rounds/<int:pk>/questions/", views.round_questions_view, name="questions"),
    path("rounds/<int:pk>/targets/", views.round_targets_view, name="targets"),
    path("rounds/<int:pk>/tables/", views.round_tables_view, name="tables"),
    path("rounds/<int:pk>/tables/export/", views.round_tables_export_view, name="tables_export"),
    path("rounds/<int:pk>/crosstab/", views.round_crosstab_view, name="crosstab"),
    path("rounds/<int:pk>/crosstab/export/", views.round_crosstab_export_view, name="crosstab_export"),
    path("rounds/<int:pk>/freetext/", views.round_freetext_view, name="freetext"),
    path("rounds/<int:pk>/delete/", views.round_delete_view, name="delete"),
]
