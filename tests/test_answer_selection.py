"""Answer selection, the evidence gate's model, conflicts in answers, and `bot calibrate`."""

from __future__ import annotations

import json

import pytest
from conftest import make_settings

from bot.answer import choose_sentences, with_the_speaker, with_their_words
from bot.answer_model import DEFAULT, AnswerModel
from bot.config import Settings
from bot.evidence import Passage, Sentence
from bot.sentence_features import (
    FEATURES, QuestionInfo, expected_answer_type, features, named_thing, names_the_thing, question_anchors,
    asks_for_agent, asks_money, core_question, names_an_agent, speech_word, states_money,
)
from bot.text import Span, stem


def _row(question: str, sentence: str, before: str = "", passage: str = "") -> dict:
    values = features(QuestionInfo.of(question), sentence, f"{before} {sentence}".strip(), passage or sentence,
                      article_rank=1, position=3, dense=0.5)
    return dict(zip(FEATURES, values))


def test_expected_answer_types():
    assert expected_answer_type("How many people died in the flood?") == "number"
    assert expected_answer_type("How hot was Death Valley forecast to get?") == "number"  # "121 on Friday"
    assert expected_answer_type("How did the fire start?") is None
    assert expected_answer_type("When did the summit take place?") == "date"
    assert expected_answer_type("Who won the Hart Trophy?") == "name"
    assert expected_answer_type("Which country joined the talks?") == "name"
    assert expected_answer_type("What did the minister say about sanctions?") is None


def test_a_sentence_with_a_new_value_of_the_asked_kind_is_marked_and_one_without_is_not():
    q = "How many nations took part in the Vancouver meeting?"
    with_number = _row(q, "Foreign ministers from 20 nations met in Vancouver.")
    without = _row(q, "Nations that took part in the Vancouver meeting support sanctions.")
    assert with_number["new_value"] == 1 and with_number["typed_missing"] == 0
    assert without["new_value"] == 0 and without["typed_missing"] == 1


def test_the_year_in_an_events_name_does_not_date_what_a_when_question_asks_about():
    q = "When did the meeting take place?"
    war = "The meeting is attended by nations that fought in the 1950-53 Korean War."
    assert _row(q, war)["new_value"] == 0 and _row(q, war)["typed_missing"] == 1
    assert _row(q, "The meeting took place in Vancouver in January 2018.")["new_value"] == 1
    assert _row(q, "The meeting in 1998 Clinton called was short.")["new_value"] == 1  # no "the": not a name
    # Asked about the event itself, its name's year is the answer.
    assert _row("When was the Korean War?", war)["new_value"] == 1


def test_a_sentence_about_he_she_or_they_holds_the_names_of_the_sentence_before():
    q = "Where did Prince Charles and Camilla's plane land for their Washington visit?"
    before = "Prince Charles and his wife, Camilla, arrived in Washington, D.C, on Tuesday evening."
    landed = "They landed at Andrews Air Force Base at 6:30 p.m."
    assert _row(q, landed, before)["overlap"] > _row(q, landed)["overlap"]
    assert _row(q, landed, before)["matched"] == 1
    # Not a sentence whose subject is someone else.
    assert _row(q, "Officials landed at Andrews Air Force Base.", before)["overlap"] == \
        _row(q, "Officials landed at Andrews Air Force Base.")["overlap"]


def test_a_caption_of_names_is_not_a_statement():
    from bot.sentence_features import is_headline

    assert is_headline("Sajid Javid Former Health Secretary Sajid Javid.")  # a photo caption's label
    assert is_headline("Vancouver Talks Focus on Pressuring North Korea")
    assert not is_headline("His father worked as a bus driver.")
    assert not is_headline("Kim Jong Un spoke.")
    assert _row("What job did Sajid Javid's father have?",
                "Sajid Javid Former Health Secretary Sajid Javid.")["headline"] == 1


def test_a_how_many_question_wants_a_number_of_the_things_it_counts():
    q = "How many missiles did North Korea launch in 2017?"
    assert _row(q, "Lives of 152,110 people on 716 flights were at risk.")["typed_missing"] == 1
    assert _row(q, "North Korea launched 23 missiles in 2017.")["new_value"] == 1
    q = "How many international flights could it have endangered?"
    assert _row(q, "Lives of 152,110 people on 716 international flights were at risk.")["new_value"] == 1


def test_question_anchors_must_be_found_in_the_passage():
    assert {"lavrov", "sergey"} <= question_anchors("What did Sergey Lavrov say about the meeting in 2018?")
    assert "2018" in question_anchors("What did Sergey Lavrov say about the meeting in 2018?")
    q = "What did Sergey Lavrov say about the Vancouver meeting?"
    assert _row(q, "Tillerson said the meeting in Vancouver was a success.")["anchors"] < 1
    assert _row(q, "Sergey Lavrov said the Vancouver meeting was harmful.")["anchors"] == 1


def test_one_word_of_a_short_question_is_half_by_share_but_weak_evidence_by_count():
    short = _row("What is the capital of Australia?", "Nations as far apart as Australia and Colombia attended.")
    long_ = _row("Which nations attended the Vancouver meeting on North Korea sanctions?",
                 "Nations attended the Vancouver meeting on North Korea sanctions.")
    assert short["overlap"] == 0.5 and short["matched"] == 0.25
    assert long_["matched"] == 1.0  # capped: four or more of the question's words
    assert DEFAULT.probability(list(short.values())) < Settings.model_fields["min_answer_probability"].default


def test_rare_question_words_count_more_than_the_topic_everyone_shares():
    from bot.sentence_features import rarity

    pool = ["Netflix renewed Squid Game for a second season.", "Squid Game was a hit on Netflix.",
            "The show Squid Game returns.", "Squid Game fans cheered on Netflix."]
    idf = rarity(pool)
    q = "Which Netflix show was renewed for a second season?"
    info = QuestionInfo.of(q)
    row = lambda text: dict(zip(FEATURES, features(info, text, text, text, 1, 3, 0.5, idf=idf)))  # noqa: E731
    assert idf["season"] > idf["netflix"]
    assert row(pool[0])["overlap_rare"] > row(pool[3])["overlap_rare"]


def test_irregular_forms_match_their_base_form():
    # "Where did the ministers meet?" is answered by "The ministers met in Vancouver."
    assert stem("met") == stem("meeting") and stem("held") == stem("hold") and stem("children") == stem("child")
    # A word ending in -ss, -us or -is is not a plural: "discuss" is "discussed", "virus" is "viruses".
    assert stem("discuss") == stem("discussed") == stem("discusses") == stem("discussing")
    assert stem("virus") == stem("viruses") and stem("press") == stem("pressed")
    assert stem("died") == stem("dies") == stem("die") == stem("dying") and stem("tries") == stem("tried") == stem("try")
    # A prefix that keeps the meaning: "Who hosted the meeting?" is answered by "co-hosted by Canada".
    assert stem("co-hosted") == stem("hosted") and stem("re-elected") == stem("elected")
    assert stem("non-nuclear") != stem("nuclear")
    # The "US-led" campaign is the US campaign; the "New York-based" society is in New York.
    assert stem("us-led") == stem("US".lower()) and stem("york-based") == "york"
    assert _row("Where did the ministers meet?", "The ministers met in Vancouver.")["overlap"] == 1.0


