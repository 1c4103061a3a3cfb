"""Staff's overrides of the inferred 項目定義 (type, unit, title, e-Stat symbols): preview form, CLI, pipeline."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from machidata.catalog.models import Table, TableVersion, VersionStatus
from machidata.core.errors import InvalidInput
from machidata.core.testing import make_dataset
from machidata.ingest.overrides import clean_overrides, infer_with_overrides, parse_pairs

# e-Stat style: "-" none, "x" suppressed; 受付番号 looks like an integer but is an identifier.
CSV = "受付番号,区,人口,面積\n1001,中央区,100,1.125\n1002,東区,x,2.25\n1003,西区,-,3.375\n1004,南区,400,4.5\n"


def _sample() -> pa.Table:
    lines = [line.split(",") for line in CSV.strip().split("\n")]
    head, rows = lines[0], lines[1:]
    return pa.table({h: pa.array([r[i] for r in rows], pa.string()) for i, h in enumerate(head)})


def _fields(schema):
    return {f.source_column: f for f in schema.fields}


def test_without_overrides_inference_reads_ids_as_integers_and_symbols_by_default():
    f = _fields(infer_with_overrides(_sample()))
    assert f["受付番号"].type == "integer"
    assert f["人口"].missing == {"x": "suppressed", "-": "none"}


def test_type_unit_and_title_overrides_are_applied():
    overrides = clean_overrides(
        {"fields": {"受付番号": {"type": "string"}, "面積": {"unit": "km2", "title": "面積（平方キロ）"}}}
    )
    f = _fields(infer_with_overrides(_sample(), overrides=overrides))
    assert f["受付番号"].type == "string"
    assert f["面積"].type == "number"
    assert (f["面積"].unit, f["面積"].title) == ("km2", "面積（平方キロ）")
    assert f["面積"].name == "面積"  # the column name stays the header


def test_symbol_meaning_override_and_forced_type_keeps_the_symbols():
    overrides = clean_overrides({"fields": {"人口": {"type": "number"}}, "missing": {"-": "suppressed"}})
    f = _fields(infer_with_overrides(_sample(), overrides=overrides))
    assert f["人口"].type == "number"
    assert f["人口"].missing == {"x": "suppressed", "-": "suppressed"}


def test_bad_overrides_get_japanese_messages():
    with pytest.raises(InvalidInput, match="型「int」は使えません"):
        clean_overrides({"fields": {"人口": {"type": "int"}}})
    with pytest.raises(InvalidInput, match="意味「secret」は使えません"):
        clean_overrides({"missing": {"x": "secret"}})
    with pytest.raises(InvalidInput, match="名前=値"):
        parse_pairs(["人口integer"], what="--type")
    with pytest.raises(InvalidInput, match="ファイルにありません"):
        infer_with_overrides(_sample(), overrides={"fields": {"人口数": {"type": "integer"}}})


@pytest.mark.django_db(transaction=True)
def test_cli_type_and_missing_options(actors, tmp_path, settings):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="cli-ov")
    path = tmp_path / "estat.csv"
    path.write_text(CSV, encoding="utf-8")
    out = io.StringIO()
    call_command(
        "ingest", str(path), "--dataset", d.slug, "--table", "t", "--quiet",
        "--type", "受付番号=string", "--unit", "人口=人", "--missing=-=suppressed",
        stdout=out,
    )  # fmt: skip
    summary = json.loads(out.getvalue())
    types = {c["name"]: c["type"] for c in summary["columns"]}
    assert types["受付番号"] in ("string", "large_string")
    fields = {f["name"]: f for f in Table.objects.get(dataset=d, name="t").schema["fields"]}
    assert fields["人口"]["unit"] == "人"
    assert fields["人口"]["machidata"]["missing"]["-"] == "suppressed"
    version = TableVersion.objects.get(table__dataset=d, status=VersionStatus.COMMITTED)
    assert version.reports["overrides"]["fields"]["受付番号"] == {"type": "string"}


@pytest.mark.django_db(transaction=True)
def test_cli_unknown_type_is_refused(actors, tmp_path, settings):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="cli-bad")
    path = tmp_path / "estat.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(CommandError, match="使える型"):
        call_command("ingest", str(path), "--dataset", d.slug, "--quiet", "--type", "人口=数値")
    assert not TableVersion.objects.filter(status=VersionStatus.COMMITTED).exists()


def _upload(client, slug: str, name: str = "estat.csv", **extra: str):
    upload = SimpleUploadedFile(name, CSV.encode("cp932"), content_type="text/csv")
    data = {"file": upload, "table": "", "mode": "replace", **extra}
    return client.post(reverse("catalog:ingest_upload", args=[slug]), data)


def _form_data(html: str) -> dict[str, str]:
    """The preview form's fields with their current values, as a browser would post them."""
    import re

    data: dict[str, str] = {}
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        sel = re.search(r'<option value="([^"]*)"[^>]*selected', m.group(2))
        data[m.group(1)] = sel.group(1) if sel else ""
    for m in re.finditer(r'<input type="text" name="([^"]+)"([^>]*)>', html):
        val = re.search(r'value="([^"]*)"', m.group(2))
        data[m.group(1)] = val.group(1) if val else ""
    return data


