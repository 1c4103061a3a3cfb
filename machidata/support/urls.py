"""URLs of the support pages (/support/)."""

from django.urls import path

from machidata.support import views, views_help, views_usage

app_name = "support"
urlpatterns = [
    path("", views.home, name="home"),
    path("consultations/", views.consultation_list, name="consultations"),
    path("consultations/new/", views.consultation_new, name="consultation_new"),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultation"),
    path("consultations/<int:pk>/assign/", views.consultation_assign, name="assign"),
    path("consultations/<int:pk>/log/", views.consultation_log, name="log"),
    path("consultations/<int:pk>/close/", views.consultation_close, name="close"),
    path("consultations/<int:pk>/withdraw/", views.consultation_withdraw, name="withdraw"),
    path("consultations/<int:pk>/reopen/", views.consultation_reopen, name="reopen"),
    path("training/", views.training, name="training"),
    path("training/courses/<int:pk>/test/", views.course_test, name="test"),
    path("training/sessions/<int:pk>/", views.session_detail, name="session"),
    path("training/attendance/<int:pk>/remove/", views.attendance_remove, name="attendance_remove"),
    path("training/coverage/", views.coverage, name="coverage"),
    path("training/core/", views.core_staff, name="core"),
    path("training/core/<int:pk>/end/", views.core_staff_end, name="core_end"),
    path("summary/", views.summary, name="summary"),
    path("usage/", views_usage.usage_home, name="usage"),
    path("usage/bureaus/<int:pk>/", views_usage.usage_bureau, name="usage_bureau"),
    path("usage/rollout/", views_usage.usage_rollout, name="usage_rollout"),
    path("guides/", views_help.guide_list, name="guides"),
    path("guides/<slug:slug>/", views_help.guide_detail, name="guide"),
    path("guides/<slug:slug>/history/", views_help.guide_history, name="guide_history"),
    path("guides/<slug:slug>/v/<int:number>/", views_help.guide_detail, name="guide_version"),
    path("guides/<slug:slug>/edit/", views_help.guide_edit, name="guide_edit"),
    path("questions/<slug:slug>/", views_help.dataset_questions, name="dataset_questions"),
    path("questions/<int:pk>/answer/", views_help.question_answer, name="question_answer"),
    path("questions/<int:pk>/faq/", views_help.question_faq, name="question_faq"),
    path("forum/", views_help.forum, name="forum"),
    path("forum/new/", views_help.thread_new, name="thread_new"),
    path("forum/<int:pk>/", views_help.thread_detail, name="thread"),
    path("forum/<int:pk>/faq/", views_help.thread_faq, name="thread_faq"),
    path("faq/", views_help.faq, name="faq"),
    path("cases/", views_help.case_list, name="cases"),
    path("cases/new/", views_help.case_new, name="case_new"),
    path("cases/<int:pk>/", views_help.case_detail, name="case"),
    path("cases/<int:pk>/edit/", views_help.case_edit, name="case_edit"),
    path("cases/<int:pk>/publish/", views_help.case_publish, name="case_publish"),
    path("cases/<int:pk>/copy/", views_help.case_copy, name="case_copy"),
]
