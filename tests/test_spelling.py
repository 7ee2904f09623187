"""Misspelt question words: corrected to the articles' spelling, never to a guess the articles do not back."""

from __future__ import annotations

import json

from conftest import make_settings

from bot.spelling import Speller, count_words

ARTICLE_WORDS = count_words([
    "Tillerson said sanctions on North Korea must stay. Tillerson met Freeland. The sanctions bite.",
    "Foreign ministers met in Vancouver; the ministers discussed sanctions and the nuclear programme.",
    "A movie about the Vancouver meeting. Movie critics and the movie's fans met Laura and Kono.",
])


def test_a_word_the_articles_never_use_becomes_the_close_word_they_do():
    speller = Speller(ARTICLE_WORDS)
    question, changes = speller.correct("What did Tilerson say about sanctons in Vancover?")
    assert question == "What did Tillerson say about sanctions in Vancouver?"
    assert changes == {"Tilerson": "Tillerson", "sanctons": "sanctions", "Vancover": "Vancouver"}
    assert speller.correct("Sanctons on whom?") == ("Sanctions on whom?", {"Sanctons": "Sanctions"})


def test_words_of_the_articles_short_words_and_words_with_nothing_close_stay_as_asked():
    speller = Speller(ARTICLE_WORDS)
    for question in ("Who met Freeland?", "Did Kin say so?", "Who is Zelensky?", "What did the ministers say?",
                     "Is Konn here?"):  # "Konn" -> "Kono" is one edit, but in too short a word
        assert speller.correct(question) == (question, {})


def test_a_name_the_articles_do_not_hold_is_not_turned_into_one_of_their_words():
    """rtqa-dev's unanswerable questions ask about Christine McVie and a "general aura": neither in its articles."""
    speller = Speller(ARTICLE_WORDS)
    assert speller.correct("Which hits did Christine McVie write?")[1] == {}  # "movie" is no name
    assert speller.correct("Who has a general aura of swagger?")[1] == {}  # English, though "laura" is close
    assert speller.correct("Is the Vancuver movei out?")[1] == {"Vancuver": "Vancouver", "movei": "movie"}
    assert speller.correct("what did tilerson say?")[1] == {"tilerson": "tillerson"}  # a name typed in haste


def test_only_one_edit_is_corrected():
    speller = Speller(ARTICLE_WORDS)
    assert speller.correct_word("programe", as_name=False) == "programme"
    assert speller.correct_word("nucleer", as_name=False) == "nuclear"
    assert speller.correct_word("prgramee", as_name=False) is None  # two edits: too far to be sure


def test_a_misspelt_question_word_is_corrected_though_the_articles_may_not_hold_it():
    speller = Speller(ARTICLE_WORDS)  # holds no "where" nor "which"
    assert speller.correct("whree were the ministers?") == ("where were the ministers?", {"whree": "where"})
    assert speller.correct("Wich sanctions bite?")[1] == {"Wich": "Which"}
    # English words, a word as near to two question words ("hwo": how or who), and later words stay.
    for question in ("Hat did Tillerson say?", "Hwo met Freeland?", "Is it whree they met?"):
        assert speller.correct(question) == (question, {})


def test_a_question_with_a_misspelt_question_word_is_answered(qa):
    answer = qa.answer("whree were the talks held")  # was refused: "whree" asked for no place
    assert not answer.refused, answer.text
    assert answer.corrections == {"whree": "where"}


def test_without_a_vocabulary_or_with_a_damaged_one_nothing_is_corrected(tmp_path):
    speller = Speller.load(tmp_path)  # a store written before the vocabulary existed
    assert speller.correct("What did Tilerson say?") == ("What did Tilerson say?", {})
    for damaged in ('{"tillerson": 5}', "[1, 2]", '{"tillerson": [5', ""):
        (tmp_path / "vocabulary.json").write_text(damaged, encoding="utf-8")
        assert Speller.load(tmp_path).correct("What did Tilerson say?")[1] == {}


def test_a_misspelt_question_is_answered_from_the_article_and_says_what_it_searched_for(qa):
    answer = qa.answer("What did Tilerson say about sanctons?")
    assert not answer.refused, answer.text
    assert "Tillerson" in answer.citations[0].quote and "sanctions" in answer.citations[0].quote
    assert answer.question == "What did Tilerson say about sanctons?"  # the user's words are kept
    assert answer.corrections == {"Tilerson": "Tillerson", "sanctons": "sanctions"}
    assert any("What did Tillerson say about sanctions?" in note for note in answer.notes)
    assert answer.to_json()["corrections"] == answer.corrections


def test_a_follow_up_to_a_misspelt_question_searches_with_the_corrected_words(qa):
    first = qa.answer("What did Tilerson say about sanctons?")
    follow_up = qa.answer("Why?", [(first.question, first.text)])
    assert "Tillerson say about sanctions" in follow_up.query and "Tilerson" not in follow_up.query
    assert follow_up.corrections == {}  # nothing in the follow-up itself was corrected


def test_with_correction_off_the_misspelt_question_is_refused(seed_store, embed_model):
    from bot.answer import QA

    settings, store = seed_store
    off = QA(make_settings(settings.store, spelling=False), store, embed_model)
    answer = off.answer("What did Tilerson say about sanctons?")
    assert answer.refused and answer.corrections == {} and answer.notes == []


def test_a_misspelt_question_the_articles_do_not_answer_is_still_refused(qa):
    answer = qa.answer("Who is Japan's prime ministr?")
    assert answer.corrections == {"ministr": "minister"}
    assert answer.refused, answer.text


def test_ingest_writes_the_vocabulary_and_an_older_store_gets_one_on_the_next_ingest(tmp_path, embed_model):
    from conftest import seed_copy

    from bot.ingest import ingest
    from bot.store import open_store

    settings = make_settings(tmp_path / "store")
    articles = seed_copy(tmp_path)
    ingest(open_store(settings, embed_model, writable=True), [articles], embed_model)
    vocabulary_file = settings.store / "vocabulary.json"
    words = json.loads(vocabulary_file.read_text(encoding="utf-8"))
    assert words["tillerson"][0] >= 3 and words["vancouver"][0] >= 3 and words["tillerson"][1] == words["tillerson"][0]

    vocabulary_file.unlink()  # as a store from before spelling correction
    report = ingest(open_store(settings, embed_model, writable=True), [articles], embed_model)
    assert report.added == report.updated == report.deleted == 0
    assert json.loads(vocabulary_file.read_text(encoding="utf-8")) == words