@pytest.mark.django_db(transaction=True)
def test_preview_form_overrides_type_unit_title_and_symbols(actors, settings, tmp_path):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="web-ov")
    client = actors.client("owner_editor")
    assert _upload(client, d.slug).status_code == 302
    url = reverse("catalog:ingest_preview", args=[d.slug])
    page = client.get(url).content.decode()
    assert "整数" in page  # Japanese type words, not codes
    assert ">integer<" not in page
    data = _form_data(page)
    columns = ["受付番号", "区", "人口", "面積"]
    i_id, i_pop, i_area = columns.index("受付番号"), columns.index("人口"), columns.index("面積")
    assert data[f"c{i_area}_unit"] == ""
    data[f"c{i_id}_type"] = "string"
    data[f"c{i_pop}_unit"] = "人"
    data[f"c{i_area}_title"] = "面積（平方キロ）"
    marker_fields = [k for k in data if k.startswith("m")]
    assert len(marker_fields) == 2  # "-" and "x" seen
    data["extra_marker"] = "***"
    data["extra_reason"] = "suppressed"
    reread = client.post(url, {**data, "reread": "1"}).content.decode()
    assert "型を「文字列」にします" in reread
    assert "記号「***」は" in reread
    # The shown values carry the overrides; posting them unchanged keeps them.
    data2 = _form_data(reread)
    assert data2[f"c{i_id}_type"] == "string"
    assert data2[f"c{i_pop}_unit"] == "人"
    started = client.post(url, {**data2, "start": "1"})
    assert started.status_code == 302
    table = Table.objects.get(dataset=d)
    fields = {f["name"]: f for f in table.schema["fields"]}
    assert fields["受付番号"]["type"] == "string"
    assert fields["人口"]["unit"] == "人"
    assert fields["面積"]["title"] == "面積（平方キロ）"
    assert fields["区"]["title"] == "区"  # untouched columns keep the inferred wording
    version = TableVersion.objects.get(table=table, status=VersionStatus.COMMITTED)
    assert version.reports["overrides"]["missing"] == {"***": "suppressed"}


@pytest.mark.django_db(transaction=True)
def test_new_table_name_comes_from_the_title_and_is_unique(actors, settings, tmp_path):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="web-name")
    client = actors.client("owner_editor")
    url = reverse("catalog:ingest_preview", args=[d.slug])
    for _ in range(2):
        assert (
            _upload(client, d.slug, name="data_2024.csv", new_table_title="救急出動件数").status_code == 302
        )
        assert client.post(url, {"start": "1"}).status_code == 302
    names = sorted(Table.objects.filter(dataset=d).values_list("name", flat=True))
    assert names == ["kyukyu-shutsudo-kensu", "kyukyu-shutsudo-kensu-2"]
    assert set(Table.objects.filter(dataset=d).values_list("title", flat=True)) == {"救急出動件数"}


@pytest.mark.django_db(transaction=True)
def test_unreadable_title_falls_back_to_table_n(actors, settings, tmp_path):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="web-sym")
    client = actors.client("owner_editor")
    assert _upload(client, d.slug, new_table_title="★☆").status_code == 302
    assert client.post(reverse("catalog:ingest_preview", args=[d.slug]), {"start": "1"}).status_code == 302
    assert list(Table.objects.filter(dataset=d).values_list("name", flat=True)) == ["table-1"]


def test_romanise_titles():
    from machidata.catalog.table_names import kana_to_romaji, romanise

    assert romanise("熊本市の人口（区別）") == "kumamotoshi-no-jinko-kubetsu"
    assert romanise("AED設置場所2024") == "aed-setchi-basho-2024"
    assert kana_to_romaji("キッチャテン") == "kitchaten"
    assert kana_to_romaji("ジュウショ") == "jusho"


@pytest.mark.django_db(transaction=True)
def test_type_words_are_japanese_on_every_staff_page(actors, settings, tmp_path):
    """Preview, job result, 項目定義, profile and 項目定義 edit show 整数/文字列（郵便番号）, never the codes."""
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="words")
    client = actors.client("owner_editor")
    csv = "郵便番号,年度,人口,開設日\n860-0001,令和5年度,100,令和6年4月1日\n862-0950,令和6年度,200,令和6年5月1日\n"
    upload = SimpleUploadedFile("w.csv", csv.encode("utf-8"), content_type="text/csv")
    client.post(reverse("catalog:ingest_upload", args=[d.slug]), {"file": upload, "mode": "replace"})
    preview = client.get(reverse("catalog:ingest_preview", args=[d.slug])).content.decode()
    for word in ("文字列（郵便番号）", "整数（年度）", "整数", "日付"):
        assert word in preview, word
    job = client.post(reverse("catalog:ingest_preview", args=[d.slug]), {"start": "1"}, follow=True)
    job_html = job.content.decode()
    assert "列「郵便番号」: 文字列（郵便番号）" in job_html
    assert "列「人口」: 整数" in job_html
    assert "int64" not in job_html
    table = Table.objects.get(dataset=d)
    page = client.get(reverse("catalog:table_detail", args=[d.slug, table.name])).content.decode()
    assert "<td>文字列（郵便番号）</td>" in page  # 項目定義
    assert "<code>年度</code>（整数（年度））" in page  # profile heading
    edit = client.get(reverse("catalog:table_schema_edit", args=[d.slug, table.name])).content.decode()
    assert "（日付）" in edit
    for code in (">integer<", ">date<", ">string<", "postal_code", "fiscal_year"):
        assert code not in page, code
        assert code not in preview, code
    api = client.get(f"/api/v1/datasets/{d.slug}/tables/{table.name}")
    assert api.status_code == 200
    api_fields = {f["name"]: f for f in api.json()["fields"]}
    assert api_fields["郵便番号"]["type"] == "string"  # the API keeps the codes
    assert api_fields["郵便番号"]["type_label"] == "文字列（郵便番号）"
