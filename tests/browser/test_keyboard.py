"""Keyboard-only use of every form: each control is reached by Tab in a sensible order, is named, and
forms submit from the keyboard. Complements the axe checks in test_accessibility.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every visible, enabled control inside <main> forms, with its accessible name as the browser computes
# it (label, aria-label, or button text).
CONTROLS_JS = """
() => [...document.querySelectorAll('main form input, main form select, main form textarea, main form button')]
  .filter(e => e.type !== 'hidden' && !e.disabled && e.offsetParent !== null)
  .map(e => ({key: e.type === 'radio' ? 'radio:' + e.name : (e.id || e.name + ':' + (e.value || e.textContent.trim())),
              name: (e.labels && e.labels.length ? e.labels[0].textContent : '') || e.getAttribute('aria-label')
                    || e.textContent.trim() || e.value || ''}))
"""
ACTIVE_JS = """
() => { const e = document.activeElement; if (!e) return '';
  // a radio group is one Tab stop; the arrow keys move within it
  return e.type === 'radio' ? 'radio:' + e.name : (e.id || e.name + ':' + (e.value || e.textContent.trim())); }
"""


def _walk(page: Any, limit: int = 400) -> list[str]:
    """Tab from the top of the page until focus comes back round; the keys of what got focus, in order."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        key = page.evaluate(ACTIVE_JS)
        if key in seen[:1] and len(seen) > 1:
            break
        seen.append(key)
    return seen


def _form_pages(site: dict[str, Any]) -> list[str]:
    slug = site["dataset"].slug
    return [
        reverse("catalog:list"),
        reverse("catalog:create"),
        reverse("catalog:edit", args=[slug]),
        reverse("catalog:retire", args=[slug]),
        reverse("catalog:inventory_upload"),
        reverse("catalog:ingest_upload", args=[slug]),
        reverse("catalog:table_create", args=[slug]),
        reverse("access:import"),
        reverse("access:token_create"),
        reverse("access:units"),
        reverse("audit:list"),
        reverse("jobs:list"),
    ]


def test_every_form_control_is_reachable_and_named(page: Any, site: dict[str, Any]) -> None:
    login(page, site, "admin")
    problems = []
    for path in _form_pages(site):
        page.goto(site["url"] + path)
        controls = page.evaluate(CONTROLS_JS)
        focused = set(_walk(page))
        for c in controls:
            if c["key"] not in focused:
                problems.append(f"{path}: {c['key']} is not reachable by Tab")
            if not c["name"].strip():
                problems.append(f"{path}: {c['key']} has no accessible name")
    assert not problems, "\n".join(problems)


def test_token_is_created_and_revoked_by_keyboard(page: Any, site: dict[str, Any]) -> None:
    from machidata.access.models import ApiToken

    login(page, site, "staff")
    page.goto(site["url"] + reverse("access:token_create"))
    page.keyboard.press("Tab")  # skip link
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "INPUT":
            break
    page.keyboard.type("集計スクリプト用")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert ApiToken.objects.filter(name="集計スクリプト用", revoked_at__isnull=True).exists()


def test_audit_filter_by_keyboard(page: Any, site: dict[str, Any]) -> None:
    login(page, site, "admin")
    page.goto(site["url"] + reverse("audit:list"))
    page.focus("main form input[type=text], main form input[type=search], main form input:not([type])")
    page.keyboard.type("auth.login")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "auth.login" in page.url or "auth.login" in page.content()
