"""Index and query behaviour: ranking, variants, synonyms, access filter, 絞り込み, paging, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from machidata.search.index import SearchDocument, build_index, open_index
from machidata.search.query import NOTHING_SEARCHABLE, SOME_WORDS, search, segments_html
from machidata.search.synonyms import load_synonyms


def _doc(
    ident: str, title: str, *, owner: str = "health", cls: str = "public", day: int = 1, **kw: object
) -> SearchDocument:
    return SearchDocument(
        identifier=ident,
        title=title,
        description=str(kw.pop("description", "")),
        keywords=list(kw.pop("keywords", [])),  # type: ignore[call-overload]
        category=str(kw.pop("category", "")),
        department=list(kw.pop("department", [])),  # type: ignore[call-overload]
        columns=list(kw.pop("columns", [])),  # type: ignore[call-overload]
        other=list(kw.pop("other", [])),  # type: ignore[call-overload]
        facets={"department": [owner], "classification": [cls], "category": [str(kw.pop("cat", "misc"))]},
        acl=[f"class:{cls}", f"owner:{owner}"],
        updated_at=datetime(2025, 1, day, tzinfo=UTC),
    )


DOCS = [
    _doc("pop-title", "町丁別人口", day=2, description="住民基本台帳の集計。", cat="population"),
    _doc("pop-desc", "住民基本台帳 集計表", day=9, description="町丁別の人口と世帯数。", cat="population"),
    _doc("kids", "子ども医療費助成件数", day=3, cat="children"),
    _doc("evac", "指定緊急避難場所一覧", owner="safety", day=4, cat="safety"),
    _doc("aed", "自動体外式除細動器 設置場所", owner="safety", day=5, cat="safety"),
    _doc("waste", "廃棄物処理量", owner="env", day=6, cat="environment"),
    _doc("ambulance", "救急出動件数（月別）", owner="safety", day=7, cat="safety", other=["431028"]),
    _doc("city", "市電乗降客数", owner="transport", day=8, cat="transport"),
    _doc("secret", "秘密の救急搬送記録", owner="safety", cls="confidential", day=10, cat="safety",
         keywords=["機密語ゼータ"]),
    _doc("xss", "<script>alert(1)</script> 人口", day=11, cat="population"),
    _doc("cols", "調査票", day=12, columns=["待機児童数"], cat="children"),
]  # fmt: skip
STAFF = ["class:public", "class:internal"]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build_index(tmp_path_factory.mktemp("search") / "index", DOCS)


def ids(res) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.identifier for h in res.hits]


def test_title_match_outranks_description_match(index) -> None:  # type: ignore[no-untyped-def]
    res = search(index, "町丁別人口", allowed_terms=STAFF)
    assert ids(res)[:2] == ["pop-title", "pop-desc"]


@pytest.mark.parametrize("q", ["子ども", "子供", "こども", "コドモ", "ｺﾄﾞﾓ"])
def test_orthographic_variants_find_the_same_entry(index, q: str) -> None:  # type: ignore[no-untyped-def]
    assert ids(search(index, q, allowed_terms=STAFF)) == ["kids"]


@pytest.mark.parametrize(
    ("q", "expected"), [("じんこう", "pop-title"), ("きゅうきゅう", "ambulance"), ("しでん", "city")]
)
def test_kana_queries_find_kanji_titles(index, q: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert expected in ids(search(index, q, allowed_terms=STAFF))


def test_one_and_two_character_queries(index) -> None:  # type: ignore[no-untyped-def]
    assert ids(search(index, "市", allowed_terms=STAFF)) == ["city"]
    assert {"pop-title", "pop-desc", "xss"} <= set(ids(search(index, "人口", allowed_terms=STAFF)))
    assert ids(search(index, "救急", allowed_terms=STAFF)) == ["ambulance"]


@pytest.mark.parametrize(
    ("q", "expected"), [("避難所", "evac"), ("ＡＥＤ", "aed"), ("aed", "aed"), ("ごみ", "waste")]
)
def test_default_synonyms(index, q: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert ids(search(index, q, allowed_terms=STAFF)) == [expected]


def test_admin_synonym_list_is_applied_at_query_time(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert ids(search(index, "路面電車", allowed_terms=STAFF)) == []
    f = tmp_path / "synonyms.txt"
    f.write_text("# 管理者が編集\n路面電車、市電\n", encoding="utf-8")
    syn = load_synonyms(f)
    assert ids(search(index, "路面電車", allowed_terms=STAFF, synonyms=syn)) == ["city"]


def test_codes_and_column_names_are_searched(index) -> None:  # type: ignore[no-untyped-def]
    assert ids(search(index, "431028", allowed_terms=STAFF)) == ["ambulance"]
    assert ids(search(index, "待機児童", allowed_terms=STAFF)) == ["cols"]


def test_hidden_entries_never_appear_in_hits_counts_or_suggestions(index) -> None:  # type: ignore[no-untyped-def]
    res = search(index, "救急", allowed_terms=STAFF)
    assert "secret" not in ids(res)
    assert res.total == 1
    assert dict(res.facets["classification"]) == {"public": 1}
    assert dict(res.facets["department"]) == {"safety": 1}
    # The hidden entry's own word finds nothing and is not suggested.
    res = search(index, "機密語ゼータ", allowed_terms=STAFF)
    assert res.total == 0
    assert res.hits == []
    assert res.facets == {}
    assert search(index, "機密語ゼー", allowed_terms=STAFF).suggestions == []
    # Someone allowed to discover it does see it and its count.
    res = search(index, "救急", allowed_terms=[*STAFF, "owner:safety"])
    assert set(ids(res)) == {"ambulance", "secret"}
    assert dict(res.facets["classification"]) == {"public": 1, "confidential": 1}


def test_allowed_ids(index) -> None:  # type: ignore[no-untyped-def]
    assert ids(search(index, "救急", allowed_ids={"secret"})) == ["secret"]
    assert ids(search(index, "救急", allowed_ids=set())) == []
    assert set(ids(search(index, "救急", allowed_ids={"secret"}, allowed_terms=["class:public"]))) == {
        "secret",
        "ambulance",
    }


def test_facet_counts_and_filters(index) -> None:  # type: ignore[no-untyped-def]
    res = search(index, "", allowed_terms=STAFF, per_page=100)
    assert res.total == 10
    assert dict(res.facets["category"]) == {
        "population": 3,
        "safety": 3,
        "children": 2,
        "environment": 1,
        "transport": 1,
    }
    res = search(index, "", allowed_terms=STAFF, filters={"category": ["safety"]})
    assert set(ids(res)) == {"evac", "aed", "ambulance"}
    assert dict(res.facets["department"]) == {"safety": 3}
    # Unknown facets and junk values are ignored, not errors.
    res = search(index, "", allowed_terms=STAFF, filters={"nope": ["x"], "category": ["", 3]})  # type: ignore[dict-item]
    assert res.total == 10


def test_sort_and_paging(index) -> None:  # type: ignore[no-untyped-def]
    newest = search(index, "", allowed_terms=STAFF, sort="updated", per_page=3)
    assert ids(newest) == ["cols", "xss", "pop-desc"]
    page2 = search(index, "", allowed_terms=STAFF, sort="updated", per_page=3, page=2)
    assert ids(page2) == ["city", "ambulance", "waste"]
    assert page2.pages == 4
    by_title = search(index, "", allowed_terms=STAFF, sort="title", per_page=2)
    assert ids(by_title)[0] == "xss"  # "<" sorts before letters and kana
    beyond = search(index, "", allowed_terms=STAFF, page=99)
    assert beyond.hits == []
    assert beyond.total == 10
    weird = search(index, "", allowed_terms=STAFF, page="x", per_page=-5)  # type: ignore[arg-type]
    assert weird.page == 1
    assert weird.per_page == 1


def test_highlight_marks_variants_and_escapes_html(index) -> None:  # type: ignore[no-untyped-def]
    hit = search(index, "こども", allowed_terms=STAFF).hits[0]
    assert hit.title_html == "<mark>子ども</mark>医療費助成件数"
    hit = next(h for h in search(index, "人口", allowed_terms=STAFF).hits if h.identifier == "xss")
    assert hit.title_html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>人口</mark>"
    assert segments_html([("a<b", True)]) == "<mark>a&lt;b</mark>"


def test_snippet_is_a_window_around_the_match(tmp_path: Path) -> None:
    long = "あ" * 300 + "救急搬送" + "い" * 300
    idx = build_index(tmp_path / "i", [_doc("long", "記録", description=long)])
    hit = search(idx, "救急", snippet_chars=40).hits[0]
    text = "".join(t for t, _ in hit.snippet)
    assert text.startswith("…")
    assert text.endswith("…")
    assert "救急" in text
    assert len(text) <= 42


def test_all_words_then_any_word(index) -> None:  # type: ignore[no-untyped-def]
    res = search(index, "救急 月別", allowed_terms=STAFF)
    assert ids(res) == ["ambulance"]
    assert res.matched_all_words
    res = search(index, "救急 温泉", allowed_terms=STAFF)
    assert ids(res) == ["ambulance"]
    assert not res.matched_all_words
    assert res.notice == SOME_WORDS


def test_suggestions_for_zero_results(index) -> None:  # type: ignore[no-untyped-def]
    res = search(index, "救急出勤件数", allowed_terms=STAFF)
    assert res.total == 0
    assert "救急出動件数" in res.suggestions
    assert "救急" in search(index, "ぎゅうきゅう", allowed_terms=STAFF).suggestions


def test_upsert_and_delete(tmp_path: Path) -> None:
    idx = open_index(tmp_path / "live")
    assert len(idx) == 0
    idx.upsert([_doc("a", "人口の推移"), _doc("b", "救急出動件数")])
    assert ids(search(idx, "人口")) == ["a"]
    idx.upsert([_doc("a", "世帯数の推移")])
    assert len(idx) == 2
    assert ids(search(idx, "人口")) == []
    assert ids(search(idx, "世帯")) == ["a"]
    idx.delete(["b"])
    assert ids(search(idx, "救急")) == []
    reopened = open_index(tmp_path / "live")
    assert ids(search(reopened, "世帯")) == ["a"]


def test_rebuild_swaps_in_a_new_index(tmp_path: Path) -> None:
    build_index(tmp_path / "ix", [_doc("old", "人口")])
    idx = build_index(tmp_path / "ix", [_doc("new", "人口")])
    assert ids(search(idx, "人口")) == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


BAD_INPUT = [
    "",
    " \u3000 ",
    "人口" * 5000,  # 10,000 characters
    "x" * 10_000,
    "！？、。・…「」（）",
    '"',
    '"人口',
    "*",
    "人口*",
    "NEAR",
    "人口 NEAR 世帯",
    "NEAR(人口 世帯, 2)",
    "title:人口",
    ":",
    "AND OR NOT ( ) { } [ ] ^ ~ \\",
    "😀🚑",
    "救急🚑",
    "\ud800",
    "人口\udfff",
    "\x00\x01",
    "%_",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("q", BAD_INPUT)
def test_bad_input_never_raises(index, q: str) -> None:  # type: ignore[no-untyped-def]
    res = search(index, q, allowed_terms=STAFF)
    assert res.total >= 0
    assert all(h.identifier != "secret" for h in res.hits)


def test_bad_input_gives_sensible_results(index) -> None:  # type: ignore[no-untyped-def]
    assert search(index, "", allowed_terms=STAFF).total == 10  # empty: browse everything allowed
    assert search(index, "！？。", allowed_terms=STAFF).notice == NOTHING_SEARCHABLE
    assert search(index, "😀", allowed_terms=STAFF).total == 0
    assert ids(search(index, "救急🚑", allowed_terms=STAFF)) == ["ambulance"]
    assert ids(search(index, "人口\udfff 町丁別", allowed_terms=STAFF))[0] == "pop-title"
    assert ids(search(index, '"救急*', allowed_terms=STAFF)) == ["ambulance"]
    assert search(index, "人口" * 5000, allowed_terms=STAFF).total >= 1
    assert search(index, None, allowed_terms=STAFF).total == 10  # type: ignore[arg-type]


# ---- one-pass 絞り込み counts, checked against counting the documents by hand --------------------------

_FORMATS = [["csv"], ["csv", "xlsx"], ["pdf"], ["xlsx"], []]
COUNT_DOCS = [
    SearchDocument(
        identifier=f"c{i}",
        title=f"救急出動件数 {i}" if i % 3 else f"人口 {i}",
        facets={
            "category": [["safety", "population", 'we"ird\\cat'][i % 3]],
            "department": [["d1", "d2"][i % 2]],
            "classification": [["public", "internal", "confidential"][i % 3]],
            "format": _FORMATS[i % 5],
            "state": ["retired" if i % 7 == 0 else "live"],
        },
        acl=[f"class:{['public', 'internal', 'confidential'][i % 3]}"],
        updated_at=datetime(2025, 1, 1 + i % 28, tzinfo=UTC),
    )
    for i in range(60)
]
COUNT_GROUPS = ("category", "department", "classification", "format", "state")


def _by_hand(query_ids: set[str], chosen: dict[str, list[str]], group: str) -> dict[str, int]:
    # The counts of ``group`` among the allowed documents the query finds that match every selection
    # except the group's own (what the catalog page shows next to each choice).
    out: dict[str, int] = {}
    for d in COUNT_DOCS:
        if d.identifier not in query_ids or "class:confidential" in d.acl:
            continue
        if all(set(d.facets.get(k, [])) & set(v) for k, v in chosen.items() if k != group):
            for value in d.facets.get(group, []):
                out[value] = out.get(value, 0) + 1
    return out


@pytest.mark.parametrize(
    "chosen",
    [
        {},
        {"state": ["live"]},
        {"state": ["live", "retired"]},
        {"category": ["safety"], "state": ["live"]},
        {"category": ["safety", 'we"ird\\cat'], "format": ["xlsx", "csv"], "state": ["live"]},
        {"format": ["csv"], "department": ["d2"]},
        {"department": ["nothing"], "state": ["retired"]},
    ],
)
@pytest.mark.parametrize("q", ["", "救急"])
def test_exclusive_counts_in_one_pass_match_counting_by_hand(count_index, chosen, q) -> None:  # type: ignore[no-untyped-def]
    idx = count_index
    res = search(idx, q, allowed_terms=STAFF, filters=chosen, facets=COUNT_GROUPS, exclusive_counts=True)
    found = {d.identifier for d in COUNT_DOCS if not q or q in d.title}
    expected_total = sum(
        1
        for d in COUNT_DOCS
        if d.identifier in found
        and "class:confidential" not in d.acl
        and all(set(d.facets.get(k, [])) & set(v) for k, v in chosen.items())
    )
    assert res.total == expected_total
    assert len(res.hits) == min(20, expected_total)
    for group in COUNT_GROUPS:
        assert dict(res.facets[group]) == _by_hand(found, chosen, group), group
    # Without exclusive counts, every group is counted under every selection.
    plain = search(idx, q, allowed_terms=STAFF, filters=chosen, facets=COUNT_GROUPS)
    assert plain.total == expected_total
    if expected_total:
        for group in COUNT_GROUPS:
            assert dict(plain.facets[group]) == _plain_by_hand(found, chosen, group), group


def _plain_by_hand(query_ids: set[str], chosen: dict[str, list[str]], group: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in COUNT_DOCS:
        if d.identifier not in query_ids or "class:confidential" in d.acl:
            continue
        if all(set(d.facets.get(k, [])) & set(v) for k, v in chosen.items()):
            for value in d.facets.get(group, []):
                out[value] = out.get(value, 0) + 1
    return out


@pytest.fixture(scope="module")
def count_index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build_index(tmp_path_factory.mktemp("counts") / "index", COUNT_DOCS)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("子ども医療費助成件数。こどもの医療費を助成した件数です。", "子供"),
        ("市内の認可保育所ごとの入所児童数です。詳しくは所管課にお問い合わせください。", "ほいくしょ"),
        ("救急車の出動件数と搬送人員（令和５年度）。", "きゅうきゅう 搬送"),
        ("引越し手続件数。転居届出件数も含みます。" * 5, "引っ越し"),
        ("ＡＥＤ設置場所一覧", "aed"),
    ],
)
def test_highlight_from_stored_tokens_matches_analysing_the_text(text: str, query: str) -> None:
    from machidata.search.normalise import highlight_tokens, query_words
    from machidata.search.query import _needles, highlight
    from machidata.search.synonyms import default_synonyms

    strings, terms, readings = _needles(query_words(query), default_synonyms())
    tokens = [list(t) for t in highlight_tokens(text)]  # as they come back from the stored JSON
    stored = highlight(text, strings, terms, readings, tokens)
    analysed = highlight(text, strings, terms, readings)
    assert stored == analysed
    assert any(marked for _, marked in stored)


def test_promoted_entries_rank_first_among_matches_only(index) -> None:  # type: ignore[no-untyped-def]
    plain = search(index, "町丁別人口", allowed_terms=STAFF)
    assert ids(plain)[:2] == ["pop-title", "pop-desc"]
    promoted = search(index, "町丁別人口", allowed_terms=STAFF, promoted={"pop-desc", "waste"})
    # the weaker match is lifted to the top; an entry that does not match is not added
    assert ids(promoted)[:2] == ["pop-desc", "pop-title"]
    assert "waste" not in ids(promoted)
    assert promoted.total == plain.total
    # other orders are the reader's choice and stay as asked
    by_date = search(index, "人口", allowed_terms=STAFF, sort="updated", promoted={"pop-title"})
    assert ids(by_date) == ids(search(index, "人口", allowed_terms=STAFF, sort="updated"))
