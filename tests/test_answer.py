"""The answer path on the seed corpus: answers with citations, refusals, follow-ups, bad questions."""

from __future__ import annotations

import re

import pytest
from conftest import CORPUS, NZ, VOA

from bot.answer import check_question
from bot.answer_types import QuestionError
from bot.text import content_terms
from bot.prompts import load_prompt


def article_text(source: str) -> str:
    # Offsets count characters of the file as written (no newline translation).
    with open(CORPUS / source, encoding="utf-8", newline="") as fh:
        return fh.read()


def assert_citations_quote_the_articles(answer) -> None:
    assert answer.citations, answer.text
    for n, c in enumerate(answer.citations, start=1):
        assert c.n == n
        assert f"[{n}]" in answer.text
        assert c.quote and c.quote == article_text(c.source)[c.start : c.end]
        assert c.title and isinstance(c.score, float) and c.score > 0


# (question, a pattern the answer must contain, the article the quoting citation must come from)
SEED_QUESTIONS = [
    ("What did Tillerson urge China and Russia to do?", r"implement United Nations sanctions", VOA),
    ("According to Tillerson, an estimated how many people on international flights could have been "
     "endangered by North Korea's most recent missile launch?", r"152,110", VOA),
    ("Who is Canada's foreign minister?", r"Chrystia Freeland", VOA),
    ("Who is the State Department's Policy Planning Director mentioned in the coverage?", r"Brian Hook", VOA),
    ("Who is the senior policy director at the Korea Society?", r"Stephen Noerper", VOA),
    ("Which Chinese president spoke with Trump by phone, according to Chinese state media?", r"Xi Jinping", VOA),
    ("Which foreign affairs minister left for Canada on Monday to attend the meetings on North Korea?",
     r"Winston Peters", NZ),
    ("What campaign against North Korea did Tillerson call on nations to step up?", r"maximum pressure", NZ),
    ("What did Tillerson want nations to do about ships conducting illicit trade with North Korea?",
     r"interdicting ships", NZ),
    ("How long had it been since North and South Korea last held formal talks?", r"two years", VOA),
    ("What did Tillerson say North Korea's missile tests pose a real threat to?", r"civilian air traffic", VOA),
]


@pytest.mark.parametrize("question,fact,source", SEED_QUESTIONS, ids=[q[0][:40] for q in SEED_QUESTIONS])
def test_seed_questions_are_answered_and_cited(qa, question, fact, source):
    answer = qa.answer(question)
    assert not answer.refused, answer.text
    assert re.search(fact, answer.text), answer.text
    assert_citations_quote_the_articles(answer)
    quoting = [c for c in answer.citations if re.search(fact, c.quote)]
    assert quoting and quoting[0].source == source, [(c.source, c.quote) for c in answer.citations]
    assert set(answer.timings) >= {"retrieve_ms", "total_ms"}


def test_citation_fields_of_the_dated_nz_article(qa):
    answer = qa.answer("What campaign against North Korea did Tillerson call on nations to step up?")
    nz = [c for c in answer.citations if c.source == NZ]
    assert nz, answer.citations
    c = nz[0]
    assert c.date == "2017-12-25"  # from the "date YYYY-MM-DD" prefix
    assert c.title == "Tillerson maximum pressure vancouver"  # no headline line: from the file name
    text = article_text(NZ)
    assert c.quote == text[c.start : c.end]
    assert c.quote.startswith("Secretary of State Rex Tillerson called")
    assert "date 2017-12-25" not in c.quote and "date 2017" not in answer.text
    assert c.start >= len(" date 2017-12-25 ")
    public = c.public()
    assert set(public) >= {"n", "source", "title", "date", "quote", "start", "end", "score"}


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2018 World Cup?",
        "What is the capital of Australia?",
        "How do I bake sourdough bread?",
        "What is the boiling point of water at sea level?",
        # Short questions whose name the near-topic sentences lack (New Zealand's minister, Peters' words).
        "Who is China's foreign minister?",
        "What did Russia say about the meeting?",
        "What did Freeland say about China?",  # Noerper did, not Freeland
    ],
)
def test_off_corpus_questions_are_refused_with_closest_matches(qa, question):
    answer = qa.answer(question)
    assert answer.refused
    assert answer.text == load_prompt("refusal")
    assert answer.citations == []
    assert answer.closest, "a refusal lists the closest passages"
    for c in answer.closest:
        assert c.source in (VOA, NZ)
        assert c.quote == article_text(c.source)[c.start : c.end]


