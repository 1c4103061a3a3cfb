"""/api/v1/datasets: permissions (actors × status), tokens, CSRF, optimistic locking, XSS, validation, counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from machidata.access.models import ApiToken, Classification, PersonalData, Role
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Category, DataFormat, Dataset, Licence
from machidata.core.testing import Actors, check_statuses, make_dataset, make_token, make_user

pytestmark = pytest.mark.django_db

BASE = "/api/v1/datasets"
JSON = "application/json"


def _patch(client: Client, slug: str, body: dict[str, Any], **headers: str) -> Any:
    return client.patch(f"{BASE}/{slug}", data=json.dumps(body), content_type=JSON, headers=headers)


def _post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type=JSON, headers=headers)


def _messages(response: Any) -> str:
    """Every message in an error body (ours or django-ninja's validation list), joined."""
    body = response.json()
    detail = body.get("detail")
    if isinstance(detail, list):
        return " ".join(str(item.get("msg", "")) for item in detail)
    return f"{detail} {json.dumps(body.get('errors'), ensure_ascii=False)}"


@pytest.fixture
def datasets(actors: Actors) -> dict[str, Dataset]:
    org = actors.org
    return {
        "public": make_dataset(org.health_div, title="公開データ", classification=Classification.PUBLIC),
        "internal": make_dataset(org.health_div, title="庁内データ", classification=Classification.INTERNAL),
        "restricted": make_dataset(org.health_div, title="所属限定データ", description="説明です"),
        "secret": make_dataset(
            org.health_div,
            title="機密データ",
            classification=Classification.CONFIDENTIAL,
            description="秘密の説明",
            location_detail=r"\\fileserver\secret",
        ),
        "secret_listed": make_dataset(
            org.health_div,
            title="機密だが存在は示す",
            classification=Classification.CONFIDENTIAL,
            discoverable=True,
            description="伏せる説明",
            location_detail=r"\\fileserver\listed",
        ),
        "fire_personal": make_dataset(
            org.fire_div,
            title="救急搬送記録",
            classification=Classification.INTERNAL,
            personal_data=PersonalData.PERSONAL,
        ),
    }


@pytest.fixture
def vocab(db: None) -> dict[str, Any]:
    return {
        "category": Category.objects.create(code="health", name="健康・福祉"),
        "licence": Licence.objects.create(code="cc-by-4.0", name="CC BY 4.0", url="https://example.org/by"),
        "csv": DataFormat.objects.create(code="csv", name="CSV"),
        "xlsx": DataFormat.objects.create(code="xlsx", name="Excel"),
    }


# ---- list ----------------------------------------------------------------------------------------


def test_list_permissions(actors: Actors, datasets: dict[str, Dataset]) -> None:
    check_statuses(
        actors,
        lambda c: c.get(BASE),
        dict.fromkeys(("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin"), 200),
        label="list",
    )


def _titles(response: Any) -> set[str]:
    return {item["title"] for item in response.json()["items"]}


def test_list_counts_only_discoverable_entries(actors: Actors, datasets: dict[str, Dataset]) -> None:
    anon = actors.client("anonymous").get(BASE)
    assert anon.json()["count"] == 1
    assert _titles(anon) == {"公開データ"}
    staff = actors.client("staff").get(BASE)
    assert _titles(staff) == {
        "公開データ",
        "庁内データ",
        "所属限定データ",
        "機密だが存在は示す",
        "救急搬送記録",
    }
    assert staff.json()["count"] == 5
    owner = actors.client("owner_viewer").get(BASE)
    assert owner.json()["count"] == 6


def test_facet_counts_never_include_hidden_entries(actors: Actors, datasets: dict[str, Dataset]) -> None:
    body = actors.client("staff").get(BASE, {"facets": "true"}).json()
    by_class = {v["value"]: v["count"] for v in body["facets"]["classification"]}
    # the non-discoverable 機密 entry is not counted: one 機密 only
    assert by_class == {"public": 1, "internal": 2, "restricted": 1, "confidential": 1}
    depts = {v["value"]: v["count"] for v in body["facets"]["department"]}
    assert depts == {actors.org.health_div.code: 4, actors.org.fire_div.code: 1}

    anon = actors.client("anonymous").get(BASE, {"facets": "true"}).json()
    assert {v["value"]: v["count"] for v in anon["facets"]["classification"]} == {"public": 1}
    assert sum(v["count"] for v in anon["facets"]["department"]) == 1


def test_facets_absent_unless_asked(actors: Actors, datasets: dict[str, Dataset]) -> None:
    assert actors.client("staff").get(BASE).json()["facets"] is None


def test_list_filters(actors: Actors, datasets: dict[str, Dataset], vocab: dict[str, Any]) -> None:
    ds = datasets["internal"]
    ds.category = vocab["category"]
    ds.licence = vocab["licence"]
    ds.save()
    ds.formats.set([vocab["csv"]])
    client = actors.client("staff")
    assert _titles(client.get(BASE, {"classification": ["internal", "public"]})) == {
        "公開データ",
        "庁内データ",
        "救急搬送記録",
    }
    assert _titles(client.get(BASE, {"department": actors.org.fire_div.code})) == {"救急搬送記録"}
    assert _titles(client.get(BASE, {"category": "health"})) == {"庁内データ"}
    assert _titles(client.get(BASE, {"format": ["csv", "xlsx"]})) == {"庁内データ"}
    assert _titles(client.get(BASE, {"licence": "cc-by-4.0"})) == {"庁内データ"}
    assert _titles(client.get(BASE, {"q": "救急"})) == {"救急搬送記録"}
    # searching a hidden entry's words finds nothing
    assert client.get(BASE, {"q": "機密データ"}).json()["count"] == 0


def test_list_retired_only_on_request(actors: Actors, datasets: dict[str, Dataset]) -> None:
    from django.utils import timezone

    Dataset.objects.filter(pk=datasets["internal"].pk).update(retired_at=timezone.now())
    client = actors.client("staff")
    assert "庁内データ" not in _titles(client.get(BASE))
    assert "庁内データ" in _titles(client.get(BASE, {"retired": "true"}))


def test_list_paging(actors: Actors, datasets: dict[str, Dataset]) -> None:
    client = actors.client("owner_viewer")
    first = client.get(BASE, {"limit": 4}).json()
    assert (first["count"], first["limit"], first["offset"], len(first["items"])) == (6, 4, 0, 4)
    second = client.get(BASE, {"limit": 4, "offset": 4}).json()
    assert len(second["items"]) == 2
    seen = {i["slug"] for i in first["items"]} | {i["slug"] for i in second["items"]}
    assert seen == {d.slug for d in datasets.values()}
    assert client.get(BASE).json()["limit"] == 20
    assert client.get(BASE, {"limit": 1000}).json()["limit"] == 100  # clamped to the maximum
    assert client.get(BASE, {"limit": 0}).json()["limit"] == 1  # clamped to the minimum
    assert client.get(BASE, {"offset": -5}).status_code == 422  # a negative offset is refused, not guessed


# ---- detail --------------------------------------------------------------------------------------


def test_detail_restricted_entry(actors: Actors, datasets: dict[str, Dataset]) -> None:
    slug = datasets["restricted"].slug
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/{slug}"),
        {
            "anonymous": 404,
            "staff": 200,  # staff discover 所属限定 entries
            "owner_viewer": 200,
            "owner_editor": 200,
            "other_editor": 200,
            "admin": 200,
        },
        label="detail restricted",
    )