def test_a_sentence_holding_only_the_questions_names_does_not_hold_what_it_asks():
    question = "What is Kim Jong Un's favourite food?"
    about_him = _row(question, "Tillerson said the nations send Kim Jong Un a unified message.")
    about_food = _row(question, "Kim Jong Un's favourite food is said to be Swiss cheese.")
    assert about_him["overlap"] == 0.6  # his three names of the question's five words ...
    assert about_him["plain_overlap"] == 0.0 and about_food["plain_overlap"] == 1.0  # ... but nothing of his food
    assert _row("Who is Canada's foreign minister?", "Freeland is Canada's foreign minister.")["plain_overlap"] == 1.0


def test_a_quote_answers_a_what_did_they_say_question():
    q = "What did the minister say about the talks?"
    assert _row(q, 'The minister called them "a first step" toward peace.')["quote_for_say"] == 1
    assert _row(q, "The minister attended the talks.")["quote_for_say"] == 0
    assert _row("When were the talks?", 'He called them "a first step".')["quote_for_say"] == 0


def test_a_follow_up_borrows_the_names_of_the_earlier_turn():
    info = QuestionInfo.of("What did he say about North Korea's intentions?",
                           "What did he say about North Korea's intentions? Who is Japan's foreign minister? Taro Kono.")
    assert {"taro", "kono"} <= info.anchors and "Taro" in info.search_text and "Kono" in info.search_text
    assert {"taro", "kono"} <= info.term_set  # "he" is Taro Kono: a sentence naming him matches the question


def test_a_new_short_question_after_a_turn_does_not_borrow_its_names(qa):
    info = QuestionInfo.of("Who won the 2018 World Cup?",
                           "Who won the 2018 World Cup? Who is South Korea's foreign minister? Kang Kyung-wha.")
    assert "kang" not in info.term_set  # no pronoun: the earlier names are context, not question words
    history = [("Who is South Korea's foreign minister?", "Kang Kyung-wha, South Korea's Foreign Minister.")]
    assert qa.answer("Who won the 2018 World Cup?", history).refused


def test_a_follow_up_about_she_finds_what_the_earlier_answer_named(qa):
    history = [("Who is Canada's foreign minister?", "Chrystia Freeland.")]
    answer = qa.answer("What did she tell the gathering?", history)
    assert not answer.refused, answer.text
    assert "effectiveness of existing sanctions" in answer.citations[0].quote


def test_the_gate_model_prefers_the_answer_to_a_sentence_restating_the_question():
    q = "How many nations took part in the Vancouver meeting on North Korea?"
    answer = _row(q, "Foreign ministers from 20 nations meeting in Vancouver in regard to North Korea agreed.")
    echo = _row(q, "Nations took part in the Vancouver meeting on North Korea.")
    assert DEFAULT.probability(list(answer.values())) > DEFAULT.probability(list(echo.values()))
    assert DEFAULT.rank_score(list(answer.values())) > DEFAULT.rank_score(list(echo.values()))


def _new_value(question: str, sentence: str, embed_model) -> float:
    """The `new_value` feature of one sentence as the answer path computes it (with the embedding model)."""
    from bot.evidence import Passage, candidate_sentences, score_sentences

    passage = Passage(rank=1, doc_id="a", text=sentence, start=0, score=1.0)
    scored = score_sentences(question, question, candidate_sentences([passage]), embed_model)
    return dict(zip(FEATURES, scored[0].features))["new_value"]


def test_how_many_takes_a_count_of_the_same_things_in_other_words(embed_model):
    assert _new_value("How many countries sent ministers?", "Ministers from 20 nations met.", embed_model) == 1.0
    assert _new_value("How many kids were rescued?", "Divers rescued 12 children.", embed_model) == 1.0
    # kindred but different things are not the counted ones
    assert _new_value("How many minutes did the speech last?", "The speech lasted 90 seconds.", embed_model) == 0.0
    assert _new_value("How many women ran?", "Forty men ran the race.", embed_model) == 0.0


def test_how_many_countries_is_answered_by_a_count_of_nations(qa):
    answer = qa.answer("How many countries attended the Vancouver meeting?")
    assert not answer.refused, answer.text
    assert "20 nations" in answer.citations[0].quote


def test_unanswerable_questions_near_the_topic_are_refused(qa):
    for question in ("What did Sergey Lavrov say about the Vancouver meeting?",
                     # The articles name the test's month and the leaders it angered, never the missile.
                     "What was the name of the intercontinental ballistic missile North Korea tested in November?",
                     # "long" names the kind of number: a number about something else ("1950-53") is no answer.
                     "How long did the meeting last?",
                     "How much oil did North Korea receive through ship-to-ship transfers?",
                     "How many missiles did North Korea launch in 2017?",  # the articles count flights
                     # Sentences that hold only its names (North Korea) and a place ("US-led") say
                     # nothing of the Olympics being held, nor of joining them.
                     "In which city will the Olympics that North Korea is joining be held?"):
        answer = qa.answer(question)
        assert answer.refused, (question, answer.text)
        assert not answer.citations and answer.closest  # closest passages are shown, never cited


def test_a_question_of_one_name_and_one_word_needs_that_word_near_the_answer(qa):
    # The "war of words between Trump and Kim Jong Un" sentence names Kim but not his death.
    answer = qa.answer("When did Kim Jong Un die?")
    assert answer.refused, answer.text
    assert "New York" in qa.answer("Where is the Korea Society based?").text  # "based" only shapes it
    assert "Monday" in qa.answer("When did Peters leave?").text  # "left" is "leave"
    assert "maximum pressure" in qa.answer("What did Tillerson call for?").text
    # Naming a country answers "which country", so "represent" is the one word: Peters leaving for
    # Canada does not say whom he represents (it was the answer).
    assert qa.answer("Which country does Winston Peters represent?").refused
    assert "Taro Kono" in qa.answer("Which country's foreign minister was blunter?").text


def test_a_person_named_by_a_role_is_answered_with_the_sentence_naming_them(qa):
    from bot.sentence_features import name_groups, refers_by_role

    assert name_groups("Who is the top U.S. diplomat?") == [{"us"}]  # was "u.s", in no sentence: refused
    assert refers_by_role("The top U.S. diplomat urged China and Russia to implement sanctions.")
    assert not refers_by_role("The meeting is being attended by foreign ministers.")
    answer = qa.answer("Who is the top U.S. diplomat?")
    assert not answer.refused, answer.text
    quotes = [c.quote for c in answer.citations]
    assert "Rex Tillerson" in quotes[0] and quotes[1].startswith("The top U.S. diplomat urged"), quotes