def test_follow_up_question_is_resolved_through_history(qa):
    first = qa.answer("Who is Canada's foreign minister?")
    assert "Freeland" in first.text
    follow_up = qa.answer("What did she say nations must improve?", [(first.question, first.text)])
    assert not follow_up.refused, follow_up.text
    # The conversation shaped the retrieval query: "she" is the minister the earlier turn named ...
    assert "Chrystia Freeland" in follow_up.query
    # ... and the answer is Freeland's sentence, cited to the VOA article.
    assert "improve the effectiveness of existing sanctions" in follow_up.text
    assert_citations_quote_the_articles(follow_up)
    assert any(c.source == VOA and "Freeland" in c.quote for c in follow_up.citations)


def test_a_follow_up_with_no_words_of_its_own_is_asked_about_the_earlier_turn(qa):
    first = qa.answer("How many nations took part in the Vancouver meeting on North Korea?")
    history = [(first.question, first.text)]
    for follow_up in ("Why?", "Where was it?", "When was that?"):
        answer = qa.answer(follow_up, history)  # not "the question has no words to search for"
        assert "Vancouver meeting" in answer.query
        if not answer.refused:
            assert_citations_quote_the_articles(answer)
    assert "Vancouver" in qa.answer("Where was it?", history).text
    # "When?" after "Where was the meeting held?" asks when the meeting was: "held" only shaped it.
    first = qa.answer("Where was the meeting held?")
    answer = qa.answer("When?", [(first.question, first.text)])
    assert not answer.refused and "Jan. 16, 2018" in answer.text, answer.text
    with pytest.raises(QuestionError, match="no words to search for"):
        qa.answer("?!?", history)  # nothing to ask, conversation or not


def test_he_after_a_refused_turn_is_the_person_of_the_turn_before(qa):
    # A refusal names no one, so "he" was not read as Noerper and the question was refused.
    history = []
    for question in ("Who is Stephen Noerper?", "What is his favourite food?"):
        history.append((question, qa.answer(question, history).text))
    assert history[-1][1] == qa.refusal, history  # the turn between names no one
    answer = qa.answer("What did he tell VOA?", history)
    assert not answer.refused and "Noerper told VOA" in answer.citations[0].quote, answer.text


def test_a_follow_up_after_one_with_no_words_is_about_the_turn_before_it(qa):
    # "Who sent it?" was answered with Tillerson's message that "sends" Kim Jong Un a unified message:
    # "When was it?" gave it no topic. It is about the Hawaii alert, whose sender the articles never name.
    history = []
    for question in ("What happened in Hawaii?", "When was it?"):
        answer = qa.answer(question, history)
        assert "Hawaii" in answer.text, answer.text
        history.append((question, answer.text))
    answer = qa.answer("Who sent it?", history)
    assert answer.refused, answer.text


def test_she_in_a_follow_up_is_the_person_the_earlier_question_named(qa):
    # The earlier answer names Rex Tillerson first; "she" is Freeland, whom the question named.
    first = qa.answer("Who is Chrystia Freeland?")
    answer = qa.answer("What did she say?", [(first.question, first.text)])
    assert answer.citations and "Freeland told" in answer.citations[0].quote, answer.text


def test_she_is_the_person_the_earlier_turn_marks_as_a_woman():
    from bot.answer import named_from_conversation

    case = ("(CNN) A Los Angeles jury found comedian Bill Cosby liable in a civil case brought by Judy Huth, "
            "a woman who claimed he sexually assaulted her as a teenager in the 1970s. [1]")
    history = [("Who was found liable for sexual battery?", case), ("Who brought the case?", case)]
    # "she" was read as Cosby, the first person named, and answered with his age ("Cosby, 84, has denied...").
    assert named_from_conversation("How old was she when it happened?", history) == \
        "How old was Judy Huth when it happened?"
    assert named_from_conversation("How old was he when it happened?", history) == \
        "How old was Bill Cosby when it happened?"


