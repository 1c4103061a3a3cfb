"""Files of the tables and crosstabs: CSV with BOM and XLSX, n / 無回答 / ※, the page's suppression
outside the owner 課, the formula guard, and an audit event per download."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.urls import reverse
from openpyxl import load_workbook

from machidata.audit.models import AuditEvent
from machidata.core.testing import Actors
from machidata.surveys.models import Round, Survey
from machidata.surveys.services import round_import, round_questions_confirm
from machidata.surveys.tests.conftest import BUREAU, OBSTACLE, as_actor, forms_xlsx


def _csv(response: Any) -> list[list[str]]:
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _line(rows: list[list[str]], question: str, option: str) -> list[str]:
    return next(r for r in rows if r[0] == question and r[2] == option)


def test_owner_csv_has_counts_shares_n_no_answer_and_small_base(actors: Actors, confirmed: Round) -> None:
    response = actors.client("owner_viewer").get(reverse("surveys:tables_export", args=[confirmed.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    header = rows[0]
    assert header == ["質問", "種類", "選択肢", "人数", "割合（%）", "n（答えた人数）", "回答者", "注記"]
    skill = _line(rows, OBSTACLE, "知識や活用スキル")
    assert skill[3:8] == ["3", "42.9", "7", "8", "※回答者30人未満"]  # 3 of n = 7 answering
    assert _line(rows, OBSTACLE, "予算;人員の不足")[3] == "1"
    no_answer = _line(rows, OBSTACLE, "無回答（分母に含めない）")
    assert (no_answer[3], no_answer[4]) == ("1", "")
    event = AuditEvent.objects.get(action="survey.export")
    assert event.object_id == str(confirmed.pk)
    assert event.changes["format"] == "csv"
    assert event.changes["suppressed"] is False


def test_outside_the_unit_the_file_is_suppressed_exactly_as_the_tables(
    actors: Actors, confirmed: Round
) -> None:
    api = actors.client("admin").get(f"/api/v1/surveys/rounds/{confirmed.pk}/tables").json()
    shown = {
        (t["question"]["text"], r["option"]): (r["hidden"], r["count"])
        for t in api["tables"]
        for r in t["rows"]
    }
    assert any(hidden for hidden, _ in shown.values())
    rows = _csv(actors.client("admin").get(f"/api/v1/surveys/rounds/{confirmed.pk}/tables/export?format=csv"))
    for (question, option), (hidden, count) in shown.items():
        line = _line(rows, question, option)
        assert line[3] == ("＊" if hidden else str(count)), (question, option)
        if hidden:
            assert line[4] == "＊"
    assert _line(rows, OBSTACLE, "予算;人員の不足")[3] == "＊"  # a count of 1 never leaves the 課
    assert AuditEvent.objects.get(action="survey.export").changes["suppressed"] is True


def test_crosstab_xlsx_and_csv(actors: Actors, confirmed: Round) -> None:
    by = confirmed.questions.get(text=BUREAU).position
    of = confirmed.questions.get(text=OBSTACLE).position
    url = reverse("surveys:crosstab_export", args=[confirmed.pk])
    response = actors.client("owner_viewer").get(url, {"by": by, "of": of, "format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    values = [list(r) for r in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    header = next(r for r in values if r and r[0] == BUREAU)
    assert header[1] == "n（答えた人数）"
    assert "知識や活用スキル（人数）" in header
    finance = next(r for r in values if r and r[0] == "財政局")
    assert finance[1] == 3
    assert finance[header.index("知識や活用スキル（人数）")] == 3
    assert finance[header.index("知識や活用スキル（%）")] == 100.0
    assert finance[-1] == "※回答者30人未満"
    assert next(r for r in values if r and r[0] == "全体")[1] == 7
    # 管理 (outside the 課) cannot lower the threshold to see small cells
    api = f"/api/v1/surveys/rounds/{confirmed.pk}/crosstab/export?by={by}&of={of}&format=csv&threshold=1"
    rows = _csv(actors.client("admin").get(api))
    assert any("＊" in r for r in rows[1:])
    json_api = f"/api/v1/surveys/rounds/{confirmed.pk}/crosstab?by={by}&of={of}&threshold=1"
    body = actors.client("admin").get(json_api).json()
    assert body["threshold"] == 5
    assert body["hidden_cells"] > 0
    assert [
        e.changes["format"] for e in AuditEvent.objects.filter(action="survey.export").order_by("id")
    ] == [
        "xlsx",
        "csv",
    ]


def test_formula_like_options_stay_text(actors: Actors, survey: Survey) -> None:
    editor = as_actor(actors, "owner_editor")
    round_ = round_import(
        actor=editor,
        survey=survey,
        label="2023年度",
        data=forms_xlsx(["評価"], [["=1+1"], ["=1+1"], ["-なし-"], ["@SUM(A1)"]]),
    )
    position = round_.questions.get().position
    round_questions_confirm(
        actor=editor,
        round_=round_,
        declarations=[{"position": position, "kind": "single", "options": ["=1+1", "-なし-", "@SUM(A1)"]}],
    )
    client = actors.client("owner_editor")
    rows = _csv(client.get(reverse("surveys:tables_export", args=[round_.pk]), {"format": "csv"}))
    assert {r[2] for r in rows[1:]} >= {"'=1+1", "'-なし-", "'@SUM(A1)"}
    response = client.get(reverse("surveys:tables_export", args=[round_.pk]), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not any(c.data_type == "f" for c in cells)
    assert "'=1+1" in {c.value for c in cells}


def test_bad_requests(actors: Actors, confirmed: Round) -> None:
    client = actors.client("owner_viewer")
    page = client.get(reverse("surveys:tables_export", args=[confirmed.pk]), {"format": "pdf"})
    assert page.status_code == 302  # back to the tables with the message
    assert client.get(f"/api/v1/surveys/rounds/{confirmed.pk}/tables/export?format=pdf").status_code == 422
    crosstab = client.get(reverse("surveys:crosstab_export", args=[confirmed.pk]), {"format": "csv"})
    assert crosstab.status_code == 302
    assert (
        actors.client("staff").get(reverse("surveys:tables_export", args=[confirmed.pk])).status_code == 404
    )
    assert not AuditEvent.objects.filter(action="survey.export").exists()


def test_unconfirmed_round_has_no_file(actors: Actors, draft: Round) -> None:
    response = actors.client("owner_viewer").get(f"/api/v1/surveys/rounds/{draft.pk}/tables/export")
    assert response.status_code == 400
    assert "まだ確定していません" in response.json()["detail"]