def test_who_did_it_is_answered_by_a_sentence_that_names_someone():
    assert asks_for_agent("Who sent the mistaken missile alert in Hawaii?")
    assert not asks_for_agent("Who is Taro Kono?")  # asks what he is
    assert not asks_for_agent("How much has Deborah James, who has died, raised?")
    alert = "Tuesday's talks in Canada come days after a mistaken missile alert sparked panic in Hawaii."
    tags = [("Tuesday", "DATE"), ("Canada", "GPE"), ("Hawaii", "GPE")]
    assert not names_an_agent(alert, tags, {"send", "alert", "hawaii"}, {"hawaii"})  # Canada is where, not who
    hosts = "The gathering, co-hosted by Canada and the US, is opposed by China."
    assert names_an_agent(hosts, [("Canada", "GPE"), ("US", "GPE"), ("China", "GPE")], {"host", "meet"}, set())
    assert names_an_agent("Officials said so.", [("Pentagon", "ORG")], {"say"}, set())
    # A dateline or wire credit says where and by whom the story was filed, not who did it.
    theft = "SAN FRANCISCO – All of Yahoo's users were affected by a data theft, Yahoo's new parent said."
    assert not names_an_agent(theft, [("SAN FRANCISCO", "GPE"), ("Yahoo", "ORG")], {"steal", "data", "yahoo"}, {"yahoo"})
    wire = "Colombo, Sri Lanka (CNN) Protesters stormed the residence."
    assert not names_an_agent(wire, [("Colombo", "GPE"), ("Sri Lanka", "GPE"), ("CNN", "ORG")], {"storm"}, set())
    assert names_an_agent("LONDON (AP) — Police arrested two men.", [("LONDON", "GPE"), ("AP", "ORG"), ("Police", "ORG")],
                          {"arrest"}, set())


def test_who_did_it_is_refused_when_the_articles_tell_the_event_but_not_the_doer(qa):
    # Both articles report the Hawaii alert; neither says who sent it.
    answer = qa.answer("Who sent the mistaken missile alert in Hawaii?")
    assert answer.refused, answer.text
    assert "top U.S. diplomat urged" in qa.answer("Who urged China and Russia to implement sanctions?").text
    assert "co-hosted by Canada and the US" in qa.answer("Who co-hosted the gathering?").text
    assert "Peters" in qa.answer("Who left for Canada on Monday?").text
    assert "Kang Kyung-wha" in qa.answer("Who attended the Vancouver meeting?").text


def test_what_did_x_say_is_answered_only_by_words_of_x(qa):
    # A sentence that names them, speaks to them or quotes someone else about them is no answer.
    for question in ("What did Kim Jong Un say?",  # Tillerson's message to Kim
                     "What did Donald Trump say?",  # "a war of words between ... Trump and Kim"
                     "What did Australia say?"):  # a list of the nations that attended
        answer = qa.answer(question)
        assert answer.refused, (question, answer.text)
    # Japan speaks through its minister, whom the sentence before "He said ..." names.
    for question in ("What did Japan say?", "What did Japan's foreign minister say?", "What did Kono say?",
                     # His name counts for "He said the North wants...", which was refused for lacking it.
                     "What did Taro Kono say North Korea wants?"):
        answer = qa.answer(question)
        assert "wants to buy some time" in answer.text, (question, answer.text)
        assert "Taro Kono" in answer.citations[0].quote, answer.text  # the sentence naming him first
    # What X thinks, and why, is also X's words: South Korea's minister on the talks is not Japan's.
    answer = qa.answer("Why does Japan's foreign minister think North Korea is talking?")
    assert "Kang" not in answer.text and (answer.refused or "buy some time" in answer.text), answer.text
    # Indirect speech gives her words as a quote does: "But she conceded that ... denuclearization".
    answer = qa.answer("What did Kang say about denuclearization?")
    assert not answer.refused and "she conceded" in answer.citations[0].quote, answer.text
    freeland = qa.answer("What did Freeland say?")
    assert [c.quote for c in freeland.citations] == [
        "Canadian Foreign Minister Chrystia Freeland told those gathering in Vancouver that nations must "
        "improve the effectiveness of existing sanctions."]  # not also a photo caption that names her


@pytest.mark.parametrize("sentence, before, who, gives_words", [
    ("Japanese Foreign Minister Taro Kono was blunter.", "", {"japan"}, False),
    ('He said the North "wants to buy some time."', "Japanese Foreign Minister Taro Kono was blunter.", {"japan"}, True),
    ("Tillerson said the meeting sends North Korean leader Kim Jong Un a message.", "", {"kim", "jong", "un"}, False),
    ('"We will not accept it," said U.S. Secretary of State Rex Tillerson.', "", {"tillerson"}, True),
    ("China's foreign ministry said it opposed the meeting.", "", {"china"}, True),
    ('"China is key," Noerper said.', "", {"china"}, False),
    ("The top U.S. diplomat urged China and Russia to implement sanctions.", "", {"china"}, False),
    ("According to Chinese state media, Xi told Trump to calm down.", "", {"china"}, True),
    ('"The industry is moving to targeted ads," says Vilaro.', "Netflix's ads could be tailored.", {"netflix"}, False),
    ("He commended Zelensky's \"leadership and courage\" and called him an inspiration.", "", {"zelensky"}, False),
    ('"This bridge connects the town," Ortiz said.', "", {"mayor", "ortiz"}, True),
    # "she conceded" after the sentence naming Kang gives Kang's words, as "she said" does.
    ("But she conceded that North Korea has yet to show any intention to denuclearize.",
     "South Korean Foreign Minister Kang Kyung-wha said the talks are a first step.", {"kang"}, True),
])
def test_whose_words_a_sentence_gives(sentence, before, who, gives_words):
    from bot.speakers import speaks

    assert speaks(sentence, before, frozenset(who)) == gives_words


def test_a_title_before_a_name_lets_the_name_speak_for_it():
    from bot.speakers import aliases, speaker_asked

    assert speaker_asked("What did the mayor say?") == {"mayor"}
    assert speaker_asked("What did Japan's foreign minister say?") == {"japan"}  # any minister is not Japan's
    assert speaker_asked("What did she say?") is None  # a follow-up: the earlier turn names her
    text = "Mayor Linda Ortiz cut the ribbon. Japanese Foreign Minister Taro Kono was blunter."
    assert aliases(text, frozenset({"mayor"})) == {"ortiz"}
    assert aliases(text, frozenset({"japan"})) == {"kono"}


def test_what_is_the_name_of_x_wants_a_name_given_to_x():
    q = "What was the name of the missile North Korea tested in November?"
    thing = named_thing(q)
    assert thing == {"missil", "test"}
    terms = set(QuestionInfo.of(q).term_set)
    assert names_the_thing("North Korea tested the Hwasong-15 missile in November.", thing, terms)
    assert not names_the_thing("The November test of a missile sparked a war of words between Donald Trump and "
                               "Kim Jong Un.", thing, terms)
    assert not names_the_thing("Flights were put in danger by North Korea's most recent missile launch.",
                               named_thing("What was the name of the missile launched in November?"), terms)
    assert not named_thing("What did the minister name as the main threat?")
    # Nor is the sentence's first word after a bullet, or the speaker of "McCraw said".
    q = "What's the name of the Robb Elementary teacher who propped the door open?"
    assert named_thing(q) == {"teacher", "prop", "door", "open"}
    assert not names_the_thing("• 11:27: Video shows a teacher propping open a school door to the outside, McCraw "
                               "said Friday.", named_thing(q), set(QuestionInfo.of(q).term_set))
    # A day is not a name: "said Thursday a Navy Yard employee" does not name the employee.
    q = "What is the name of the Navy Yard employee who reported hearing gunshots?"
    assert not names_the_thing("D.C. Mayor Muriel Bowser said Thursday a Navy Yard employee told people she may "
                               "have heard gunshots.", named_thing(q), set(QuestionInfo.of(q).term_set))


