"""Japanese text folding and index terms: each variant pair of issue 4, plus property tests."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from machidata.search.normalise import (
    SEP,
    analyse_word,
    bigrams,
    clean,
    field_terms,
    fold,
    query_words,
    reading,
    unigrams,
    words,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("子供", "子ども"),
        ("子供", "こども"),
        ("子ども", "こども"),
        ("申込", "申し込み"),
        ("引越し", "引っ越し"),
        ("ＡＥＤ", "aed"),
        ("AED", "aed"),
        ("ｺﾞﾐ", "ごみ"),
        ("ゴミ", "ごみ"),
        ("４３１００１", "431001"),
        ("ＷｉＦｉ", "Wi-Fi"),
    ],
)
def test_variant_pairs_give_the_same_word_terms(a: str, b: str) -> None:
    assert words(a, short=False) == words(b, short=False)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＡＥＤ", "aed"),
        ("ｺﾞﾐ収集量", "ごみ収集量"),
        ("ゴミ", "ごみ"),
        ("令和５年度", "令和5年度"),
        ("デ−タ", "でーた"),  # a minus sign typed for the long-vowel mark
        ("コンピューター", "こんぴゆーた"),  # JIS Z 8301: the trailing long vowel is dropped …
        ("コンピュータ", "こんぴゆーた"),  # … so both spellings fold alike
        ("キャッシュ", "きやつしゆ"),  # small kana folded to full size
        ("いすゞ", "いすず"),  # voiced iteration mark
        ("人々", "人人"),
        ("Wi-Fi", "wifi"),
        ("  人口\u3000 世帯\u200b ", "人口 世帯"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_wareki_years_become_western_years() -> None:
    assert "2023" in words("救急出動件数（令和５年度）")
    assert "2019" in words("令和元年度 人口")
    assert "2018" in words("平成30年度")


def test_bigrams_do_not_cross_punctuation_and_single_characters_stay() -> None:
    assert bigrams(fold("人口（市）")) == ["人口", SEP, "市"]
    assert unigrams(fold("市・区")) == ["市", "区"]


def test_reading_lets_kana_find_kanji() -> None:
    assert reading("人口") == "じんこう"
    assert reading("救急") == "きゆうきゆう"
    assert fold("きゅうきゅう") == "きゆうきゆう"
    # Readings run across words (町/丁/別) so a kana query can be a phrase over them.
    assert "ちようちようべつ" in reading("町丁別人口")


def test_field_terms_streams() -> None:
    ft = field_terms(["救急", "出動件数"], with_reading=True)
    assert ft.w == ["救急", SEP, "出動", "件数"]
    assert ft.g == ["救急", SEP, "出動", "動件", "件数"]
    assert ft.u[:2] == ["救", "急"]
    assert ft.r[:2] == ["きゆ", "ゆう"]


def test_query_words_drop_unsearchable_parts_and_cap_length() -> None:
    assert query_words("") == []
    assert query_words("！？…「」") == []
    assert query_words("😀🚑") == []
    assert [w.folded for w in query_words("人口　世帯")] == ["人口", "世帯"]
    long = query_words("あ" * 10_000)
    assert len(long) == 1
    assert len(long[0].folded) <= 200
    assert len(query_words(" ".join(["人口"] * 50))) == 12


def test_unpaired_surrogates_are_removed() -> None:
    assert clean("人口\ud800") == "人口"
    qw = analyse_word("\udfff救急")
    assert qw is not None
    assert qw.words == ("救急",)


def test_kana_words_get_reading_bigrams_others_do_not() -> None:
    kana = analyse_word("じんこう")
    kanji = analyse_word("人口")
    assert kana is not None
    assert kana.reading_bigrams == ("じん", "んこ", "こう")
    assert kanji is not None
    assert kanji.reading_bigrams == ()


# ---- properties ---------------------------------------------------------------------------------------

HIRAGANA = st.text(
    alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3093), min_size=1, max_size=12
)
ASCII_WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12
)


def _to_katakana(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) for c in s)


def _to_halfwidth_katakana(s: str) -> str:
    # NFKC maps half-width to full-width; go the other way through the Unicode names.
    out = []
    for c in _to_katakana(s):
        name = unicodedata.name(c)
        try:
            out.append(unicodedata.lookup("HALFWIDTH " + name))
        except KeyError:
            decomposed = unicodedata.normalize("NFD", c)
            base, marks = decomposed[0], decomposed[1:]
            try:
                out.append(unicodedata.lookup("HALFWIDTH " + unicodedata.name(base)))
            except KeyError:
                out.append(c)
                continue
            for m in marks:
                out.append({"\u3099": "ﾞ", "\u309a": "ﾟ"}.get(m, m))
    return "".join(out)


def _to_fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in s)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fold_is_idempotent(s: str) -> None:
    once = fold(s)
    assert fold(once) == once


@settings(max_examples=200, deadline=None)
@given(HIRAGANA)
def test_hiragana_katakana_and_halfwidth_fold_alike(s: str) -> None:
    assert fold(s) == fold(_to_katakana(s)) == fold(_to_halfwidth_katakana(s))
    assert bigrams(fold(s)) == bigrams(fold(_to_katakana(s)))


@settings(max_examples=200, deadline=None)
@given(ASCII_WORD)
def test_full_and_half_width_ascii_give_identical_terms(s: str) -> None:
    a, b = field_terms(s), field_terms(_to_fullwidth(s))
    assert (a.w, a.g, a.u) == (b.w, b.g, b.u)
    assert field_terms(s.upper()).g == field_terms(s.lower()).g


def test_long_texts_are_analysed_by_sentence_with_offsets_in_the_whole_text() -> None:
    from machidata.search.normalise import analyse_both, clean

    text = clean("救急車の出動件数です。" * 20 + "子どもの医療費！最後の文")
    assert len(text) > 160  # the sentence-by-sentence path
    long_units, short_units = analyse_both(text)
    for m in (*long_units, *short_units):
        assert text[m.begin : m.end] == m.surface
    assert "".join(m.surface for m in long_units) == text
    assert "".join(m.surface for m in short_units) == text
    assert [m.norm for m in long_units if m.surface == "子ども"] == ["子供"]
