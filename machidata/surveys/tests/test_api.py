"""Survey API: list, one survey, tables and crosstab; 401 without sign-in, 404 for another 課."""

from __future__ import annotations

import pytest

from machidata.core.testing import Actors
from machidata.surveys.models import Round
from machidata.surveys.tests.conftest import BUREAU, OBSTACLE


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
