"""Irregular word forms and their base form ("told" -> "tell", "met" -> "meet", "children" -> "child").

The light stemmer of `bot/text.py` matches "urged" with "urge" but not "told" with "tell"; these
exceptions come from the lemmatizer tables of spaCy's en_core_web_sm, already installed for the
entity tagger (`bot/entities.py`), read as data without loading spaCy (0.25 s, once).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

# Words whose table holds them: the tables are stored under hashed names ("verb", "noun", ...).
_VERB_MARK, _NOUN_MARK = "told", "children"


@lru_cache(maxsize=1)
def irregular_forms() -> dict[str, str]:
    """Irregular verb and noun forms -> base form; {} when the model package is missing."""
    from bot.entities import MODEL_PACKAGE, model_folder  # bot.entities imports bot.text, which imports this

    import srsly

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return {}
    path = model_folder(Path(spec.origin).parent) / "lemmatizer" / "lookups" / "lookups.bin"
    try:
        tables = srsly.read_msgpack(path)
        exceptions = tables["lemma_exc"]
        if isinstance(exceptions, bytes):
            exceptions = srsly.msgpack_loads(exceptions)
    except (OSError, ValueError, KeyError):
        return {}
    forms: dict[str, str] = {}
    # Adjectives and adverbs are left out: "best" -> "good" would match words that differ in meaning.
    for table in exceptions.values():
        if isinstance(table, dict) and (_VERB_MARK in table or _NOUN_MARK in table):
            for form, lemmas in table.items():
                if lemmas and form != lemmas[0]:
                    forms.setdefault(form, lemmas[0])
    return forms