def test_who_is_a_countrys_minister_opens_with_the_minister_and_she_is_that_minister(qa):
    first = qa.answer("Who is Canada's foreign minister?")
    # Not "Foreign Affairs Minister Winston Peters left for Canada...": Canada must qualify the role.
    assert "Freeland" in first.citations[0].quote, first.text
    assert "Japanese Foreign Minister Taro Kono" in qa.answer("Who is Japan's foreign minister?").citations[0].quote
    assert "Japanese Foreign Minister Taro Kono" in qa.answer("Who is the foreign minister of Japan?").citations[0].quote
    # No sentence names New Zealand's minister as such: not the list of nations that names New Zealand;
    # Canada's foreign minister is not its prime minister.
    assert qa.answer("Who is New Zealand's foreign minister?").refused
    assert qa.answer("Who is the Prime Minister of Canada?").refused
    # "...in Vancouver, British Columbia, Canada" names Columbia, but not as the holder of the role.
    assert qa.answer("Who is Columbia's foreign minister?").refused
    # News writes "U.S.", users type "US".
    assert "Rex Tillerson" in qa.answer("Who is the US Secretary of State?").citations[0].quote
    # "she" is the minister named after the role, not the first person of the answer (Tillerson), and
    # the answer is by or about her (not New Zealand's minister, who merely holds the question's words).
    follow_up = qa.answer("What did she say?", [(first.question, first.text)])
    assert "improve the effectiveness of existing sanctions" in follow_up.text, follow_up.text
    assert "Peters" not in follow_up.text


def test_what_someone_said_includes_the_words_after_the_sentence_naming_them(qa):
    # "Japanese Foreign Minister Taro Kono was blunter. He said the North "wants to buy some time ..."":
    # the sentence with his words names neither him nor North Korea in full. The first was refused
    # before, the second answered "Taro Kono was blunter." alone.
    # "...about North Korea's nuclear programmes?" ranks "He said ..." first, shown after the sentence naming him.
    for question in ("What did Kono say about North Korea?", "What did Japan's foreign minister say?",
                     "What did Kono say about North Korea's nuclear programmes?"):
        answer = qa.answer(question)
        assert "wants to buy some time" in answer.text, answer.text
        assert_citations_quote_the_articles(answer)
        assert answer.citations[0].quote.startswith("Japanese Foreign Minister Taro Kono")
    # And the other way round: "He said the North ..." answers who said it, with the sentence naming him.
    answer = qa.answer("Who said North Korea wants to buy some time?")
    assert answer.citations[0].quote.startswith("Japanese Foreign Minister Taro Kono"), answer.text
    assert "wants to buy some time" in answer.text
    # "And Japan?" after a question about what someone said asks the same of Japan.
    first = qa.answer("What did Kang Kyung-wha say about the talks with North Korea?")
    answer = qa.answer("And Japan?", [(first.question, first.text)])
    assert "wants to buy some time" in answer.text, answer.text


def test_a_follow_up_answer_can_be_a_sentence_that_says_she(qa):
    # "But she conceded that..." follows the sentence naming Kang Kyung-wha: its "she" is her.
    first = qa.answer("What did Kang Kyung-wha say?")
    answer = qa.answer("What did she concede?", [(first.question, first.text)])
    assert answer.citations and answer.citations[0].quote.startswith("But she conceded"), answer.text
    assert answer.text != first.text


def test_a_follow_up_does_not_open_with_the_sentence_just_quoted(qa):
    first = qa.answer("Who is Chrystia Freeland?")
    answer = qa.answer("And Tillerson?", [(first.question, first.text)])
    assert not answer.refused and "Tillerson" in answer.citations[0].quote
    assert answer.citations[0].quote != first.citations[0].quote, answer.text


def test_what_else_gives_words_not_yet_quoted_and_refuses_when_there_are_none(qa):
    # "else" was a word to find, so "What else did he say?" was refused while Tillerson says much more.
    history, quoted = [], set()
    for question in ("What did Tillerson say?", "What else did he say?", "What else did he say?"):
        answer = qa.answer(question, history)
        assert not answer.refused, (question, answer.text)
        assert "Tillerson" in answer.citations[0].quote, answer.text
        assert not {c.quote for c in answer.citations} & quoted, answer.text  # nothing said twice
        quoted |= {c.quote for c in answer.citations}
        history.append((question, answer.text))
    # Kang Kyung-wha's two sentences are her only words in the articles: a photo caption naming her is
    # not more of what she said.
    first = qa.answer("What did Kang Kyung-wha say?")
    assert len(first.citations) == 2, first.text
    assert qa.answer("What else did she say?", [(first.question, first.text)]).refused


def test_follow_up_query_leaves_standalone_questions_alone(qa):
    history = [("Who is Canada's foreign minister?", "Chrystia Freeland [1]")]
    question = "Which Chinese president spoke with Trump by phone, according to Chinese state media?"
    assert qa.answer(question, history).query == question
    # A short question with words of its own changes the topic: the earlier turn stays out of the search.
    answer = qa.answer("Who is Taro Kono?", history)
    assert answer.query == "Who is Taro Kono?"
    assert not answer.refused and "Kono" in answer.citations[0].quote


