"""Declaring a table (data owner only, audited), the checklist over real rows, and the internal standard CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.standards import definitions as d
from machidata.standards import selectors, services
from machidata.standards.models import StandardDeclaration

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db(transaction=True)

# ROWS have 区 (ward names), 人口, 面積, 日付, 時刻, 名前. 消防水利施設一覧: 種別 is 必須 with 選択肢.
MAPPING = {"種別": "名前", "備考": "区", "口径": "人口"}


@pytest.fixture
def table(actors: Actors, lake_home: Any) -> Table:
    ds = make_dataset(actors.org.health_div, classification="internal", slug="suiri")
    t = make_table(ds, name="t")
    write(t, ROWS[:6])
    return Table.objects.get(pk=t.pk)


def as_(actors: Actors, name: str) -> Any:
    return actor_for(actors.users[name])


def test_the_owner_declares_and_it_is_audited(actors: Actors, table: Table) -> None:
    decl = services.declaration_set(actor=as_(actors, "owner_editor"), table=table, standard_code="fire_hydrant",
                                    mapping={"口径": "人口", "種別": "名前", "備考": "区", "方書": ""})  # fmt: skip
    assert decl.standard == "fire_hydrant"
    assert list(decl.mapping.items()) == [
        ("種別", "名前"),
        ("口径", "人口"),
        ("備考", "区"),
    ]  # standard's order
    event = AuditEvent.objects.get(action="standards.declare")
    assert event.changes["mapping"] == {"種別": "名前", "口径": "人口", "備考": "区"}
    assert event.changes["before"] is None
    services.declaration_remove(actor=as_(actors, "owner_editor"), table=table)
    assert not StandardDeclaration.objects.exists()
    assert AuditEvent.objects.filter(action="standards.undeclare").count() == 1


@pytest.mark.parametrize(("who", "error"), [("owner_viewer", PermissionDenied), ("staff", PermissionDenied),
                                            ("other_editor", PermissionDenied)])  # fmt: skip
def test_only_those_who_may_edit_declare(
    actors: Actors, table: Table, who: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        services.declaration_set(
            actor=as_(actors, who), table=table, standard_code="fire_hydrant", mapping=MAPPING
        )
    assert not StandardDeclaration.objects.exists()
    assert not AuditEvent.objects.filter(action="standards.declare").exists()


def test_a_hidden_table_is_not_found(actors: Actors, lake_home: Any) -> None:
    ds = make_dataset(actors.org.health_div, classification="confidential", discoverable=False)
    t = make_table(ds, name="t")
    with pytest.raises(NotFound):
        services.declaration_set(
            actor=as_(actors, "staff"), table=t, standard_code="fire_hydrant", mapping={}
        )


@pytest.mark.parametrize(
    ("code", "mapping", "word"),
    [("fire_hydrant", {"種別": "ない列"}, "ない列"), ("fire_hydrant", {"種別": "区", "備考": "区"}, "すでに"),
     ("fire_hydrant", {"料金": "区"}, "項目ではありません"), ("tourism_ods", {}, "選べません"),
     ("no-such", {}, "選べません")],
)  # fmt: skip
def test_bad_declarations_are_refused_in_japanese(actors: Actors, table: Table, code: str, mapping: dict[str, str], word: str) -> None:  # fmt: skip
    with pytest.raises(InvalidInput) as exc:
        services.declaration_set(
            actor=as_(actors, "owner_editor"), table=table, standard_code=code, mapping=mapping
        )
    assert word in exc.value.message
    assert not StandardDeclaration.objects.exists()


def test_the_checklist_reads_the_rows(actors: Actors, table: Table) -> None:
    owner = as_(actors, "owner_editor")
    services.declaration_set(actor=owner, table=table, standard_code="fire_hydrant", mapping=MAPPING)
    state = selectors.table_standard(actor=as_(actors, "owner_viewer"), slug="suiri", name="t")
    assert state.checked_rows == 6
    assert not state.can_edit
    bad = [f for f in state.findings if f.level == "error"]
    assert [f.item for f in bad] == ["種別"]  # 店00… are not 消火栓・防火水そう…
    assert "6 件" in bad[0].message
    assert state.filled == {
        "都道府県コード又は市区町村コード": "431001",
        "都道府県名": "熊本県",
        "市区町村名": "熊本市",
    }
    assert state.file_name == "431001_fire_hydrant.csv"


def test_suggestions_are_not_saved(actors: Actors, table: Table) -> None:
    state = selectors.table_standard(
        actor=as_(actors, "owner_editor"), slug="suiri", name="t", standard_code="fire_hydrant"
    )
    assert state.declaration is None
    assert state.findings == []
    assert not StandardDeclaration.objects.exists()


def test_the_standard_csv_of_the_current_version(actors: Actors, table: Table) -> None:
    services.declaration_set(
        actor=as_(actors, "owner_editor"), table=table, standard_code="fire_hydrant", mapping=MAPPING
    )
    out = selectors.standard_download(
        actor=as_(actors, "owner_viewer"), table=table, version=table.current_version
    )  # type: ignore[arg-type]
    assert out.filename == "431001_fire_hydrant.csv"
    text = out.file.read().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    official = (
        (d.DATA / "templates" / "xxxxxx_fire_hydrant.csv").read_text("cp932").splitlines()[0].split(",")
    )
    assert rows[0] == official
    assert len(rows) == 7
    first = dict(zip(official, rows[1], strict=True))
    expected = ROWS[0]
    assert first == {"都道府県コード又は市区町村コード": "431001", "NO": "", "都道府県名": "熊本県", "市区町村名": "熊本市",
                     "種別": expected["名前"], "住所": "", "方書": "", "緯度": "", "経度": "",
                     "口径": str(expected["人口"]), "備考": expected["区"]}  # fmt: skip
    assert AuditEvent.objects.filter(action="standards.download").count() == 1


def test_staff_who_may_not_read_get_no_standard_csv(actors: Actors, lake_home: Any) -> None:
    ds: Dataset = make_dataset(actors.org.health_div, classification="restricted", slug="gentei")
    t = make_table(ds, name="t")
    write(t, ROWS[:2])
    t = Table.objects.get(pk=t.pk)
    services.declaration_set(
        actor=as_(actors, "owner_editor"), table=t, standard_code="fire_hydrant", mapping=MAPPING
    )
    with pytest.raises(NotFound):
        selectors.standard_download(actor=as_(actors, "staff"), table=t, version=t.current_version)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        selectors.table_standard(actor=as_(actors, "staff"), slug="gentei", name="t")
