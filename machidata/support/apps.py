"""App config of the support room: consultation desk (相談・伴走支援) and training (研修)."""

from __future__ import annotations

from django.apps import AppConfig


class SupportConfig(AppConfig):
    """相談・研修: the consultation desk, the training curriculum, tests and the コア人材 register."""

    name = "machidata.support"
    verbose_name = "相談・研修"