def test_a_question_whose_his_is_someone_it_names_stands_alone(qa):
    # "his" is Tillerson's: the earlier turns (about the meeting, then Peters) must not decide who.
    history = [("Where was the meeting held?", "Mr Peters said the meeting is an opportunity [1]")]
    answer = qa.answer("What did Tillerson say in his opening remarks?", history)
    assert answer.query == "What did Tillerson say in his opening remarks?"
    assert not answer.refused and "opening remarks" in answer.citations[0].quote, answer.text


def test_what_did_she_say_is_answered_with_her_words_not_a_caption_naming_her(qa):
    first = qa.answer("Who is Canada's foreign minister?")
    answer = qa.answer("What did she say?", [(first.question, first.text)])
    # Not "Tillerson speaks with Canada's Minister of Foreign Affairs Chrystia Freeland" (a photo caption).
    assert answer.citations[0].quote.startswith("Canadian Foreign Minister Chrystia Freeland told"), answer.text


def test_when_after_where_did_he_go_asks_when_he_went(qa):
    history = []
    for question in ("What did Winston Peters say?", "Where did he go?"):
        history.append((question, qa.answer(question, history).text))
    answer = qa.answer("When?", history)
    assert not answer.refused and "Monday" in answer.citations[0].quote, answer.text


def test_who_is_he_is_asked_as_who_is_the_person_the_earlier_turn_named(qa):
    first = qa.answer("What did Tillerson say in his opening remarks?")
    answer = qa.answer("Who is he?", [(first.question, first.text)])
    assert answer.query.startswith("Who is Tillerson?")
    assert not answer.refused and "Secretary of State Rex Tillerson" in answer.citations[0].quote, answer.text


def test_what_is_the_date_asks_when(qa):
    from bot.sentence_features import expected_answer_type

    assert expected_answer_type("What is the date of the talks?") == "date"
    answer = qa.answer("What was the date of the meeting?")  # no sentence says "date": "Jan. 16, 2018" does
    assert not answer.refused and "Jan. 16, 2018" in answer.citations[0].quote, answer.text


def test_what_someone_urged_does_not_add_another_speakers_words(qa):
    # The README's first question: the second sentence was Noerper's quote ('"...," Noerper told VOA').
    answer = qa.answer("What did Tillerson urge China and Russia to do?")
    assert answer.citations[0].quote.startswith("The top U.S. diplomat urged"), answer.text
    assert not any("Noerper" in c.quote for c in answer.citations), answer.text
    # A name's other words are the same speaker: "Kang Kyung-wha said" is Kang's.
    assert not qa.answer("What did Kang say about the talks?").refused


def test_a_full_name_asks_the_same_as_the_surname(qa):
    # "Stephen Noerper, senior policy director at the New York-based Korea Society, said ...": the
    # title between the commas stands between the name and "said".
    answer = qa.answer("What did Stephen Noerper say?")
    assert not answer.refused and answer.citations[0].quote.startswith("Stephen Noerper"), answer.text
    # "But she conceded that ..." is about the Kang Kyung-wha of the sentence before it.
    for question in ("What did Kang Kyung-wha concede?", "What did Kang Kyung-wha say about denuclearization?"):
        answer = qa.answer(question)
        assert not answer.refused and "But she conceded" in answer.text, (question, answer.text)


@pytest.mark.parametrize("bad", ["", "   ", "\n\t \n", "\x00\x1b  "])
def test_empty_question(qa, bad):
    with pytest.raises(QuestionError, match="the question is empty"):
        qa.answer(bad)


def test_too_long_question(qa):
    with pytest.raises(QuestionError) as err:
        qa.answer(("Why did Tillerson go to Vancouver? " * 600)[:20_000])
    message = str(err.value)
    assert "characters long" in message
    assert "limit is 2,000" in message and "BOT_MAX_QUESTION_CHARS" in message


def test_question_without_words():
    with pytest.raises(QuestionError, match="no words to search for"):
        check_question("?!? ...", 2000)
    assert check_question("  What\u200b did\n Tillerson   say? ", 2000) == "What did Tillerson say?"


def test_won_is_a_word_to_search_for():
    # NLTK lists "won" as a stopword (the "won" of "won't"); the bot reads "won't" whole, so a lone
    # "won" is the verb, and "Who won?" is a question, not an empty one.
    assert check_question("Who won?", 2000) == "Who won?"
    assert content_terms("Who won the election?") == ["win", "election"]
