"""App config of the job runner: finds every room's ``jobs`` module so its job kinds are registered."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    """Background work: the Job table, the huey queue, periodic schedules."""

    name = "machidata.jobs"
    verbose_name = "処理状況"

    def ready(self) -> None:
        # Each room declares its job kinds and periodic schedules in ``<app>/jobs.py``; importing them
        # here means the web process (submitting) and the runner (executing) know the same kinds.
        autodiscover_modules("jobs")