def test_detail_confidential_entry(actors: Actors, datasets: dict[str, Dataset]) -> None:
    slug = datasets["secret"].slug
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/{slug}"),
        {
            "anonymous": 404,
            "staff": 404,
            "owner_viewer": 200,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
        label="detail confidential",
    )


def test_detail_missing_and_hidden_answer_alike(actors: Actors, datasets: dict[str, Dataset]) -> None:
    client = actors.client("staff")
    hidden = client.get(f"{BASE}/{datasets['secret'].slug}")
    missing = client.get(f"{BASE}/no-such-dataset")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "データセットが見つかりません。"}


def test_detail_body(actors: Actors, datasets: dict[str, Dataset], vocab: dict[str, Any]) -> None:
    ds = datasets["restricted"]
    ds.category = vocab["category"]
    ds.licence = vocab["licence"]
    ds.keywords = ["健診", "母子"]
    ds.contact_email = "kenko@example.lg.jp"
    ds.save()
    ds.formats.set([vocab["csv"], vocab["xlsx"]])
    body = actors.client("owner_editor").get(f"{BASE}/{ds.slug}").json()
    assert body["identifier"] == ds.identifier
    assert body["title"] == "所属限定データ"
    assert body["owner"] == {
        "code": "200100",
        "name": "健康づくり推進課",
        "full_name": "健康福祉局 健康づくり推進課",
    }
    assert body["category"] == {"code": "health", "name": "健康・福祉"}
    assert body["licence"] == {"code": "cc-by-4.0", "name": "CC BY 4.0", "url": "https://example.org/by"}
    assert sorted(f["code"] for f in body["formats"]) == ["csv", "xlsx"]
    assert body["keywords"] == ["健診", "母子"]
    assert body["contact"] == {"email": "kenko@example.lg.jp", "phone": ""}
    assert body["classification"] == "restricted"
    assert body["classification_label"] == "所属限定（機密性2）"
    assert body["personal_data_label"] == "なし"
    assert body["description_html"] == "<p>説明です</p>\n"
    assert body["lock_version"] == 1
    assert body["temporal"] == {"start": None, "end": None}
    assert body["allowed_actions"] == ["discover", "edit", "read"]
    assert body["limited"] is False
    staff = actors.client("staff").get(f"{BASE}/{ds.slug}").json()
    assert staff["allowed_actions"] == ["discover"]


