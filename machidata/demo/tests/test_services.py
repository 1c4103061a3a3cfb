"""The demo loader: idempotent, complete, audited, and true to its sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from machidata.access.models import Classification, Membership, PersonalData, Role, Unit, UnitKind
from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_verify_chain
from machidata.catalog.models import Category, DataFormat, Dataset, Licence
from machidata.demo import content
from machidata.demo.services import accounts_table, load_demo

pytestmark = pytest.mark.django_db

# The repo is /work/main and CI clones it with ../shared beside it.
REPO = Path(__file__).resolve().parents[3]
SHARED_REAL = (REPO / ".." / "shared" / "data" / "real").resolve()

MODELS = (Unit, Category, Licence, DataFormat, Dataset, Membership, get_user_model(), AuditEvent)


def _counts() -> dict[str, int]:
    counts = {m.__name__: m.objects.count() for m in MODELS}
    counts["formats"] = Dataset.formats.through.objects.count()
    return counts


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    load_demo(home=tmp_path / "home")
    return tmp_path / "home"


def test_load_twice_changes_nothing(loaded: Path) -> None:
    before = _counts()
    stamps = dict(Dataset.objects.values_list("identifier", "updated_at"))
    hashes = dict(get_user_model().objects.values_list("username", "password"))
    summary = load_demo(home=loaded)
    assert not summary.changed
    assert _counts() == before
    assert dict(Dataset.objects.values_list("identifier", "updated_at")) == stamps
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes


def test_sizes(loaded: Path) -> None:
    assert 40 <= Unit.objects.count() <= 80
    assert Dataset.objects.count() >= 30
    assert Category.objects.count() == 9
    assert set(DataFormat.objects.values_list("name", flat=True)) >= {
        "CSV",
        "Excel",
        "PDF",
        "GeoJSON",
        "紙",
        "業務システム",
    }


def test_organisation_shape(loaded: Path) -> None:
    def unit(name: str) -> Unit:
        return Unit.objects.get(name=name)

    ds = unit("データ戦略課")
    assert ds.full_name == "政策局 総合政策部 データ戦略課"
    assert unit("警防課").parent.parent.name == "消防局"
    assert unit("救急課").parent.parent.name == "消防局"
    for ward in ("中央区", "東区", "西区", "南区", "北区"):
        office = unit(f"{ward}役所")
        assert office.kind == UnitKind.WARD_OFFICE
        names = set(office.children.values_list("name", flat=True))
        assert {f"{ward} 区民課", f"{ward} 福祉課"} <= names
    assert unit("交通局").kind == UnitKind.ENTERPRISE
    assert unit("上下水道局").kind == UnitKind.ENTERPRISE
    assert unit("教育委員会").kind == UnitKind.COMMISSION
    for bureau in ("健康福祉局", "こども局", "環境局", "経済観光局", "都市建設局"):
        assert unit(bureau).kind == UnitKind.BUREAU


def test_every_classification_and_personal_class(loaded: Path) -> None:
    assert set(Dataset.objects.values_list("classification", flat=True)) == set(Classification.values)
    assert set(Dataset.objects.values_list("personal_data", flat=True)) == set(PersonalData.values)
    confidential = Dataset.objects.filter(classification=Classification.CONFIDENTIAL)
    assert confidential.filter(discoverable=True).exists()
    assert confidential.filter(discoverable=False).exists()


def test_locations_elsewhere(loaded: Path) -> None:
    for location in ("file_share", "business_system", "external_url", "paper"):
        rows = Dataset.objects.filter(location=location)
        assert rows.exists(), location
        assert all(d.location_detail for d in rows), location
    assert Dataset.objects.get(location="external_url").location_detail.startswith("https://")


def test_synthetic_entries_say_so(loaded: Path) -> None:
    synthetic = Dataset.objects.filter(is_synthetic=True)
    assert synthetic.count() >= 20
    for d in synthetic:
        assert "デモ用の合成データ" in d.description, d.title


def test_licences(loaded: Path) -> None:
    cc = Licence.objects.get(code="cc-by-4.0")
    assert cc.url == "https://creativecommons.org/licenses/by/4.0/deed.ja"
    assert cc.is_open
    pdl = Licence.objects.get(code="pdl-1.0")
    assert pdl.url == "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0"
    assert "PDL1.0" in pdl.name
    assert not Licence.objects.get(name="庁内利用のみ").is_open


# Licence and attribution per real file, as /work/shared/data/real/SOURCE.md gives them.
EXPECTED_REAL = {
    "431001_kumamoto_byouin_list.xlsx": ("cc-by-4.0", "熊本市オープンデータ（熊本市, CC BY 4.0）"),
    "431001_kumamoto_shinki_inshokuten_eigyo_kyoka.xlsx": (
        "cc-by-4.0",
        "熊本市オープンデータ（熊本市, CC BY 4.0）",
    ),
    "431001_kumamoto_inshokuten_eigyo_kyoka.csv": ("cc-by-4.0", "熊本市オープンデータ（熊本市, CC BY 4.0）"),
    "431001_kumamoto_yakkyoku_list.xlsx": ("cc-by-4.0", "熊本市オープンデータ（熊本市, CC BY 4.0）"),
    "350001_yamaguchi_tourism.csv": ("unverified", "山口県オープンデータ（観光施設一覧）"),
    "011002_sapporo_public_facility.csv": ("unverified", "札幌市（公共施設一覧）"),
    "372013_takamatsu_population_by_town_age_202303.csv": (
        "cc-by-4.0",
        "高松市オープンデータ（高松市, CC BY）",
    ),
    "372013_takamatsu_evacuation_space.csv": ("cc-by-4.0", "高松市オープンデータ（高松市, CC BY）"),
}


def test_real_file_entries_carry_source_and_licence(loaded: Path) -> None:
    real = {
        d.location_detail: d
        for d in Dataset.objects.filter(is_synthetic=False, location="machidata")
        if d.location_detail
    }
    assert set(real) == set(EXPECTED_REAL)
    for name, (licence, attribution) in EXPECTED_REAL.items():
        d = real[name]
        assert d.licence is not None
        assert d.licence.code == licence, name
        assert attribution in d.source_detail, name
        assert d.classification == Classification.PUBLIC


def test_real_files_exist_in_shared_folder(loaded: Path) -> None:
    if not SHARED_REAL.is_dir():
        pytest.skip(f"shared data folder not present: {SHARED_REAL}")
    for name in EXPECTED_REAL:
        assert (SHARED_REAL / name).is_file(), name
    # and every file SOURCE.md lists is catalogued
    on_disk = {p.name for p in SHARED_REAL.iterdir() if p.suffix in {".csv", ".xlsx"}}
    assert on_disk == set(content.REAL_FILES.values())


def test_strategy_datasets(loaded: Path) -> None:
    survey = Dataset.objects.get(title__contains="職員アンケート結果")
    assert "1,544" in survey.description
    assert survey.owner.name == "データ戦略課"
    assert not survey.is_synthetic
    kpi = Dataset.objects.get(title__contains="KPI")
    assert kpi.is_synthetic
    assert "データカタログにおけるデータ数" in kpi.description


def test_standard_datasets_present(loaded: Path) -> None:
    titles = set(Dataset.objects.values_list("title", flat=True))
    for name in ("AED設置箇所一覧", "指定緊急避難場所一覧", "公共施設一覧", "子育て施設一覧"):
        assert name in titles


def test_accounts_roles(loaded: Path) -> None:
    users = get_user_model().objects
    admin = users.get(username="admin")
    assert admin.is_staff
    assert not admin.is_superuser
    roles = {
        m.user.username: (m.unit.name, m.role) for m in Membership.objects.select_related("user", "unit")
    }
    assert roles["admin"] == ("データ戦略課", Role.ADMIN)
    assert roles["steward"] == ("健康づくり推進課", Role.EDITOR)
    assert roles["staff"] == ("警防課", Role.VIEWER)
    assert roles["steward2"][1] == Role.EDITOR
    assert roles["steward2"][0] != "健康づくり推進課"


@pytest.mark.parametrize(("username", "password"), [(a[0], a[5]) for a in content.ACCOUNTS])
def test_accounts_can_log_in_and_see_the_catalog(loaded: Path, username: str, password: str) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, "the sign-in form was shown again"
    assert client.get(reverse("catalog:list")).status_code == 200


def test_load_is_audited_as_system_once(loaded: Path) -> None:
    load_demo(home=loaded)
    events = AuditEvent.objects.filter(action="demo.load")
    assert events.count() == 1
    event = events.get()
    assert event.actor_id is None
    assert event.actor_label == "system:demo"
    assert event.changes["created"]["dataset"] == len(content.DATASETS)
    assert audit_verify_chain() == (True, None)


def test_reload_restores_edited_rows(loaded: Path) -> None:
    d = Dataset.objects.get(identifier="431001-00001")
    Dataset.objects.filter(pk=d.pk).update(title="書き換えたタイトル")
    d.formats.clear()
    summary = load_demo(home=loaded)
    d.refresh_from_db()
    assert d.title == "病院一覧（令和6年2月1日現在）"
    assert list(d.formats.values_list("code", flat=True)) == ["xlsx"]
    assert d.lock_version == 2
    assert summary.updated["dataset"] == 1
    assert AuditEvent.objects.filter(action="demo.load").count() == 2


def test_accounts_table_lists_every_account() -> None:
    table = accounts_table()
    assert "ユーザー名" in table
    assert "パスワード" in table
    for username, _d, _u, _r, _s, password in content.ACCOUNTS:
        assert username in table
        assert password in table
    assert "政策局 総合政策部 データ戦略課" in table
