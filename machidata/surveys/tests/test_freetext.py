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