def test_naming_one_of_the_asked_kind_stands_for_the_kinds_word():
    q = "Which countries were not invited?"
    answer = _row(q, "The diplomat urged China and Russia, which were not invited, to enforce sanctions.")
    assert answer["overlap"] == 1 and answer["matched"] == 0.5
    # A list of attending nations names countries, but says nothing of who was not invited.
    listing = _row(q, "It is a diverse gathering of European and Asian nations, as well as Australia and Colombia.")
    assert listing["overlap"] == 0
    # "What is the capital of Australia?" asks about a capital, not for a kind of thing.
    assert _row("What is the capital of Australia?", "Australia and New Zealand sent ministers.")["overlap"] == 0.5


def test_the_speech_verb_of_what_did_x_urge_is_any_report_of_their_words():
    assert speech_word("What did Freeland urge?") == "urge"
    assert speech_word("What did Noerper accuse Russia of?") == "accuse"
    assert speech_word("What did the ministers discuss?") == ""
    q = "What did Freeland urge?"
    assert _row(q, "Freeland told the gathering that nations must improve sanctions.")["overlap"] == 1
    assert _row(q, "Freeland arrived in Vancouver on Monday.")["overlap"] == 0.5  # no words of hers


def test_words_that_only_shape_a_question_are_not_asked_for():
    # "happened", "held", "take place" ask for the event, its place or its date: not for the words.
    assert _row("What happened in Hawaii?", "A missile alert caused panic in Hawaii.")["overlap"] == 1
    assert _row("When did the meeting take place?", "The meeting opened on Tuesday.")["overlap"] == 1
    # Only where/when questions: "hold" is what "How many books does the library hold?" asks about.
    assert _row("How many books does the library hold?", "The library holds 90,000 books.")["overlap"] == 1
    assert _row("How many books does the library hold?", "The library has 90,000 books.")["overlap"] < 1

    def place_found(sentence: str, place: str) -> float:
        values = features(QuestionInfo.of("Where was the meeting held?"), sentence, sentence, sentence,
                          article_rank=1, position=3, dense=0.5, entities=[(place, "GPE")])
        return dict(zip(FEATURES, values))["typed_entity"]

    assert place_found("Ministers are meeting in Vancouver.", "Vancouver") == 1
    # A place the sentence gives for something else does not say where the meeting was.
    assert place_found("The meeting came days after a missile alert caused panic on Hawaii.", "Hawaii") == 0


def test_words_about_the_articles_themselves_are_not_asked_for(qa):
    # "...according to the report that mentions Winston Peters?": no answer sentence says "report"
    # or "mentions", and the names only pick the article (they stay anchors).
    q = "What topics were officials discussing according to the report that mentions Winston Peters?"
    sentence = "Officials are discussing sanctions and diplomacy."
    assert _row(q, sentence)["overlap"] == _row("What topics were officials discussing?", sentence)["overlap"] > 0
    assert QuestionInfo.of(q).anchors >= {"winston", "peter"}
    assert _row("Who is the policy director mentioned in the coverage?", "Policy director Brian Hook said so.")[
        "overlap"] == 1
    # A report that is news keeps its word: "a new report" is what the answer sentence cites.
    assert _row("According to a new report, how many teens vape?", "A new report found 2 million teens vape.")[
        "overlap"] == 1
    assert _row("According to a new report, how many teens vape?", "Two million teens vape.")["overlap"] < 1
    answer = qa.answer("Besides sanctions, what topics were officials discussing at the meeting according to "
                       "the report that mentions Winston Peters?")
    assert not answer.refused and "spread of weapons" in answer.citations[0].quote, answer.text


def test_a_clause_that_points_at_an_article_does_not_change_what_is_asked(qa):
    assert core_question("In the article mentioning Winston Peters, what did Russia's foreign minister say?") == \
        "What did Russia's foreign minister say?"
    assert core_question("What topics were discussed, according to the report that mentions Peters?") == \
        "What topics were discussed?"
    assert core_question("According to a new report, what share of teens vape?") == \
        "According to a new report, what share of teens vape?"  # a report that is news
    # Russia's minister says nothing in either article: the Peters article picked by the clause does
    # not make his sentences an answer.
    answer = qa.answer("In the article mentioning Winston Peters, what did Russia's foreign minister say about "
                       "the meeting?")
    assert answer.refused, answer.text
    answer = qa.answer("In the article that mentions Winston Peters, what did Japan's foreign minister say?")
    assert "buy some time" in answer.text, answer.text


def test_which_report_says_it_is_answered_with_the_reports_name(qa):
    question = "Which report says an official stated there will be no talk of military options?"
    streamed = list(qa.stream(question))
    answer = streamed[-1]
    assert answer.text.startswith('The article "Vancouver Talks Focus on Pressuring North Korea" '
                                  '(voa-vancouver-talks-pressuring-north-korea.txt, no date) says: '), answer.text
    assert "no talk of military options" in answer.citations[0].quote
    assert "".join(streamed[:-1]) == answer.text  # the chat shows the same text as it streams
    assert not qa.answer("What would not be discussed, according to an official?").text.startswith("The article")


def test_short_questions_about_the_meeting_are_answered(qa):
    for question, expected in (("Which countries were not invited?", "China and Russia"),
                               ("What happened in Hawaii?", "missile alert"),
                               # Her words, given with "told": any speech verb reports them.
                               ("What did Freeland urge?", "existing sanctions"),
                               # "work" only shapes a where-question, as "based" does.
                               ("Where does Stephen Noerper work?", "New York-based Korea Society"),
                               # Its article's title ("Vancouver Talks...") names Vancouver for it.
                               ("Which countries were not invited to Vancouver?", "China and Russia"),
                               # Not "the 1950-53 Korean War" of a sentence about the meeting.
                               ("When did the meeting take place?", "Jan. 16, 2018")):
        answer = qa.answer(question)
        assert not answer.refused and expected in answer.citations[0].quote, (question, answer.text)


def refuses_then_answers(qa, unanswerable: str, answerable: str, expected: str) -> None:
    """The first question is refused; the second, about what the articles do say, is answered."""
    answer = qa.answer(unanswerable)
    assert answer.refused, answer.text
    answer = qa.answer(answerable)
    assert not answer.refused and expected in answer.text, answer.text


@pytest.fixture(scope="module")
def flight_qa(tmp_path_factory, embed_model):
    return _small_qa(tmp_path_factory, embed_model, {
        "seat.md": "---\ntitle: Couple split up on a flight to Paris\ndate: 2018-06-24\n---\n"
        "Amy Faust had reserved a seat next to her partner for the 11-hour flight to Paris. "
        "Her airline separated the couple shortly before boarding, and a flight attendant refused to help. "
        "The couple paid extra for two seats together on the 2-hour flight back. "
        "They flew home a week later on Delta Air Lines, which charged them $350 for the tickets.\n"})


