"""Whose words a sentence gives: "What did Japan say?" is answered by what Japan's minister said, not
by a sentence that only names Japan ("...nations, as well as Australia, New Zealand and Japan"),
says something to it ("...sends Kim Jong Un a unified message") or quotes someone else about it.

Written here because neither LlamaIndex nor the entity tagger (`bot/entities.py`) says who speaks;
a few patterns of news attribution do: "Kono said", "said U.S. Secretary of State Rex Tillerson",
"according to Chinese state media", and "He said ..." after the sentence that names him.
"""

from __future__ import annotations

import re

from bot.sentence_features import REPORTING_VERBS, gives_their_words
from bot.text import content_terms, stem, stopwords

_WHAT_DID_SAY = re.compile(
    r"^\s*(?:what|how|why)(?:\s+else)?\s+(?:did|does|do|has|have|had)\s+(.+?)\s+"
    r"(?:say|tell|describe|write|post|tweet|think|believe)\b",
    re.I)
_PRONOUN = re.compile(r"^(?:he|she|they|it|you|i|we|the\s+(?:man|woman))$", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9][\w'’-]*(?:\.[\w'’-]+)*")  # "U.S" inside, not the full stop of "said."
# Verbs that come after the speaker ("Kono said", "China's ministry warned"); before it, only those
# that invert ("said Kono", "according to Chinese media"): "urged China" makes China the one spoken to.
INVERTED_SPEECH = frozenset({"said", "says", "added", "wrote", "according", "explained", "continued", "noted"})
SPEECH_VERBS = frozenset({
    "said", "says", "say", "told", "tells", "tell", "added", "adds", "stated", "warned", "argued", "insisted",
    "noted", "stressed", "urged", "explained", "wrote", "writes", "announced", "declared", "asked", "described",
    "called", "according", "posted", "tweeted", "replied", "responded", "continued", "concluded",
    "acknowledged", "conceded", "admitted", "suggested", "predicted", "cautioned", "reported", "quoted",
})
_AFTER = 5  # "Kono, speaking in Vancouver, said": words between the speaker and the verb
_BEFORE = 7  # "said U.S. Secretary of State Rex Tillerson": a title between the verb and the name
_TITLE_GLUE = {"of", "the", "to", "for"}  # "Secretary of State", "according to"
_NEW_CLAUSE = {"and", "or", "but", "while", "as", "who", "which", "that", "when", "after", "before"}
_PRONOUN_SAID = re.compile(rf"\b(?:he|she|they)\s+(?:also\s+)?(?:{'|'.join(REPORTING_VERBS)})\b", re.I)  # '"...," they said'
_OPENING_QUOTE = re.compile(r"^\s*[\"“]")


def speaker_asked(question: str) -> frozenset[str] | None:
    """The stems naming whose words "What did X say?" asks for ({"japan"}, {"kim", "jong", "un"}); None
    for other questions and for "What did he say?" (a follow-up: the earlier turn names him). The
    names of X when it has any ("Japan's foreign minister" -> Japan: any minister is not Japan's)."""
    m = _WHAT_DID_SAY.match(question)
    if not m or _PRONOUN.match(m.group(1).strip()):
        return None
    subject = m.group(1)
    names = {_stem(t) for t in _TOKEN.findall(subject) if t[:1].isupper()} - stopwords()
    return frozenset(names or content_terms(subject)) or None


def speaker_role(question: str) -> frozenset[str]:
    """The role of whose words "What did X's <role> say?" asks for ("Sri Lanka's prime minister" ->
    {"prime", "minister"}); empty when X is a name alone."""
    m = _WHAT_DID_SAY.match(question)
    if not m or not re.search(r"['’]s?\s+[a-z]", m.group(1)):
        return frozenset()
    role = re.split(r"['’]s?\s+", m.group(1), maxsplit=1)[1]
    return frozenset(content_terms(role))


def _stem(token: str) -> str:
    return stem(token.lower().replace("’", "'").rstrip("."))


LEAD_CHARS = 300  # a story's dateline and first sentence
_NAME_RUN = re.compile(r"[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)+")


def aliases(passage: str, speaker: frozenset[str]) -> frozenset[str]:
    """The surname a run of capitalised words gives the speaker: "Japanese Foreign Minister Taro Kono"
    makes Kono Japan's voice, "Mayor Linda Ortiz" makes Ortiz the mayor's."""
    found: set[str] = set()
    for run in _NAME_RUN.finditer(passage):
        stems = [_stem(t) for t in run.group(0).split()]
        hit = next((i for i, s in enumerate(stems) if s in speaker), None)
        if hit is not None and hit < len(stems) - 1:
            found.add(stems[-1])
    return frozenset(found)