def test_discoverable_confidential_entry_shows_only_that_it_exists(
    actors: Actors, datasets: dict[str, Dataset]
) -> None:
    slug = datasets["secret_listed"].slug
    staff = actors.client("staff").get(f"{BASE}/{slug}").json()
    assert staff["title"] == "機密だが存在は示す"
    assert staff["owner"]["code"] == actors.org.health_div.code
    assert staff["limited"] is True
    assert staff["description"] == staff["description_html"] == staff["location_detail"] == ""
    owner = actors.client("owner_viewer").get(f"{BASE}/{slug}").json()
    assert owner["limited"] is False
    assert owner["description"] == "伏せる説明"
    assert owner["location_detail"] == r"\\fileserver\listed"
    listed = actors.client("staff").get(BASE).json()["items"]
    assert all(i["description"] == "" for i in listed if i["slug"] == slug)


# ---- tokens and CSRF -----------------------------------------------------------------------------


def test_bearer_token_acts_as_its_user(actors: Actors, datasets: dict[str, Dataset]) -> None:
    token = make_token(actors.users["owner_viewer"])
    client = Client()
    response = client.get(f"{BASE}/{datasets['secret'].slug}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    # without the token the same client is the anonymous public
    assert client.get(f"{BASE}/{datasets['secret'].slug}").status_code == 404


def test_revoked_or_unknown_token_is_refused(actors: Actors, datasets: dict[str, Dataset]) -> None:
    from django.utils import timezone

    token = make_token(actors.users["owner_viewer"])
    ApiToken.objects.update(revoked_at=timezone.now())
    client = Client()
    for raw in (token, "mdt_not-a-real-token"):
        auth = {"Authorization": f"Bearer {raw}"}
        assert client.get(f"{BASE}/{datasets['public'].slug}", headers=auth).status_code == 401
        assert client.get(BASE, headers=auth).status_code == 401
        assert (
            _patch(client, datasets["public"].slug, {"lock_version": 1, "title": "x"}, **auth).status_code
            == 401
        )


def test_token_of_inactive_user_is_refused(actors: Actors, datasets: dict[str, Dataset]) -> None:
    user = actors.users["owner_editor"]
    token = make_token(user)
    user.is_active = False
    user.save()
    response = Client().get(BASE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_session_post_without_csrf_token_is_refused(actors: Actors, vocab: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.users["owner_editor"])
    body = {"title": "新しいデータ", "owner": actors.org.health_div.code}
    refused = _post(client, BASE, body)
    assert refused.status_code == 403
    assert not Dataset.objects.filter(title="新しいデータ").exists()
    patch = _patch(client, "anything", {"lock_version": 1})
    assert patch.status_code == 403

    # the same request with the CSRF cookie and header goes through (so the refusal above was the CSRF check)
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    accepted = _post(client, BASE, body, **{"X-CSRFToken": secret})
    assert accepted.status_code == 201, accepted.content


def test_token_post_needs_no_csrf_token(actors: Actors) -> None:
    token = make_token(actors.users["owner_editor"])
    client = Client(enforce_csrf_checks=True)
    body = {"title": "トークンで登録", "owner": actors.org.health_div.code}
    response = _post(client, BASE, body, Authorization=f"Bearer {token}")
    assert response.status_code == 201, response.content
    assert Dataset.objects.get(title="トークンで登録").created_by == actors.users["owner_editor"]


# ---- create --------------------------------------------------------------------------------------


def test_create_permissions(actors: Actors, vocab: dict[str, Any]) -> None:
    health = actors.org.health_div.code
    counter = iter(range(100))

    def create(client: Client) -> Any:
        return _post(client, BASE, {"title": f"登録テスト{next(counter)}", "owner": health})

    check_statuses(
        actors,
        create,
        {
            "anonymous": 401,
            "staff": 403,
            "owner_viewer": 403,
            "owner_editor": 201,
            "other_editor": 403,
            "admin": 201,
        },
        label="create for health 課",
    )
    assert Dataset.objects.filter(title__startswith="登録テスト").count() == 2


def test_create_body_and_audit(actors: Actors, vocab: dict[str, Any]) -> None:
    client = actors.client("owner_editor")
    body = {
        "title": "乳幼児健診の受診状況",
        "owner": actors.org.health_div.code,
        "category": "health",
        "licence": "cc-by-4.0",
        "formats": ["csv", "xlsx"],
        "keywords": ["健診", "乳幼児"],
        "classification": "internal",
        "frequency": "yearly",
        "temporal_start": "2020-04-01",
        "temporal_end": "2024-03-31",
        "lg_code": "431001",
    }
    response = _post(client, BASE, body)
    assert response.status_code == 201, response.content
    out = response.json()
    ds = Dataset.objects.get(slug=out["slug"])
    assert ds.title == "乳幼児健診の受診状況"
    assert ds.category.code == "health"
    assert sorted(ds.formats.values_list("code", flat=True)) == ["csv", "xlsx"]
    assert ds.classification == "internal"
    assert out["temporal"] == {"start": "2020-04-01", "end": "2024-03-31"}
    assert out["frequency_label"] == "毎年度"
    assert out["identifier"].startswith("431001-")
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(ds.pk)).count() == 1


def test_create_public_needs_publication_route(actors: Actors) -> None:
    body = {"title": "いきなり公開", "owner": actors.org.health_div.code, "classification": "public"}
    response = _post(actors.client("owner_editor"), BASE, body)
    assert response.status_code == 403
    assert "公開申請" in response.json()["detail"]
    assert not Dataset.objects.filter(title="いきなり公開").exists()


def test_unknown_owner_code_is_a_japanese_400(actors: Actors) -> None:
    response = _post(actors.client("admin"), BASE, {"title": "所管課なし", "owner": "999999"})
    assert response.status_code == 400
    assert response.json()["detail"] == "データ所有者（所管課）「999999」が見つかりません。"
    assert response.json()["errors"] == {"owner": "999999"}
    assert not Dataset.objects.filter(title="所管課なし").exists()


def test_unknown_format_is_refused_and_nothing_saved(actors: Actors, vocab: dict[str, Any]) -> None:
    body = {"title": "形式違い", "owner": actors.org.health_div.code, "formats": ["csv", "mp3"]}
    response = _post(actors.client("owner_editor"), BASE, body)
    assert response.status_code == 400
    assert "mp3" in response.json()["detail"]
    assert not Dataset.objects.filter(title="形式違い").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "あ" * 201, "タイトルは200文字以内"),
        ("title_en", "a" * 201, "英語タイトルは200文字以内"),
        ("location_detail", "x" * 501, "所在の詳細は500文字以内"),
        ("lg_code", "1234567", "全国地方公共団体コードは6文字以内"),
        ("description", "長" * 20_001, "説明は20000文字以内"),
        ("classification", "top-secret", "公開区分（機密性）は次のいずれか"),
        ("frequency", "hourly", "更新頻度は次のいずれか"),
    ],
)
def test_oversize_and_unknown_choices_are_refused(
    actors: Actors, field: str, value: str, message: str
) -> None:
    body = {"title": "検証", "owner": actors.org.health_div.code, field: value}
    response = _post(actors.client("owner_editor"), BASE, body)
    assert response.status_code in {400, 422}
    assert message in _messages(response)
    assert Dataset.objects.count() == 0


