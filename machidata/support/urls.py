"""URLs of the support pages (/support/)."""

from django.urls import path

from machidata.support import views

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
]