def role_holders(passage: str, speaker: frozenset[str], role: frozenset[str]) -> frozenset[str]:
    """For "What did Sri Lanka's prime minister say?": the names in the runs of capitalised words that
    hold the whole role after the speaker's name ("Japanese Foreign Minister Taro Kono") or, in a story
    from or about the speaker, after no name ("Prime Minister Ranil Wickremesinghe" in one from Sri
    Lanka). Their words answer; Sri Lanka's energy minister's do not."""
    if not role:
        return frozenset()
    # A bare "Prime Minister ..." is the speaker's only in a story from or about it (its opening words).
    about_speaker = speaker <= {_stem(t) for t in _TOKEN.findall(passage[:LEAD_CHARS])}
    found: set[str] = set()
    for run in _NAME_RUN.finditer(passage):
        stems = [_stem(t) for t in run.group(0).split()]
        first = next((i for i, s in enumerate(stems) if s in role), len(stems))
        # Not another nation's: "South Korean Foreign Minister Kang" is no answer for Japan's.
        named = set(stems[:first])
        if role <= set(stems[:-1]) and named <= speaker and (named or about_speaker):
            found.update(set(stems) - role)  # "Japanese ... Taro Kono": "He said" after it is his too
    return frozenset(found)


def speaks(sentence: str, before: str, who: frozenset[str], after: str = "") -> bool:
    """Whether the sentence gives the words of `who` (the speaker's stems and `aliases`); "He said
    ..." and an opening quote count when the sentence before names the speaker first, and so does
    that sentence ("Japanese Foreign Minister Taro Kono was blunter.": the answer adds the next)."""
    if _attributes(sentence, who):
        return True
    if after and _words_of_the_one_before(after) and _first_name(sentence) & who:
        return True
    if before and _words_of_the_one_before(sentence):
        return bool(_first_name(before) & who) or _attributes(before, who)
    return False


def quotes_someone_else(sentence: str, entities: list[tuple[str, str]], asked: list[set[str]]) -> bool:
    """The sentence gives the words of someone named who is none of the `asked` people: '"...,"
    Noerper told VOA.' for "What did Tillerson urge...?". Names inside a place, organisation or
    people (`entities`: its named entities; "The top U.S. diplomat urged") are not speakers here:
    the tagger misses many surnames, so any other capitalised word next to a speech verb is one."""
    not_people = {_stem(t) for text, label in entities if label != "PERSON" for t in _TOKEN.findall(text)}
    asked_stems = set().union(*asked) if asked else set()
    for run in _NAME_RUN.finditer(sentence):  # "Kang Kyung-wha said" is Kang's, for "What did Kang say?"
        run_stems = {_stem(t) for t in _TOKEN.findall(run.group(0))}
        if run_stems & asked_stems:
            asked_stems |= run_stems
    for token in _TOKEN.findall(sentence):
        name = _stem(token)
        if token[:1].isupper() and name not in stopwords() | not_people | asked_stems and _attributes(
                sentence, frozenset({name})):
            return True
    return False


def _words_of_the_one_before(sentence: str) -> bool:
    """"He said ...", or a quote that names no other speaker ('"...," says Vilaró' is Vilaró's)."""
    if _PRONOUN_SAID.search(sentence):
        return True
    return gives_their_words(sentence) and not (_OPENING_QUOTE.match(sentence) and _names_a_speaker(sentence))


def _names_a_speaker(sentence: str) -> bool:
    tokens = _TOKEN.findall(sentence)
    return any(t.lower() in SPEECH_VERBS and any(n[:1].isupper() for n in tokens[max(0, i - 3) : i] + tokens[i + 1 : i + 4])
               for i, t in enumerate(tokens))


def _first_name(sentence: str) -> set[str]:
    """The stems of the sentence's first run of capitalised words ("Japanese Foreign Minister Taro
    Kono"): the subject that a following "He said" goes back to."""
    run: list[str] = []
    for token in _TOKEN.findall(sentence):
        if token[:1].isupper() and (run or _stem(token) not in stopwords()):
            run.append(_stem(token))
        elif run:
            break
    return set(run)


# "Stephen Noerper, senior policy director at the Korea Society, said": the title between commas
# (starting lower-case: ", Russia and Iran, Noerper said" lists names) stands between name and verb.
_APPOSITIVE = re.compile(rf",\s+[a-z][^,\"“”]{{0,80}},\s+(?=(?:{'|'.join(sorted(SPEECH_VERBS))})\b)")


def _attributes(sentence: str, who: frozenset[str]) -> bool:
    tokens = _TOKEN.findall(_APPOSITIVE.sub(" ", sentence))
    stems = [_stem(t) for t in tokens]
    for i, s in enumerate(stems):
        if s not in who:
            continue
        for j in range(i + 1, min(len(tokens), i + 1 + _AFTER)):  # "Kono said", "China's ministry said"
            if tokens[j].lower() in SPEECH_VERBS and tokens[j].lower() != "according":
                return True
            if tokens[j][:1].isupper() and stems[j] not in who:  # someone else speaks: "China, Noerper said"
                break
            if tokens[j].lower() in _NEW_CLAUSE:  # "He commended Zelensky's courage and called ..."
                break
        for j in range(i - 1, max(-1, i - 1 - _BEFORE), -1):  # "said Tillerson", "according to Chinese media"
            if tokens[j].lower() in INVERTED_SPEECH:
                return True
            if not tokens[j][:1].isupper() and tokens[j].lower() not in _TITLE_GLUE and stems[j] not in who:
                break
    return False