def test_which_airline_is_refused_when_the_article_names_none(flight_qa):
    # "her airline" names no airline; Delta is the flight home
    refuses_then_answers(flight_qa, "Which airline separated Amy Faust from her partner?",
                         "Which airline flew the couple home?", "Delta Air Lines")


def test_who_did_it_needs_a_sentence_that_says_the_deed(tmp_path_factory, embed_model):
    # Reader set 2: "Who filed the complaint...?" was answered with "A consumer complaint prompted
    # officials to inspect the facility, the FDA said": the FDA speaks, nobody is said to file anything.
    from bot.sentence_features import verb_of_who

    assert [verb_of_who(q) for q in ("Who won the trophy?", "Who originally wrote it?", "Who is Kono?",
                                     "Who co-hosted the meeting?")] == ["win", "writ", "", "host"]
    qa = _small_qa(tmp_path_factory, embed_model, {
        "recall.md": "---\ntitle: Family Dollar recalls products\ndate: 2022-02-19\n---\n"
        "A consumer complaint prompted officials to inspect the West Memphis, Arkansas, facility in January, "
        "the FDA said in a news release. Family Dollar issued a voluntary recall of items sold at its stores. "
        "The company's new chief executive, Dana Moore, directs the cleanup of the warehouse.\n"})
    refuses_then_answers(qa, "Who filed the complaint that got the FDA to inspect the warehouse?",
                         "Who directs the cleanup of the Family Dollar warehouse?", "Dana Moore")


def test_what_price_is_answered_by_an_amount_of_money_not_any_number(flight_qa):
    # "paid extra ... on the 2-hour flight": no price
    refuses_then_answers(flight_qa, "How much did the couple pay for their seats together?",
                         "How much did Delta charge the couple for the tickets?", "$350")
    assert asks_money("What price will Serbia pay for gas?") and asks_money("How much did Ripley's pay for the dress?")
    assert not asks_money("How much oil did North Korea receive?")
    assert states_money("about 270 euros per 1,000 cubic meters") and states_money("sold for $4.8m")
    assert not states_money("a new three-year gas supply deal")


def test_a_sum_about_someone_else_does_not_answer_for_the_person_asked_about(tmp_path_factory, embed_model):
    qa = _small_qa(tmp_path_factory, embed_model, {
        "signings.md": "---\ntitle: Harbor City keeps its striker\ndate: 2021-03-12\n---\n"
        "Maria Lopez agreed on Thursday to a new three-year contract with Harbor City FC. "
        "The club did not say what the deal is worth. "
        "Rival club Eastport signed defender Tomas Okafor to a three-year contract worth $9 million.\n"})
    # the $9 million is Tomas Okafor's
    refuses_then_answers(qa, "How much is Maria Lopez's new three-year contract worth?",
                         "How much is Tomas Okafor's contract worth?", "$9 million")
    assert asks_money("How much is the striker's new three-year contract with the club worth?")


def test_how_long_is_answered_by_a_stretch_of_time_not_a_date(qa):
    from bot.sentence_features import states_a_duration

    answer = qa.answer("How long did the Vancouver meeting last?")
    assert answer.refused, answer.text  # the articles date it (Jan. 16, 2018), never say how long it took
    answer = qa.answer("How long had it been since North and South Korea last held formal talks?")
    assert not answer.refused and "two years" in answer.citations[0].quote, answer.text
    assert states_a_duration("in office since May 2015") and states_a_duration("a 1.2-mile bridge")
    assert not states_a_duration("sanctions must continue until it abandons its program")


# --- conflicts: different values for the asked fact are shown side by side, each cited and dated
def _small_qa(tmp_path_factory, embed_model, articles: dict[str, str]):
    """A QA over a store of a few articles written here."""
    from bot.answer import QA
    from bot.ingest import ingest
    from bot.store import open_store

    folder = tmp_path_factory.mktemp("corpus")
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path_factory.mktemp("store"))
    store = open_store(settings, embed_model, writable=True)
    ingest(store, [folder], embed_model)
    return QA(settings, store, embed_model)


@pytest.fixture(scope="module")
def conflict_qa(tmp_path_factory, embed_model):
    return _small_qa(tmp_path_factory, embed_model, {
        "early-report.md": "---\ntitle: Quake toll rises\ndate: 2023-02-07\n---\n"
        "Rescuers in Anatolia worked through the night after the earthquake. "
        "The earthquake in Anatolia killed 1,200 people, officials said on Tuesday. "
        "Aid agencies sent tents and blankets to the region.\n",
        "later-report.md": "---\ntitle: Quake toll climbs again\ndate: 2023-02-09\n---\n"
        "Hopes of finding survivors faded in Anatolia on Thursday. "
        "The earthquake in Anatolia killed 3,400 people, according to the latest official count. "
        "Neighbouring countries offered help.\n",
    })


def test_an_answer_says_when_articles_give_different_numbers_and_cites_each(conflict_qa):
    answer = conflict_qa.answer("How many people did the earthquake in Anatolia kill?")
    assert not answer.refused, answer.text
    assert "disagree" in answer.text
    cited = {c.source: c for c in answer.citations}
    assert {"early-report.md", "later-report.md"} <= set(cited)
    assert "1,200" in cited["early-report.md"].quote and "3,400" in cited["later-report.md"].quote
    assert "2023-02-07" in answer.text and "2023-02-09" in answer.text  # each value with its article's date
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text


def test_no_conflict_note_when_only_one_article_gives_the_number(conflict_qa):
    answer = conflict_qa.answer("What did aid agencies send to the region?")
    assert not answer.refused and "disagree" not in answer.text


@pytest.fixture(scope="module")
def gas_qa(tmp_path_factory, embed_model):
    return _small_qa(tmp_path_factory, embed_model, {
        "march-gas.md": "---\ntitle: Gas keeps climbing\ndate: 2022-03-10\n---\n"
        "Prices at the pump rose again this week. "
        "The national average for a gallon of regular gas jumped nearly 7 cents on Thursday, AAA said. "
        "Truckers said the rise hurt their business.\n",
        "june-gas.md": "---\ntitle: Cheap gas hard to find\ndate: 2022-06-11\n---\n"
        "Even the cheapest state is not cheap. "
        "In Georgia a gallon of regular gas costs $4.47 on average, AAA said. "
        "Some drivers are staying home this summer.\n",
    })


def test_no_conflict_note_between_a_price_in_dollars_and_a_change_in_cents(gas_qa):
    answer = gas_qa.answer("How much does a gallon of regular gas cost?")
    assert not answer.refused, answer.text
    assert "disagree" not in answer.text, answer.text


def test_the_ways_news_gives_an_age():
    from bot.sentence_features import asks_age, states_an_age

    assert asks_age("How old is he?") and asks_age("At what age did she retire?")
    assert not asks_age("What did the old guard say?")
    for sentence in ("A 101-year-old man was convicted.", "She died aged 79.", "Santana, 74, collapsed.",
                     "He is 40 years old.", "Taro Kono (54) spoke.", "He died at 88 on Monday."):
        assert states_an_age(sentence), sentence
    for sentence in ("The AL won 4-3 in the 90th All-Star Game.", "Rates fell 59% since 1964.", "He is old."):
        assert not states_an_age(sentence), sentence


