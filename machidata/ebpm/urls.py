"""URLs of the EBPM pages (/ebpm/)."""

from django.urls import path

from machidata.ebpm import views, views_evaluations, views_pages, views_sheets

app_name = "ebpm"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.item_create, name="new"),
    path("calendar/", views.calendar, name="calendar"),
    path("review/", views_evaluations.review, name="review"),
    path("strategy/", views_evaluations.strategy, name="strategy"),
    path("strategy/survey/", views_evaluations.strategy_survey, name="strategy_survey"),
    path("review.csv", views_evaluations.review_export, {"fmt": "csv"}, name="review_csv"),
    path("review.xlsx", views_evaluations.review_export, {"fmt": "xlsx"}, name="review_xlsx"),
    path("<int:pk>/evaluations/new/", views_evaluations.evaluation_new, name="evaluation_new"),
    path("evaluations/<int:pk>/", views_evaluations.evaluation_detail, name="evaluation"),
    path("evaluations/<int:pk>/edit/", views_evaluations.evaluation_edit, name="evaluation_edit"),
    path("<int:pk>/plans/", views_evaluations.plan_add, name="plan_add"),
    path("plans/<int:pk>/remove/", views_evaluations.plan_remove, name="plan_remove"),
    path("pages/", views_pages.request_list, name="page_requests"),
    path("pages/<int:pk>/", views_pages.request_detail, name="page_request"),
    path("pages/<int:pk>/act/", views_pages.request_act, name="page_request_act"),
    path("pages/<int:pk>/cancel/", views_pages.request_cancel, name="page_request_cancel"),
    path("<int:pk>/page/", views_pages.request_new, name="page_new"),
    path("<int:pk>/page/withdraw/", views_pages.withdraw, name="page_withdraw"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/edit/", views.item_update, name="edit"),
    path("<int:pk>/stage/", views.item_stage, name="stage"),
    path("<int:pk>/budget/", views.item_budget, name="budget"),
    path("<int:pk>/logic-model/", views.model_edit, name="model_edit"),
    path("<int:pk>/logic-model.svg", views.model_svg, name="model_svg"),
    path("<int:pk>/logic-model.pptx", views_sheets.model_pptx, name="model_pptx"),
    path("<int:pk>/rs-sheet.zip", views_sheets.rs_zip, name="rs_zip"),
    path("<int:pk>/evaluation-sheet.xlsx", views_sheets.evaluation_sheet, name="evaluation_sheet"),
    path(
        "<int:pk>/evaluation-sheet/import/",
        views_sheets.evaluation_sheet_import,
        name="evaluation_sheet_import",
    ),
    path("evaluation-sheet-template.xlsx", views_sheets.sheet_template, name="sheet_template"),
    path("<int:pk>/logic-model/history/", views.model_history, name="model_history"),
    path("<int:pk>/indicators/new/", views.indicator_create, name="indicator_new"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator"),
    path("indicators/<int:pk>/target/", views.indicator_target, name="indicator_target"),
    path("indicators/<int:pk>/actual/", views.indicator_actual, name="indicator_actual"),
    path("indicators/<int:pk>/recompute/", views.indicator_recompute, name="indicator_recompute"),
    path("indicators/<int:pk>/query/", views.indicator_query, name="indicator_query"),
    path("indicators/<int:pk>/remove/", views.indicator_remove, name="indicator_remove"),
    path("indicators/<int:pk>/schedule/", views.indicator_schedule, name="indicator_schedule"),
]