def test_exactly_max_length_title_is_accepted(actors: Actors) -> None:
    body = {"title": "あ" * 200, "owner": actors.org.health_div.code}
    assert _post(actors.client("owner_editor"), BASE, body).status_code == 201


# ---- update (optimistic locking) ------------------------------------------------------------------


def test_update_permissions_restricted(actors: Actors, datasets: dict[str, Dataset]) -> None:
    slug = datasets["restricted"].slug

    def update(client: Client) -> Any:
        current = Dataset.objects.get(slug=slug).lock_version
        return _patch(client, slug, {"lock_version": current, "spatial": "熊本市全域"})

    check_statuses(
        actors,
        update,
        {
            "anonymous": (401, 404),
            "staff": 403,
            "owner_viewer": 403,
            "owner_editor": 200,
            "other_editor": 403,
            "admin": 200,
        },
        label="patch restricted",
    )
    assert Dataset.objects.get(slug=slug).lock_version == 3  # two successful edits


def test_update_permissions_confidential(actors: Actors, datasets: dict[str, Dataset]) -> None:
    slug = datasets["secret"].slug

    def update(client: Client) -> Any:
        current = Dataset.objects.get(slug=slug).lock_version
        return _patch(client, slug, {"lock_version": current, "spatial": "東区"})

    check_statuses(
        actors,
        update,
        {
            "anonymous": (401, 404),
            "staff": 404,  # not even told it exists
            "owner_viewer": 403,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
        label="patch confidential",
    )


def test_update_changes_only_sent_fields(actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    response = _patch(actors.client("owner_editor"), ds.slug, {"lock_version": 1, "title": "新しい名前"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "新しい名前"
    assert body["description"] == "説明です"
    assert body["lock_version"] == 2
    ds.refresh_from_db()
    assert (ds.title, ds.description, ds.lock_version) == ("新しい名前", "説明です", 2)
    event = AuditEvent.objects.get(action="dataset.update", object_id=str(ds.pk))
    assert event.changes["title"] == {"before": "所属限定データ", "after": "新しい名前"}


def test_stale_lock_version_is_a_409_and_changes_nothing(
    actors: Actors, datasets: dict[str, Dataset]
) -> None:
    ds = datasets["restricted"]
    editor = actors.client("owner_editor")
    first = _patch(editor, ds.slug, {"lock_version": 1, "title": "先に保存"})
    assert first.status_code == 200
    admin = actors.client("admin")  # signed in before counting: sign-ins are audited too
    events = AuditEvent.objects.filter(action__startswith="dataset.").count()

    stale = _patch(admin, ds.slug, {"lock_version": 1, "title": "後から上書き"})
    assert stale.status_code == 409
    body = stale.json()
    assert "ほかの人が先に" in body["detail"]
    assert body["current_lock_version"] == 2
    ds.refresh_from_db()
    assert (ds.title, ds.lock_version) == ("先に保存", 2)
    assert AuditEvent.objects.filter(action__startswith="dataset.").count() == events


def test_update_requires_lock_version(actors: Actors, datasets: dict[str, Dataset]) -> None:
    response = _patch(actors.client("owner_editor"), datasets["restricted"].slug, {"title": "ロックなし"})
    assert response.status_code in {400, 422}
    assert Dataset.objects.get(pk=datasets["restricted"].pk).title == "所属限定データ"


def test_update_refuses_blank_title_and_fixed_fields(actors: Actors, datasets: dict[str, Dataset]) -> None:
    slug = datasets["restricted"].slug
    editor = actors.client("owner_editor")
    blank = _patch(editor, slug, {"lock_version": 1, "title": "  "})
    assert blank.status_code in {400, 422}
    assert "タイトルを空にはできません" in _messages(blank)
    null = _patch(editor, slug, {"lock_version": 1, "title": None})
    assert null.status_code in {400, 422}
    unknown = _patch(editor, slug, {"lock_version": 1, "lock_version_x": 5, "retired_at": "2020-01-01"})
    # unknown keys are ignored by the schema, so nothing changes but the version
    assert unknown.status_code == 200
    assert Dataset.objects.get(slug=slug).retired_at is None


def test_update_clears_category_with_null(
    actors: Actors, datasets: dict[str, Dataset], vocab: dict[str, Any]
) -> None:
    ds = datasets["restricted"]
    ds.category = vocab["category"]
    ds.save()
    response = _patch(actors.client("owner_editor"), ds.slug, {"lock_version": 1, "category": None})
    assert response.status_code == 200, response.content
    assert response.json()["category"] is None
    ds.refresh_from_db()
    assert ds.category is None


def test_editor_cannot_give_away_ownership(actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    response = _patch(
        actors.client("owner_editor"), ds.slug, {"lock_version": 1, "owner": actors.org.fire_div.code}
    )
    assert response.status_code == 403
    assert Dataset.objects.get(pk=ds.pk).owner_id == actors.org.health_div.pk


# ---- XSS -----------------------------------------------------------------------------------------


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element and its attributes, as a browser's parser would see them."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_markup_is_returned_as_data_and_description_html_is_sanitised(actors: Actors) -> None:
    title = '<script>alert("t")</script><img src=x onerror=alert(1)>'
    description = (
        "# 見出し\n\n<script>alert('d')</script>\n\n"
        '[クリック](javascript:alert(1))\n\n<a href="javascript:alert(2)">生のリンク</a>\n\n'
        "[正しいリンク](https://example.org/)"
    )
    client = actors.client("owner_editor")
    created = _post(
        client, BASE, {"title": title, "owner": actors.org.health_div.code, "description": description}
    )
    assert created.status_code == 201, created.content
    body = client.get(f"{BASE}/{created.json()['slug']}").json()
    assert body["title"] == title  # data stays data; escaping is the renderer's job
    assert body["description"] == description
    html = body["description_html"]
    tags = _tags(html)
    assert "script" not in {tag for tag, _ in tags}
    hrefs = [value for _, attrs in tags for name, value in attrs if name == "href"]
    assert hrefs == ["https://example.org/"]  # the javascript: links did not become links
    assert not [name for _, attrs in tags for name, _ in attrs if name.startswith("on")]
    assert "<h1>見出し</h1>" in html
    assert 'href="https://example.org/"' in html
    assert created["Content-Type"].startswith("application/json")


# ---- retire --------------------------------------------------------------------------------------


def test_retire_permissions(actors: Actors, datasets: dict[str, Dataset]) -> None:
    org = actors.org
    targets = iter([make_dataset(org.health_div, title=f"廃止対象{i}") for i in range(6)])

    def retire(client: Client) -> Any:
        return _post(client, f"{BASE}/{next(targets).slug}/retire", {"reason": "統合のため"})

    check_statuses(
        actors,
        retire,
        {
            "anonymous": (401, 404),
            "staff": 403,
            "owner_viewer": 403,
            "owner_editor": 200,
            "other_editor": 403,
            "admin": 200,
        },
        label="retire",
    )
    assert Dataset.objects.filter(title__startswith="廃止対象", retired_at__isnull=False).count() == 2


def test_retire_records_reason_and_leaves_default_list(actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    client = actors.client("owner_editor")
    response = _post(client, f"{BASE}/{ds.slug}/retire", {"reason": "後継のデータに統合"})
    assert response.status_code == 200, response.content
    assert response.json()["retired_reason"] == "後継のデータに統合"
    assert response.json()["retired_at"] is not None
    assert ds.slug not in {i["slug"] for i in client.get(BASE).json()["items"]}
    assert client.get(f"{BASE}/{ds.slug}").status_code == 200  # still on record
    assert AuditEvent.objects.filter(action="dataset.retire", object_id=str(ds.pk)).exists()
    again = _post(client, f"{BASE}/{ds.slug}/retire", {"reason": "二度目"})
    assert again.status_code == 400
    assert "すでに廃止" in again.json()["detail"]


def test_retire_needs_a_reason(actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    response = _post(actors.client("owner_editor"), f"{BASE}/{ds.slug}/retire", {"reason": "   "})
    assert response.status_code in {400, 422}
    assert "廃止の理由を入力してください" in _messages(response)
    assert Dataset.objects.get(pk=ds.pk).retired_at is None


def test_granted_editor_may_edit(actors: Actors, datasets: dict[str, Dataset]) -> None:
    from machidata.catalog.models import DatasetGrant, GrantLevel

    outsider = make_user(unit=actors.org.fire_div, role=Role.VIEWER)
    ds = datasets["secret"]
    DatasetGrant.objects.create(dataset=ds, user=outsider, level=GrantLevel.EDIT)
    client = Client()
    client.force_login(outsider)
    assert client.get(f"{BASE}/{ds.slug}").status_code == 200
    assert _patch(client, ds.slug, {"lock_version": 1, "spatial": "全域"}).status_code == 200