def test_how_old_is_answered_only_by_a_sentence_that_gives_an_age(tmp_path_factory, embed_model):
    # rtqa-dev: "How old is Carlos Santana?" quoted an All-Star box score that lists another Carlos Santana.
    ages = _small_qa(tmp_path_factory, embed_model, {
        "concert.md": "---\ntitle: Santana collapses on stage\ndate: 2022-07-06\n---\n"
        "Legendary musician Carlos Santana suffered a medical emergency Tuesday night during a concert in Michigan, "
        "his management team said. He was playing at an outdoor theatre about 40 miles outside Detroit. "
        "In videos recorded by fans, the 74-year-old musician sits on the corner of the stage and stops playing.\n",
        "all-star.md": "---\ntitle: All-Star Game\ndate: 2019-07-09\n---\n"
        "The National League pitchers were perfect through the third and fourth innings, as Jacob deGrom and Luis "
        "Castillo got through the first six hitters in the AL lineup: George Springer, DJ LeMahieu, Mike Trout, "
        "Carlos Santana, J.D. Martinez and Alex Bregman. The AL won 4-3.\n",
        "trial.md": "---\ntitle: Former guard convicted\ndate: 2022-06-28\n---\n"
        "A 101-year-old man who served as a guard at a camp was convicted by a court in Brandenburg. "
        "The court sentenced the former guard to five years in prison.\n",
        "abe.md": "---\ntitle: Shinzo Abe shot dead\ndate: 2022-07-08\n---\n"
        "Former Japanese prime minister Shinzo Abe was shot while giving a campaign speech in Nara. "
        "Prime minister Fumio Kishida described the attack on the 67-year-old Abe as barbaric and malicious. "
        "A 41-year-old male suspect was arrested at the scene.\n",
    })
    answer = ages.answer("How old is Carlos Santana?")  # the 74-year-old is "the musician": no name to match
    assert answer.refused, answer.text
    answer = ages.answer("How old is the former guard convicted in Brandenburg?")
    assert not answer.refused and "101-year-old" in answer.citations[0].quote, answer.text
    # "the 67-year-old Abe" says how old he is, though it holds no word "old" (it was refused).
    answer = ages.answer("How old was Shinzo Abe?")
    assert not answer.refused and "67-year-old Abe" in answer.citations[0].quote, answer.text


# --- the model file and `bot calibrate`
def test_answer_model_file_round_trip_and_unknown_feature_error(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(DEFAULT.to_json()), encoding="utf-8")
    assert AnswerModel.load(path) == DEFAULT
    path.write_text(json.dumps({"ranker": {"shoe_size": 1.0}}), encoding="utf-8")
    with pytest.raises(ValueError, match="shoe_size"):
        AnswerModel.load(path)


def test_calibrate_fits_weights_that_find_the_answer_sentences(qa, tmp_path):
    from bot.calibrate import collect, fit, tradeoff, write
    from bot.evaluation import read_questions
    from conftest import CORPUS

    questions, _ = read_questions(CORPUS / "questions.jsonl")
    groups = collect(qa, questions[:30])
    assert sum(g.answerable for g in groups) >= 20 and any(g.y.any() for g in groups)
    model = fit(groups)
    rows = tradeoff(groups, model)
    # A stricter gate never refuses fewer questions.
    refusals = [r["false_refusal_rate"] for r in rows]
    assert refusals == sorted(refusals)
    # Fitted on these questions, the lowest bar finds most answers (it is not a constant model).
    assert rows[0]["accuracy"] >= 0.7
    path = write(model, [("seed", rows)], tmp_path / "cal")
    assert AnswerModel.load(path) == model
    assert "| gate threshold" in (tmp_path / "cal" / "tradeoff.md").read_text()
    assert "in sample" in (tmp_path / "cal" / "tradeoff.md").read_text()


def test_calibrate_takes_follow_ups_with_their_history_and_skips_what_the_bot_would_not_take(qa, tmp_path):
    from bot.calibrate import collect
    from bot.evaluation import read_questions

    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in [
        {"id": "f1", "question": "Where was it?", "answerable": True, "must_contain": ["Vancouver"],
         "history": [["Which city hosted the foreign ministers' meeting?", "Vancouver."]]},
        {"id": "long", "question": "Where " + "was it " * 2000 + "?", "answerable": True, "must_contain": ["x"]},
    ]) + "\n", encoding="utf-8")
    questions, _ = read_questions(path)
    warnings: list[str] = []
    groups = collect(qa, questions, warn=warnings.append)
    assert [g.question_id for g in groups] == ["f1"]  # it stopped the whole run with no name before
    assert len(warnings) == 1 and warnings[0].startswith("long: skipped")


