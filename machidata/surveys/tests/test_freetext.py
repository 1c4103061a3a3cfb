"""Free text: content words in dictionary form, stop words out, phrases within a sentence."""

from __future__ import annotations

from machidata.surveys.freetext import frequent_terms, words_of


def test_words_are_dictionary_forms_of_content_words() -> None:
    sentences = words_of("業務が忙しく、時間がかかる。研修を増やしてほしい。")
    flat = [w for s in sentences for w in s]
    assert "忙しい" in flat  # 忙しく → 忙しい
    assert "時間" in flat
    assert "研修" in flat
    assert "が" not in flat
    assert "する" not in flat
    assert len(sentences) >= 2  # 、 and 。 break phrases


def test_phrases_do_not_cross_sentences_and_count_respondents_once() -> None:
    [overall] = frequent_terms(["研修がほしい。研修がほしい。", "統計の研修。", None, " "])
    assert overall.answers == 2
    words = {t.text: (t.respondents, t.count) for t in overall.words}
    assert words["研修"] == (2, 3)
    phrases = {t.text for t in overall.phrases}
    assert "統計 研修" in phrases
    assert "ほしい 研修" not in phrases  # the 。 between them ends the sentence


def test_groups_follow_the_whole() -> None:
    groups = frequent_terms(["データが欲しい。", "データの一覧。"], ["A", "B"])
    assert [g.group for g in groups] == ["全体", "A", "B"]
    assert groups[0].answers == 2


def _flat(text: str) -> list[str]:
    return [w for s in words_of(text) for w in s]


def test_a_negated_word_is_kept_as_a_phrase_not_as_the_word() -> None:
    assert _flat("時間がない。") == ["時間＋ない"]
    assert _flat("予算が無い") == ["予算＋ない"]
    assert _flat("研修もなし。") == ["研修＋ない"]
    assert _flat("時間が全くない") == ["時間＋ない"]  # an adverb between
    assert "活用＋ない" in _flat("データを活用できない")  # できる is a stop word between
    assert _flat("データの場所が分かりません。") == ["データ", "場所", "分かる＋ない"]  # ません
    assert _flat("時間が足りない。") == ["時間", "足りる＋ない"]  # the verb is negated, not 時間
    assert _flat("研修の時間がほしい。") == ["研修", "時間", "ほしい"]  # no negation: plain words
    assert _flat("特になし。") == []  # nothing to negate
    assert words_of("知識がなく、時間もない") == [["知識＋ない"], ["時間＋ない"]]


def test_negated_and_plain_mentions_are_counted_apart() -> None:
    [overall] = frequent_terms(["時間がない。", "研修の時間を増やしてほしい。", "時間がなく、予算もない。"])
    words = {t.text: t.respondents for t in overall.words}
    assert words["時間＋ない"] == 2
    assert words["時間"] == 1  # only the answer that asks for time
    assert words["予算＋ない"] == 1
