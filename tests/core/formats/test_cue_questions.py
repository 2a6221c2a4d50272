"""Questions asked by a sentence's cue words: the answer and web addresses never in them, only the
sentence's own words, varied wording, Russian templates for Russian books."""
from core.config import FormatConfig
from core.formats.checks import answer_terms, content_words
from core.formats.cue_questions import cue_phrases, cue_questions
from core.formats.knowledge import samples_of

SENTENCE = "PeptoVar uses genome annotation data in GFF3 format (http://gmod.org/wiki/GFF3)."


def test_cues_are_the_sentence_phrases_without_answer_address_or_title():
    phrases = [p for _at, p in cue_phrases(SENTENCE, "GFF3", "PeptoVar manual")]
    assert "genome annotation data" in phrases and "format" in phrases
    assert not any("GFF3" in p or "gmod" in p or "PeptoVar" in p or "uses" in p for p in phrases)


def test_questions_never_give_the_answer_and_hold_only_the_sentence_words():
    asked = cue_questions(SENTENCE, "GFF3", "PeptoVar manual")
    assert len(asked) == 2 and len(set(asked)) == 2
    allowed = set(content_words(SENTENCE + " PeptoVar manual")) | {"know", "said", "say"}
    for q in asked:
        assert q.endswith("?") and "gff3" not in q.lower() and "PeptoVar manual" in q
        assert set(content_words(q)) <= allowed, q


def test_a_sentence_with_no_cues_gives_no_question():
    assert cue_questions("Oh yes it is.", "yes", "Book") == []


def test_russian_books_are_asked_in_russian():
    asked = cue_questions("Мельник Антон каждое утро считал 37 лодок на Волге.", "37", "Мельница", "ru")
    assert asked and all("«Мельница»" in q and "37" not in q for q in asked)
    assert any("Волге" in q for q in asked)


def test_answer_terms_skip_web_addresses():
    terms = answer_terms(SENTENCE, "", None, 3)
    assert terms[0] == "GFF3" and not any("gmod" in t or "http" in t for t in terms)
    assert answer_terms("See www.example.com/docs for the licence of Blorp.", "", None, 1) == ["Blorp"]


def test_a_capitalised_function_word_is_not_a_name():
    # the quexf manual's "Tesseract OCR – For reading text …" (chapter "Software options (OCR)")
    # made the exam ask for "For"
    terms = answer_terms("Tesseract OCR – For reading text or number fields", "Software options (OCR)", None, 2)
    assert "For" not in terms and terms[0] == "Tesseract"
    assert answer_terms("Он сказал: Для начала Анна открыла окно.", "", None, 1) == ["Анна"]


def test_every_in_place_pair_brings_its_cue_questions():
    chunk = {"doc_id": "d" * 16, "chunk": 0, "title": "PeptoVar manual", "language": "en", "text": SENTENCE}
    record = {"pairs": [{"sentence": SENTENCE, "answer": "GFF3", "question": "q?", "origin": "in place"},
                        {"sentence": SENTENCE, "answer": "GFF3", "question": "Fill ____", "origin": "cloze"}]}
    items, _dropped = samples_of(record, chunk, FormatConfig(format="knowledge", parts="text,questions,cues"))
    cues = [i for i in items if i.get("origin") == "cues"]
    assert len(cues) == 2 and all(i["answer"] == SENTENCE and i["kind"] == "question" for i in cues)


def test_cue_questions_are_trained_on_only_when_their_part_is_asked_for():
    from core.formats.builder import knowledge_part

    assert knowledge_part({"kind": "question", "origin": "cues"}) == "cues"
    assert knowledge_part({"kind": "question", "origin": "in place"}) == "questions"
    assert knowledge_part({"kind": "facts"}) == "restatements"
    assert FormatConfig(format="knowledge", parts="text,questions,cues").parts == "text,questions,cues"