def test_cli_calibrate_and_a_broken_answer_model_file_give_one_line_errors(seed_store, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.config import get_settings
    from conftest import CORPUS

    settings, _ = seed_store
    runner = CliRunner()
    done = runner.invoke(app, ["calibrate", str(CORPUS / "questions.jsonl"), "--store", str(settings.store),
                               "--store", str(tmp_path)])
    assert done.exit_code == 1 and "one --store per question file" in done.output
    done = runner.invoke(app, ["calibrate", str(CORPUS / "questions.jsonl"), "--store", str(tmp_path / "none")])
    assert done.exit_code == 1 and "no store at" in done.output
    bad = tmp_path / "model.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("BOT_ANSWER_MODEL", str(bad))
    get_settings.cache_clear()  # settings are read once per process
    try:
        done = runner.invoke(app, ["ask", "Who is Canada's foreign minister?", "--store", str(settings.store)])
    finally:
        monkeypatch.delenv("BOT_ANSWER_MODEL")
        get_settings.cache_clear()
    assert done.exit_code == 1 and "BOT_ANSWER_MODEL" in done.output and "Traceback" not in done.output


def test_a_question_printed_in_an_article_is_not_the_answer(tmp_path_factory, embed_model):
    # News quizzes print the very question a user asks; it matches best but states nothing.
    qa = _small_qa(tmp_path_factory, embed_model, {
        "weekly-quiz.md": "---\ntitle: Weekly news quiz\ndate: 2022-07-22\n---\n"
        "QUIZ TIME Which product remains difficult to find in many US stores due to a nationwide shortage? "
        "Baby formula shortage In-stock levels for baby formula are slightly higher than last month, "
        "a retail survey reported Wednesday. Parents still search several stores for it.\n",
    })
    answer = qa.answer("Which product remains difficult to find in many US stores due to a nationwide shortage?")
    assert not answer.refused, answer.text
    assert "baby formula" in answer.citations[0].quote.lower()
    assert not any(c.quote.rstrip().endswith("?") for c in answer.citations), answer.text


def _sentence(text: str, probability: float) -> Sentence:
    passage = Passage(rank=1, doc_id="a", text=text, start=0, score=1.0)
    return Sentence(passage, Span(0, len(text), text), score=probability)


def test_the_first_answer_sentence_clears_the_gate_bar_when_a_statement_does():
    # The ranker puts a sentence the gate finds unlikely first; the answer opens with the one it vouched for.
    ranked_first = _sentence("Deputy Prime Minister Dominic Raab could step in as caretaker.", 0.17)
    likely = _sentence("A Prime Minister who has resigned as party leader stays in office as caretaker.", 0.31)
    assert choose_sentences([ranked_first, likely], bar=0.2, max_sentences=2) == [likely]
    # Only a quiz question clears the bar: it shows the topic is covered, and the best statement near
    # the bar answers.
    quiz = _sentence("QUIZ TIME Which product remains difficult to find in many US stores?", 0.6)
    near = _sentence("Baby formula remains difficult to find in many US stores.", 0.19)
    assert choose_sentences([quiz, near], bar=0.2, max_sentences=2) == [near]


def test_a_sentence_that_only_names_the_speaker_is_followed_by_their_words():
    from bot.text import split_sentences

    article = ("Japanese Foreign Minister Taro Kono was blunter. He said the North \"wants to buy some time.\" "
               "Kono said Japan would keep up the pressure. He left on Tuesday.")
    spans = split_sentences(article)
    passage = Passage(rank=1, doc_id="a", text=article, start=0, score=1.0)
    lead_in, words, quoted, left = (Sentence(passage, sp, score=0.4) for sp in spans)
    assert with_their_words([lead_in], lambda doc: spans, 2) == [lead_in, words]
    follower = with_their_words([lead_in, left], lambda doc: spans, 2)[1]
    assert follower.text.startswith("He said the North") and follower.span.start == words.span.start
    # A sentence that already gives someone's words, or a next sentence that gives none, adds nothing;
    # the answer stays within its length, and a follower is not repeated.
    assert with_their_words([quoted], lambda doc: spans, 2) == [quoted]
    assert with_their_words([words, left], lambda doc: spans, 2) == [words, left]
    assert with_their_words([lead_in, words], lambda doc: spans, 1) == [lead_in]
    assert [s.text for s in with_their_words([lead_in, words], lambda doc: spans, 3)] == [lead_in.text, words.text]
    assert with_their_words([words, lead_in], lambda doc: spans, 3) == [words, lead_in]


def test_a_quote_said_by_he_is_preceded_by_the_sentence_that_names_him():
    from bot.text import split_sentences

    article = ("Businesses in Gardiner had just started recovering, Bill Berg, a commissioner in Park County, said. "
               "\"It lives and dies by tourism, and this is going to be a big hit,\" he said. "
               "\"They're looking to hold things together,\" Berg said. The river crested on Monday.")
    spans = split_sentences(article)
    passage = Passage(rank=1, doc_id="a", text=article, start=0, score=1.0)
    named, quote, named_quote, river = (Sentence(passage, sp, score=0.4) for sp in spans)
    assert with_the_speaker([quote, river], lambda doc: spans, 2) == [named, quote]
    # A quote whose speaker it names, or no room for the sentence before, leaves the answer as it is.
    assert with_the_speaker([named_quote, river], lambda doc: spans, 2) == [named_quote, river]
    assert with_the_speaker([quote], lambda doc: spans, 1) == [quote]
    for room in (2, 3):
        assert [s.text for s in with_the_speaker([named, quote], lambda doc: spans, room)] == [named.text, quote.text]


def test_a_role_of_a_holder_is_asked_for_in_either_word_order():
    from bot.sentence_features import holds_role, names_role, role_asked

    possessive = role_asked("Who is Canada's foreign minister?")
    of_form = role_asked("Who is the prime minister of Canada?")
    assert possessive.holder == of_form.holder == (stem("canada"),)
    assert role_asked("What did Canada's foreign minister say?") is None
    # One word of a possessive role is enough (it may run on: "...Director mentioned in the coverage");
    # the "of" form's role is exact: a foreign minister is not the prime minister.
    foreign = "Foreign Affairs Minister Winston Peters left for Canada on Monday."
    assert names_role(foreign, possessive) and not names_role(foreign, of_form)
    assert holds_role("Prime Minister of Canada Justin Trudeau opened the talks.", of_form)
    assert holds_role("Canadian Prime Minister Justin Trudeau opened the talks.", of_form)
    assert not holds_role(foreign, of_form)
    # The whole of the holder's name: South Korea's minister is not North Korea's.
    north = role_asked("Who is North Korea's foreign minister?")
    assert north.holder == ("north", "korea")
    assert not holds_role("South Korean Foreign Minister Kang Kyung-wha said its talks...", north)
    assert holds_role("North Korean Foreign Minister Ri Yong Ho said...", north)
    # A role of two words is exact in either form: Japan's foreign minister is not its prime minister.
    prime = role_asked("Who is Japan's prime minister?")
    assert not names_role("Japanese Foreign Minister Taro Kono was blunter.", prime)
    long_role = role_asked("Who is the State Department's Policy Planning Director mentioned in the coverage?")
    assert names_role("State Department Policy Planning Director Brian Hook said...", long_role)


def test_a_possessive_role_question_is_not_answered_with_another_role(qa):
    for question in ("Who is Japan's prime minister?", "Who is Canada's prime minister?"):
        answer = qa.answer(question)  # Kono and Freeland are foreign ministers
        assert answer.refused, (question, answer.text)
    assert "Taro Kono" in qa.answer("Who is Japan's foreign minister?").text
    # It was answered with Kang Kyung-wha, "South Korean Foreign Minister": "Korean" matched Korea.
    assert qa.answer("Who is North Korea's foreign minister?").refused
    assert "Kang Kyung-wha" in qa.answer("Who is South Korea's foreign minister?").citations[0].quote
    # "the New Zealand foreign minister" asks the same as the possessive form; it was answered with a
    # list of attending nations that names New Zealand (no article says Peters is New Zealand's).
    assert qa.answer("Who is the New Zealand foreign minister?").refused


def test_a_question_for_a_persons_role_is_answered_with_their_title(qa):
    # These were refused: no sentence says "job", "position" or "title"; news puts the title before
    # the name, as "Who is Rex Tillerson?" finds.
    for question, title in (("What is Rex Tillerson's job?", "Secretary of State Rex Tillerson"),
                            ("What position does Winston Peters hold?", "Foreign Affairs Minister Winston Peters"),
                            ("What is Kang Kyung-wha's title?", "Foreign Minister Kang Kyung-wha"),
                            ("What does Stephen Noerper do?", "senior policy director")):
        answer = qa.answer(question)
        assert not answer.refused and title in answer.citations[0].quote, (question, answer.text)


def test_only_a_persons_role_is_read_as_who_they_are():
    from bot.sentence_features import as_who_is

    assert as_who_is("What is the job of Chrystia Freeland?") == "Who is Chrystia Freeland?"
    for question in ("What is Canada's role?", "What is the role of the United Nations?",  # a country, a body
                     "What did Tillerson do?",  # a deed, not a job
                     "What is Tillerson's position on talks with the North?"):  # a stance
        assert as_who_is(question) == question


def test_a_place_named_after_a_people_is_not_their_nation(qa):
    from bot.text import content_terms

    assert "britain" in content_terms("British Foreign Secretary Boris Johnson")
    assert "britain" not in content_terms("in Vancouver, British Columbia, Canada")
    # It was answered with the photo caption "...in Vancouver, British Columbia, Canada": no article
    # says whether Britain was there.
    assert qa.answer("Was Britain at the meeting?").refused


def test_who_did_it_is_answered_by_the_sentence_that_says_it_was_done_to_that_thing(qa):
    # "Who hosted the Vancouver meeting?" was refused: "The gathering, co-hosted by Canada and the US"
    # shares only "host" with it. "Who hosted the meeting?" opened with "...next month's Olympics being
    # hosted by the South": who hosts something else.
    for question in ("Who hosted the Vancouver meeting?", "Who hosted the meeting?",
                     "Which countries co-hosted the meeting?"):
        answer = qa.answer(question)
        assert not answer.refused and "co-hosted by Canada and the US" in answer.citations[0].quote, answer.text
        assert "Olympics" not in answer.text
    assert "hosted by the South" in qa.answer("Who hosted the Olympics?").citations[0].quote


def test_initials_are_the_same_word_with_or_without_dots():
    from bot.text import content_terms

    assert content_terms("U.S. Secretary of State, the U.N.") == content_terms("US Secretary of State, the UN")


def test_a_short_questions_names_are_grouped_by_who_or_what_they_name():
    from bot.sentence_features import name_groups

    assert name_groups("What did Chrystia Freeland say about China?") == [{"chrystia", "freeland"}, {"china"}]
    assert name_groups("Where will William and Kate move?") == [{"william", stem("kate")}]  # one couple


# One article each: the first question, which the article does not answer, was answered; the second,
# which it does, must still be. A number that is not what it asks for, or a place that is not where.
ONE_ARTICLE_CASES = {
    # The articles say where she is treated, not where she lived.
    "where-named": ("---\ntitle: Liberia sees a new Ebola case\ndate: 2015-03-27\n---\n"
                    "A Liberian woman appears to have contracted Ebola from a man who survived the virus. "
                    "The 44-year-old woman was diagnosed March 20, the first new Ebola case in Liberia in a month. "
                    "She is being treated at an isolation unit in Monrovia, health officials said.\n",
                    "Where in Liberia did the woman who caught Ebola live?",
                    "Where is the woman with Ebola being treated?", "Monrovia"),
    # Reader set 2: the reception was answered with "USA TODAY NEW YORK -- ... some of Broadway's biggest
    # names gathered", which says where the story was filed and whose names, not where it was.
    "where-dateline": ("---\ntitle: Tony nominees celebrate\ndate: 2014-04-30\n---\n"
                       "Elysa Gardner @elysagardner, USA TODAY NEW YORK -- On Wednesday, a day after the Tony Award "
                       "nominations were announced, some of Broadway's biggest names gathered to celebrate at a "
                       "reception. The Tony Awards ceremony will be held at Radio City Music Hall on June 8.\n",
                       "Where was the Tony Award nominees' reception held?",
                       "Where will the Tony Awards ceremony be held?", "Radio City Music Hall"),
    # Netanyahu's 12 years, for Bennett: "his" is the last person named before it.
    "his-amount": ("---\ntitle: Israel heads to a fifth election\ndate: 2022-06-20\n---\n"
                   "Israel's Prime Minister Naftali Bennett said on Wednesday that his government would dissolve "
                   "parliament. Bennett ousted Prime Minister Benjamin Netanyahu in June 2021, ending his 12 years "
                   "in power. Foreign Minister Yair Lapid will serve as caretaker prime minister until the election.\n",
                   "How long was Naftali Bennett in power?", "How long was Benjamin Netanyahu in power?",
                   "his 12 years in power"),
    # Caruso's $40 million, for Bass: the article does not say what she spent.
    "sum": ("---\ntitle: Los Angeles mayoral primary\ndate: 2022-06-08\n---\n"
            "Six-term US Rep. Karen Bass was once viewed as the frontrunner in the mayor's race, but Rick Caruso "
            "mounted an unexpectedly strong challenge against her, spending $40 million on advertising. "
            "The two will meet again in a November runoff.\n",
            "How much did Karen Bass spend in the primary?", "How much did Rick Caruso spend in the primary?",
            "spending $40 million"),
    # The 68 people stranded, for a death toll: made up.
    "death-toll": ("---\ntitle: Yellowstone closes after historic flooding\ndate: 2022-06-14\n---\n"
                   "Historic flooding forced Yellowstone National Park to close all five entrances on Monday. "
                   "In the Yellowstone flooding, 68 people were stranded at a campground. "
                   "No injuries or deaths have been reported.\n",
                   "How many people died in the Yellowstone flooding?",
                   "How many people were stranded in the Yellowstone flooding?", "68 people"),
}


@pytest.mark.parametrize("case", list(ONE_ARTICLE_CASES))
def test_a_value_about_something_else_is_not_the_answer(case, tmp_path_factory, embed_model):
    article, unanswerable, answerable, expected = ONE_ARTICLE_CASES[case]
    qa = _small_qa(tmp_path_factory, embed_model, {f"{case}.md": article})
    refuses_then_answers(qa, unanswerable, answerable, expected)


def test_lives_put_in_danger_are_no_death_toll(qa):
    # It was answered with "...lives of an estimated 152,110 people on 716 international flights could
    # have been put in danger": no article says how many died in the Korean War.
    assert qa.answer("How many people died in the Korean War?").refused


def test_a_sign_up_line_run_into_a_sentence_is_not_quoted(tmp_path_factory, embed_model):
    text = ("---\ntitle: Matthews wins the Hart\ndate: 2022-06-21\n---\n"
            "Toronto Maple Leafs forward Auston Matthews took a major leap this season. "
            "SPORTS NEWSLETTER:Sign up now to get daily updates sent to your inbox Matthews, the second American "
            "to win the Hart Trophy after Patrick Kane, also set career highs in assists and points. "
            "Sign up here for the '5 Things' newsletter.\n")
    qa = _small_qa(tmp_path_factory, embed_model, {"hart.md": text})
    answer = qa.answer("Who won the Hart Trophy?")
    # The answer opened with "SPORTS NEWSLETTER:Sign up now to get daily updates sent to your inbox Matthews, ..."
    quote = answer.citations[0].quote
    assert quote.startswith("Matthews, the second American") and text[answer.citations[0].start:].startswith(quote)
    assert "Sign up" not in answer.text and "newsletter" not in answer.text


def test_a_countrys_role_holder_speaks_for_it_in_a_story_from_there(tmp_path_factory, embed_model):
    qa = _small_qa(tmp_path_factory, embed_model, {"colombo.md": (
        "---\ntitle: Sri Lanka says it is bankrupt\ndate: 2022-07-05\n---\n"
        "Colombo, Sri Lanka (CNN) Sri Lanka is \"bankrupt,\" Prime Minister Ranil Wickremesinghe said Tuesday, as the "
        "country suffers its worst financial crisis in decades. "
        "On Sunday Sri Lanka's energy minister, Kanchana Wijesekera, said the country had less than a day's fuel left.\n")})
    # It was refused: spaCy read the question's "Sri Lanka" as a person, so the prime minister was someone else.
    answer = qa.answer("What did Sri Lanka's prime minister say about the country?")
    assert not answer.refused and "Prime Minister Ranil Wickremesinghe said" in answer.citations[0].quote, answer.text
    assert "energy minister" not in answer.text
