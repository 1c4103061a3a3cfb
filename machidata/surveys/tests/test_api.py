"""Survey API: reads, writes (create, upload, declare and confirm, targets, delete) and the import job;
401 without sign-in, 404 for another 課, 403 for readers who may not write."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from machidata.audit.models import AuditEvent
from machidata.core.testing import Actors
from machidata.jobs.models import Job
from machidata.surveys import services
from machidata.surveys.models import Round, Survey
from machidata.surveys.tests.conftest import BUREAU, FREE, JA, OBSTACLE, OBSTACLES, POSITION, ROWS, forms_xlsx


@pytest.mark.parametrize(("name", "count"), [("owner_viewer", 1), ("admin", 1), ("staff", 0)])
def test_list(actors: Actors, confirmed: Round, name: str, count: int) -> None:
    response = actors.client(name).get("/api/v1/surveys/")
    assert response.status_code == 200
    assert len(response.json()) == count


def test_anonymous_gets_401(actors: Actors, confirmed: Round) -> None:
    assert actors.client("anonymous").get("/api/v1/surveys/").status_code == 401


def test_get_and_hidden(actors: Actors, confirmed: Round) -> None:
    body = actors.client("owner_viewer").get(f"/api/v1/surveys/{confirmed.survey_id}").json()
    assert body["rounds"][0]["label"] == "2023年度"
    assert body["rounds"][0]["respondents"] == 8
    assert actors.client("staff").get(f"/api/v1/surveys/{confirmed.survey_id}").status_code == 404
    assert actors.client("staff").get(f"/api/v1/surveys/rounds/{confirmed.pk}/tables").status_code == 404


def test_tables(actors: Actors, confirmed: Round) -> None:
    body = actors.client("owner_viewer").get(f"/api/v1/surveys/rounds/{confirmed.pk}/tables").json()
    obstacle = next(t for t in body["tables"] if t["question"]["text"] == OBSTACLE)
    assert (obstacle["n"], obstacle["no_answer"]) == (7, 1)
    assert next(r for r in obstacle["rows"] if r["option"] == "知識や活用スキル")["share"] == 3 / 7
    assert body["suppressed"] is False
    admin = actors.client("admin").get(f"/api/v1/surveys/rounds/{confirmed.pk}/tables").json()
    assert admin["suppressed"] is True
    hidden = [r for t in admin["tables"] for r in t["rows"] if r["hidden"]]
    assert hidden
    assert all(r["count"] is None and r["share"] is None for r in hidden)


def test_crosstab(actors: Actors, confirmed: Round) -> None:
    by = confirmed.questions.get(text=BUREAU).position
    of = confirmed.questions.get(text=OBSTACLE).position
    url = f"/api/v1/surveys/rounds/{confirmed.pk}/crosstab?by={by}&of={of}"
    body = actors.client("owner_viewer").get(url).json()
    assert [r["label"] for r in body["rows"]] == ["財政局", "総務局", "無回答"]
    assert body["rows"][0]["cells"][2]["count"] == 3
    assert body["heatmap"]["layer"][0]["mark"]["type"] == "rect"
    admin = actors.client("admin").get(url).json()
    assert admin["suppressed"] is True
    assert admin["hidden_cells"] > 0
    bad = actors.client("owner_viewer").get(f"/api/v1/surveys/rounds/{confirmed.pk}/crosstab?by={of}&of={by}")
    assert bad.status_code == 400
    assert "単一選択" in bad.json()["detail"]


# ---- writes: the same services as the pages --------------------------------------------------------


def _put(client: Any, url: str, body: object) -> Any:
    return client.put(url, data=json.dumps(body), content_type="application/json")


def _upload(client: Any, survey_id: int, data: bytes, label: str = "2023年度") -> Any:
    return client.post(
        f"/api/v1/surveys/{survey_id}/rounds", {"label": label, "file": SimpleUploadedFile("x.xlsx", data)}
    )


def test_create_survey(actors: Actors) -> None:
    body = {"title": "市民アンケート", "unit_id": actors.org.health_div.pk}
    made = actors.client("owner_editor").post("/api/v1/surveys/", body, content_type="application/json")
    assert made.status_code == 201
    assert made.json()["unit"] == actors.org.health_div.name
    assert Survey.objects.filter(title="市民アンケート").exists()
    refused = actors.client("staff").post("/api/v1/surveys/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "編集担当" in refused.json()["detail"]
    blank = actors.client("owner_editor").post(
        "/api/v1/surveys/", {**body, "title": " "}, content_type="application/json"
    )
    assert blank.status_code == 400
    assert "調査名を入力してください" in blank.json()["detail"]


def test_upload_declare_confirm_then_tables(actors: Actors, survey: Survey) -> None:
    client = actors.client("owner_editor")
    made = _upload(client, survey.pk, forms_xlsx([BUREAU, POSITION, OBSTACLE, FREE], ROWS))
    assert made.status_code == 201
    round_id = made.json()["id"]
    assert made.json()["status"] == "draft"
    assert made.json()["respondents"] == 8
    # the tables of an unconfirmed round are refused in Japanese
    early = client.get(f"/api/v1/surveys/rounds/{round_id}/tables")
    assert early.status_code == 400
    assert "まだ確定していません" in early.json()["detail"]
    proposal = client.get(f"/api/v1/surveys/rounds/{round_id}/questions").json()
    by_text = {q["text"]: q for q in proposal["questions"]}
    assert by_text[OBSTACLE]["guessed_kind"] == "multi"
    assert by_text[FREE]["guessed_kind"] == "text"
    assert by_text[BUREAU]["samples"][:2] == ["財政局", "財政局"]
    declaration = {"position": by_text[OBSTACLE]["position"], "kind": "multi", "options": OBSTACLES}
    done = _put(client, f"/api/v1/surveys/rounds/{round_id}/questions", {"questions": [declaration]})
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "confirmed"
    tables = client.get(f"/api/v1/surveys/rounds/{round_id}/tables").json()
    obstacle = next(t for t in tables["tables"] if t["question"]["text"] == OBSTACLE)
    assert (obstacle["n"], obstacle["no_answer"]) == (7, 1)
    assert "予算;人員の不足" in [r["option"] for r in obstacle["rows"]]
    assert AuditEvent.objects.filter(action="survey.questions_confirm", object_id=str(round_id)).exists()


def test_declaration_that_does_not_fit_is_refused_and_nothing_saved(actors: Actors, draft: Round) -> None:
    position = draft.questions.get(text=BUREAU).position
    bad = _put(
        actors.client("owner_editor"),
        f"/api/v1/surveys/rounds/{draft.pk}/questions",
        {"questions": [{"position": position, "kind": "number"}]},
    )
    assert bad.status_code == 400
    assert "数値でない回答があります" in bad.json()["detail"]
    assert f"q{position}" in bad.json()["errors"]
    draft.refresh_from_db()
    assert draft.status == "draft"
    missing = _put(
        actors.client("owner_editor"),
        f"/api/v1/surveys/rounds/{draft.pk}/questions",
        {"questions": [{"position": 99, "kind": "single"}]},
    )
    assert missing.status_code == 400
    assert "この回にありません" in missing.json()["detail"]


def test_bad_file_and_duplicate_ids_are_refused(actors: Actors, survey: Survey) -> None:
    client = actors.client("owner_editor")
    not_excel = _upload(client, survey.pk, b"ID,Name\n1,a\n")
    assert not_excel.status_code == 400
    assert "Excel（.xlsx）ファイルとして読めませんでした" in not_excel.json()["detail"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*JA, BUREAU])
    sheet.append([7, None, None, "", "", "財政局"])
    sheet.append([7, None, None, "", "", "総務局"])
    out = io.BytesIO()
    book.save(out)
    dupes = _upload(client, survey.pk, out.getvalue())
    assert dupes.status_code == 400
    assert "ID「7」が2行目と3行目で重複しています" in dupes.json()["detail"]
    no_file = client.post(f"/api/v1/surveys/{survey.pk}/rounds", {"label": "2023年度"})
    assert no_file.status_code == 400
    assert "ファイルが選ばれていません" in no_file.json()["detail"]
    assert not Round.objects.exists()


def test_writes_on_another_units_survey_are_404_and_viewers_403(actors: Actors, confirmed: Round) -> None:
    data = forms_xlsx([BUREAU], [["財政局"]])
    for name, status in [("staff", 404), ("other_editor", 404), ("owner_viewer", 403)]:
        client = actors.client(name)
        assert _upload(client, confirmed.survey_id, data, label="2030年度").status_code == status
        assert _put(client, f"/api/v1/surveys/rounds/{confirmed.pk}/questions", {}).status_code == status
        assert (
            _put(client, f"/api/v1/surveys/rounds/{confirmed.pk}/targets", {"targets": {}}).status_code
            == status
        )
        assert client.delete(f"/api/v1/surveys/rounds/{confirmed.pk}").status_code == status
        assert client.get(f"/api/v1/surveys/rounds/{confirmed.pk}/questions").status_code == (
            404 if status == 404 else 200
        )
    assert Round.objects.count() == 1
    assert (
        not AuditEvent.objects.filter(action__in=["survey.round_import", "survey.round_delete"])
        .exclude(object_id=str(confirmed.pk))
        .exists()
    )
    assert not AuditEvent.objects.filter(action="survey.round_delete").exists()


def test_targets_and_delete(actors: Actors, confirmed: Round) -> None:
    client = actors.client("owner_editor")
    bureau = confirmed.questions.get(text=POSITION).position  # answered by all (no 無回答)
    obstacle = confirmed.questions.get(text=OBSTACLE).position
    url = f"/api/v1/surveys/rounds/{confirmed.pk}/targets"
    ok = _put(client, url, {"targets": {str(bureau): {"係長級": 100, "主事": 300}}})
    assert ok.status_code == 200, ok.json()
    assert ok.json()["weighted"] is True
    confirmed.refresh_from_db()
    assert confirmed.weight_targets == {str(bureau): {"係長級": 100.0, "主事": 300.0}}
    multi = _put(client, url, {"targets": {str(obstacle): {"業務繁忙": 10}}})
    assert multi.status_code == 400
    assert "単一選択の質問です" in multi.json()["detail"]
    unknown = _put(client, url, {"targets": {str(bureau): {"経済観光局": 10}}})
    assert unknown.status_code == 400
    assert "選択肢「経済観光局」はありません" in unknown.json()["detail"]
    negative = _put(client, url, {"targets": {str(bureau): {"主事": -1}}})
    assert negative.status_code == 400
    assert "0より大きい数" in negative.json()["detail"]
    assert _put(client, url, {"targets": {}}).json()["weighted"] is False
    assert client.delete(f"/api/v1/surveys/rounds/{confirmed.pk}").status_code == 204
    assert not Round.objects.filter(pk=confirmed.pk).exists()
    assert client.delete(f"/api/v1/surveys/rounds/{confirmed.pk}").status_code == 404


# ---- a large export becomes a job -----------------------------------------------------------------


def test_large_export_is_imported_by_a_job_with_progress(
    actors: Actors, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "SYNC_MAX_BYTES", 1000)  # the test file is ~6 kB
    monkeypatch.setattr(services, "SAVE_BATCH", 3)
    data = forms_xlsx([BUREAU, POSITION, OBSTACLE, FREE], ROWS)
    assert len(data) > 1000
    client = actors.client("owner_editor")
    made = _upload(client, survey.pk, data)
    assert made.status_code == 202
    job = Job.objects.get(pk=made.json()["job_id"])  # run inline in tests (MACHIDATA_JOBS_IMMEDIATE)
    assert job.kind == "surveys.round_import"
    assert job.status == "succeeded", job.error
    assert (job.progress_done, job.progress_total) == (8, 8)
    round_ = Round.objects.get(pk=job.result["round_id"])
    assert (round_.label, round_.respondents, round_.responses.count()) == ("2023年度", 8, 8)
    assert job.result["link"]["url"].endswith(f"/rounds/{round_.pk}/questions/")
    assert not any(services.uploads_dir().iterdir())  # the stored file is removed
    # a label already used is refused before any job starts
    again = _upload(client, survey.pk, data)
    assert again.status_code == 400
    assert "すでにあります" in again.json()["detail"]
    assert Job.objects.count() == 1


def test_large_bad_export_fails_its_job_in_japanese(
    actors: Actors, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "SYNC_MAX_BYTES", 10)
    made = _upload(actors.client("owner_editor"), survey.pk, b"not an excel file at all")
    assert made.status_code == 202
    job = Job.objects.get(pk=made.json()["job_id"])
    assert job.status == "failed"
    assert "Excel（.xlsx）ファイルとして読めませんでした" in job.error
    assert not Round.objects.exists()
    assert not any(services.uploads_dir().iterdir())


def test_small_export_stays_synchronous(actors: Actors, survey: Survey) -> None:
    made = _upload(actors.client("owner_editor"), survey.pk, forms_xlsx([BUREAU], [["財政局"]]))
    assert made.status_code == 201
    assert not Job.objects.exists()


def test_too_large_is_refused_before_reading(
    actors: Actors, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_BYTES", 100)
    made = _upload(actors.client("owner_editor"), survey.pk, b"x" * 101)
    assert made.status_code == 400
    assert "ファイルが大きすぎます" in made.json()["detail"]


def test_declare_one_question_without_confirming(actors: Actors, draft: Round) -> None:
    position = draft.questions.get(text=OBSTACLE).position
    url = f"/api/v1/surveys/rounds/{draft.pk}/questions/{position}"
    done = _put(actors.client("owner_editor"), url, {"kind": "multi", "options": OBSTACLES})
    assert done.status_code == 200, done.json()
    assert done.json()["options"] == OBSTACLES
    draft.refresh_from_db()
    assert draft.status == "draft"
    bureau = draft.questions.get(text=BUREAU).position
    bad = _put(
        actors.client("owner_editor"),
        f"/api/v1/surveys/rounds/{draft.pk}/questions/{bureau}",
        {"kind": "number"},
    )
    assert bad.status_code == 400
    assert "数値でない回答があります" in bad.json()["detail"]
    missing = _put(actors.client("owner_editor"), f"/api/v1/surveys/rounds/{draft.pk}/questions/99", {})
    assert missing.status_code == 400
    assert _put(actors.client("owner_viewer"), url, {"kind": "text"}).status_code == 403
    assert _put(actors.client("other_editor"), url, {"kind": "text"}).status_code == 404
    assert AuditEvent.objects.filter(action="survey.question_declare").count() == 1
