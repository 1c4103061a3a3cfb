"""Survey pages: who sees what (404 for other 課), upload and confirm, tables, crosstab, free text, compare."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from machidata.core.testing import Actors
from machidata.surveys.models import Round, Survey
from machidata.surveys.tests.conftest import BUREAU, FREE, OBSTACLE, ROWS, forms_xlsx


def _pos(round_: Round, text: str) -> int:
    return round_.questions.get(text=text).position


@pytest.mark.parametrize(
    ("name", "status"),
    [("owner_viewer", 200), ("owner_editor", 200), ("admin", 200), ("staff", 404), ("other_editor", 404)],
)
def test_survey_page_is_for_the_owner_unit_and_admin(
    actors: Actors, survey: Survey, name: str, status: int
) -> None:
    assert actors.client(name).get(reverse("surveys:detail", args=[survey.pk])).status_code == status


def test_anonymous_is_sent_to_sign_in(actors: Actors, survey: Survey) -> None:
    response = actors.client("anonymous").get(reverse("surveys:list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_list_shows_only_visible_surveys(actors: Actors, survey: Survey) -> None:
    assert survey.title in actors.client("owner_viewer").get(reverse("surveys:list")).content.decode()
    assert survey.title not in actors.client("staff").get(reverse("surveys:list")).content.decode()


def test_create_from_the_list_page(actors: Actors) -> None:
    client = actors.client("owner_editor")
    response = client.post(
        reverse("surveys:list"), {"title": "市民アンケート", "unit_id": actors.org.health_div.pk}
    )
    assert response.status_code == 302
    assert Survey.objects.filter(title="市民アンケート").exists()
    bad = client.post(reverse("surveys:list"), {"title": "", "unit_id": actors.org.health_div.pk})
    assert bad.status_code == 400
    assert "調査名を入力してください" in bad.content.decode()


def test_upload_then_confirm_then_tables(actors: Actors, survey: Survey) -> None:
    client = actors.client("owner_editor")
    upload = SimpleUploadedFile("2023.xlsx", forms_xlsx([BUREAU, "職位", OBSTACLE, FREE], ROWS))
    response = client.post(reverse("surveys:detail", args=[survey.pk]), {"label": "2023年度", "file": upload})
    round_ = Round.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:questions", args=[round_.pk])
    page = client.get(reverse("surveys:questions", args=[round_.pk])).content.decode()
    assert "複数選択" in page
    assert "知識や活用スキル" in page
    form = {}
    for q in round_.questions.all():
        form[f"kind-{q.position}"] = q.kind
        form[f"options-{q.position}"] = "\n".join(q.options)
    form[f"options-{_pos(round_, OBSTACLE)}"] = (
        "業務繁忙\n予算;人員の不足\n知識や活用スキル\nデータがどこにあるのか分からない、探せない"
    )
    done = client.post(reverse("surveys:questions", args=[round_.pk]), form)
    assert done.status_code == 302
    tables = client.get(reverse("surveys:tables", args=[round_.pk])).content.decode()
    assert "n=7" in tables
    assert "無回答" in tables
    assert "予算;人員の不足" in tables


def test_bad_upload_shows_a_japanese_error_and_saves_nothing(actors: Actors, survey: Survey) -> None:
    client = actors.client("owner_editor")
    upload = SimpleUploadedFile("x.xlsx", forms_xlsx(["q"], [["a"]], header=["A", "B", "C", "D", "E"]))
    response = client.post(reverse("surveys:detail", args=[survey.pk]), {"label": "2023年度", "file": upload})
    assert response.status_code == 400
    assert "Microsoft Forms の書き出しではない" in response.content.decode()
    assert not Round.objects.exists()
    empty = client.post(reverse("surveys:detail", args=[survey.pk]), {"label": "2023年度"})
    assert empty.status_code == 400
    assert "ファイルが選ばれていません" in empty.content.decode()


def test_viewer_cannot_upload_or_confirm(actors: Actors, survey: Survey, draft: Round) -> None:
    client = actors.client("owner_viewer")
    upload = SimpleUploadedFile("2023.xlsx", forms_xlsx([BUREAU], [["財政局"]]))
    assert (
        client.post(reverse("surveys:detail", args=[survey.pk]), {"label": "x", "file": upload}).status_code
        == 403
    )
    assert client.post(reverse("surveys:questions", args=[draft.pk]), {}).status_code == 403


def test_crosstab_page_has_heatmap_and_admin_outside_the_unit_gets_suppressed_tables(
    actors: Actors, confirmed: Round
) -> None:
    url = reverse("surveys:crosstab", args=[confirmed.pk])
    query = {"by": _pos(confirmed, BUREAU), "of": _pos(confirmed, OBSTACLE)}
    owner = actors.client("owner_viewer").get(url, query).content.decode()
    assert 'data-vl-spec="crosstab-spec"' in owner
    assert "vega-bundle.min.js" in owner
    assert "＊" not in owner.split('id="crosstab-spec"')[0].split("<table")[-1]  # owner sees counts
    admin = actors.client("admin").get(url, query).content.decode()
    assert "秘匿処理をしています" in admin
    assert "＊" in admin


def test_freetext_and_compare_pages(actors: Actors, confirmed: Round) -> None:
    client = actors.client("owner_viewer")
    page = client.get(
        reverse("surveys:freetext", args=[confirmed.pk]),
        {"question": _pos(confirmed, FREE), "by": _pos(confirmed, BUREAU)},
    ).content.decode()
    assert "研修" in page
    assert "財政局" in page
    wrong = client.get(
        reverse("surveys:freetext", args=[confirmed.pk]), {"question": _pos(confirmed, BUREAU)}
    )
    assert wrong.status_code == 400
    assert "自由記述の質問ではありません" in wrong.content.decode()
    assert client.get(reverse("surveys:compare", args=[confirmed.survey_id])).status_code == 200


def test_targets_form(actors: Actors, confirmed: Round) -> None:
    client = actors.client("owner_editor")
    pos = _pos(confirmed, "職位")
    response = client.post(
        reverse("surveys:targets", args=[confirmed.pk]),
        {"question": pos, "target-0": "100", "target-1": "600"},
    )
    assert response.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.weight_targets == {str(pos): {"係長級": 100.0, "主事": 600.0}}
    page = client.get(reverse("surveys:tables", args=[confirmed.pk]), {"weighted": "1"}).content.decode()
    assert "重み付けした割合" in page


def test_targets_on_two_questions_rake_and_clear_removes_them(actors: Actors, confirmed: Round) -> None:
    from machidata.surveys.models import Response

    # give the one respondent without a bureau a bureau, so both margins cover everybody
    last = Response.objects.filter(round=confirmed).order_by("-id").first()
    assert last is not None
    last.answers[_pos(confirmed, BUREAU)] = "総務局"
    last.save()
    client = actors.client("owner_editor")
    url = reverse("surveys:targets", args=[confirmed.pk])
    client.post(url, {"question": _pos(confirmed, "職位"), "target-0": "100", "target-1": "300"})
    client.post(url, {"question": _pos(confirmed, BUREAU), "target-0": "150", "target-1": "250"})
    confirmed.refresh_from_db()
    assert set(confirmed.weight_targets) == {str(_pos(confirmed, "職位")), str(_pos(confirmed, BUREAU))}
    page = client.get(reverse("surveys:tables", args=[confirmed.pk]), {"weighted": "1"}).content.decode()
    assert "重み付けした割合" in page
    client.post(url, {"clear": "1"})
    confirmed.refresh_from_db()
    assert confirmed.weight_targets == {}


def test_compare_page_is_suppressed_outside_the_owner_unit(actors: Actors, confirmed: Round) -> None:
    """Regression: the compare page showed every share to 管理 (outside the 課) although the tables hid them."""
    from machidata.surveys.services import round_import
    from machidata.surveys.tests.conftest import as_actor, declare

    editor = as_actor(actors, "owner_editor")
    # 2024: 40 respondents to the obstacles; 業務繁忙 chosen by 38, 知識や活用スキル by 2 (a small cell)
    rows = [["財政局", "主事", "業務繁忙;"] for _ in range(38)] + [
        ["総務局", "主事", "知識や活用スキル;"] for _ in range(2)
    ]
    later = round_import(
        actor=editor,
        survey=confirmed.survey,
        label="2024年度",
        data=forms_xlsx([BUREAU, "職位", OBSTACLE], rows),
    )
    declare(later, editor)
    url = reverse("surveys:compare", args=[confirmed.survey_id])
    owner = actors.client("owner_viewer").get(url, {"question": OBSTACLE}).content.decode()
    assert "<td>5.0%</td>" in owner  # 2 / 40, shown inside the 課
    assert "<td>14.3%</td>" in owner  # 1 / 7 in 2023
    assert "＊" not in owner
    admin = actors.client("admin").get(url, {"question": OBSTACLE}).content.decode()
    assert "<td>5.0%</td>" not in admin  # small cells are hidden outside the 課, as on the tables page
    assert "<td>14.3%</td>" not in admin
    assert "<td>95.0%</td>" in admin  # 38 of 40 is not small (multi-select: cells do not add up to n)
    assert "＊" in admin
    assert "秘匿" in admin


def test_large_upload_from_the_page_goes_to_the_job(
    actors: Actors, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.jobs.models import Job
    from machidata.surveys import services

    monkeypatch.setattr(services, "SYNC_MAX_BYTES", 1000)
    upload = SimpleUploadedFile("2023.xlsx", forms_xlsx([BUREAU, "職位", OBSTACLE, FREE], ROWS))
    response = actors.client("owner_editor").post(
        reverse("surveys:detail", args=[survey.pk]), {"label": "2023年度", "file": upload}
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert job.status == "succeeded"
    assert Round.objects.get().respondents == 8


def test_outside_the_unit_the_crosstab_threshold_cannot_be_lowered(actors: Actors, confirmed: Round) -> None:
    url = reverse("surveys:crosstab", args=[confirmed.pk])
    query = {"by": _pos(confirmed, BUREAU), "of": _pos(confirmed, OBSTACLE), "threshold": 1}
    admin = actors.client("admin").get(url, query).content.decode()
    table = admin.split('id="crosstab-spec"')[1]
    assert "＊" in table  # still suppressed at 5
    assert "5人未満のセル" in admin
    owner = actors.client("owner_viewer").get(url, {**query, "suppress": 1}).content.decode()
    assert "＊" not in owner.split('id="crosstab-spec"')[1].split("</table>")[0]  # the owner may choose 1


def test_save_one_question_from_the_questions_page(actors: Actors, draft: Round) -> None:
    client = actors.client("owner_editor")
    url = reverse("surveys:questions", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "この質問だけ保存" in page
    position = _pos(draft, OBSTACLE)
    form = {f"kind-{q.position}": q.kind for q in draft.questions.all()}
    form |= {f"options-{position}": "業務繁忙\n予算;人員の不足", f"kind-{_pos(draft, BUREAU)}": "number"}
    saved = client.post(url, {**form, "only": str(position)})
    assert saved.status_code == 302  # the bureau question's wrong type was not part of it
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert draft.questions.get(position=position).options == ["業務繁忙", "予算;人員の不足"]
    assert draft.questions.get(text=BUREAU).kind == "single"
    refused = client.post(url, {**form, "only": str(_pos(draft, BUREAU))})
    assert refused.status_code == 400
    assert "数値でない回答があります" in refused.content.decode()
    assert client.get(url).status_code == 200
    assert actors.client("owner_viewer").post(url, {**form, "only": str(position)}).status_code == 403
