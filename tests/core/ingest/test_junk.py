"""Junk detection: generated junk of every kind is caught and named, odd-looking writing is not,
damaged PDFs lose their junk (or are refused when nothing else is left), and real documents.

Run with -s to read what the damaged files keep (the acceptance asks a person to look).
"""
from __future__ import annotations

import pytest

from core.config import CorpusConfig
from core.ingest.cleaning import clean_document
from core.ingest.document import Document, IngestError, Section
from core.ingest.junk import junk_score, junk_suspects
from core.ingest.readers import read_file
from core.ingest.textstats import noise_score
from damaged import CLEAN, junk_paragraphs, junk_pdfs
from samples import PROSE, RUSSIAN

JUNK = junk_paragraphs()


def _doc(*paragraphs: str) -> Document:
    return Document("x.txt", "x", "text", "utf-8", [Section("x", 1, list(paragraphs))])


@pytest.mark.parametrize("name", sorted(JUNK))
def test_generated_junk_is_caught_and_named(name):
    text, kind = JUNK[name]
    score, found = junk_score(text)
    assert score > 0.5 and found == kind, (name, score, found)
    assert junk_suspects([PROSE, text, RUSSIAN], set(PROSE + text + RUSSIAN)) == {1}


@pytest.mark.parametrize("text", CLEAN)
def test_odd_looking_writing_is_not_junk(text):
    assert junk_score(text)[0] <= 0.25, text  # code, hashes, kanji with kana, μm, Ukrainian ʼ, PDF talk


@pytest.mark.parametrize("text", ["प्रकाशस्तंभ का रक्षक हर शाम सीढ़ियाँ चढ़कर बड़ा दीपक जलाता था।",
                                  "ผู้ดูแลประภาคารปีนบันไดทุกเย็นและจุดตะเกียงดวงใหญ่ เรือที่แล่นผ่านไม่เคยรู้จักชื่อเขา",
                                  "கலங்கரை விளக்கக் காவலர் ஒவ்வொரு மாலையும் படிக்கட்டுகளில் ஏறி விளக்கை ஏற்றினார்.",
                                  "[Coleridge’s “Ancient Mariner.”]"])
def test_scripts_with_combining_marks_are_not_ocr_noise(text):
    assert noise_score(text) < 0.2  # vowel signs are letters, not symbols or broken words


def test_junk_paragraphs_dropped_counted_and_named():
    doc = _doc(PROSE, JUNK["operators"][0], RUSSIAN, JUNK["graphics"][0], PROSE + " Again.", JUNK["objects"][0],
               JUNK["base64"][0])
    clean_document(doc, CorpusConfig())
    assert doc.sections[0].paragraphs == [PROSE, RUSSIAN, PROSE + " Again."]
    assert doc.stats["junk_dropped"] == 4 and doc.stats["junk_pdf"] == 3 and doc.stats["junk_encoded"] == 1
    assert any(w.startswith("looks like damaged PDF internals, not text — ") and "of its text dropped" in w
               for w in doc.warnings), doc.warnings


def test_flag_keeps_junk_and_says_so():
    doc = _doc(PROSE, JUNK["latin1"][0], JUNK["mixed_scripts"][0])
    clean_document(doc, CorpusConfig(noise_action="flag"))
    assert doc.paragraph_count == 3 and doc.stats["junk_flagged"] == 2
    assert any("flagged" in w for w in doc.warnings) and doc.stats["noise_ratio"] == pytest.approx(2 / 3, abs=0.01)


def test_a_few_junk_paragraphs_in_a_book_are_listed_not_headlined():
    doc = _doc(*[f"{PROSE} ({i})" for i in range(200)], JUNK["hex"][0], JUNK["hex_dump"][0], JUNK["base64"][0])
    clean_document(doc, CorpusConfig())
    assert doc.warnings == ["3 of 203 paragraphs dropped: encoded data (base64 or hex)"]


def test_code_block_keeps_its_commands_and_loses_the_armour():
    block = "\n".join(["$ gpg --armor --clearsign --default-key 0xBECFA3C1AE191D15", "-----BEGIN PGP SIGNATURE-----",
                       *JUNK["base64_lines"][0].split("\n"), "-----END PGP SIGNATURE-----"])
    doc = _doc(PROSE, block)
    clean_document(doc, CorpusConfig())
    kept = doc.sections[0].paragraphs[1]
    assert kept.startswith("$ gpg --armor") and "END PGP SIGNATURE" in kept and kept.count("\n") == 2
    assert doc.stats["junk_lines_removed"] == 6 and "junk_dropped" not in doc.stats


def test_a_file_of_junk_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "attachment.txt"
    path.write_text("\n\n".join(JUNK["base64"][0][i:i + 76] * 3 for i in range(0, 300, 76)), encoding="utf-8")
    with pytest.raises(IngestError, match=r"^attachment\.txt: holds encoded data \(base64 or hex\), not text — "
                                          r"no readable text in it$"):
        read_file(path)


def test_junk_deep_in_a_long_text_is_found():
    # Past the first megabyte the hint regexes look at windows spread over the text: a damaged
    # stretch in the middle of a long file is found.
    clean = [f"{PROSE} {i}" for i in range(10_000)]
    hits = junk_suspects(clean[:5000] + [JUNK["hex"][0]] * 200 + clean[5000:], set(PROSE + JUNK["hex"][0] + "0123456789 "))
    assert hits == set(range(5000, 5200))
    assert junk_suspects(clean, set(PROSE + "0123456789 ")) == set()


def test_damaged_pdfs_lose_their_junk_or_are_refused(tmp_path):
    pdfs = junk_pdfs(tmp_path)
    mixed = read_file(pdfs["operators_mixed.pdf"])
    print(f"\noperators_mixed.pdf: {mixed.warnings}\n{mixed.text[:600]}")
    assert mixed.warnings and mixed.warnings[0].startswith("looks like damaged PDF internals, not text — ")
    for token in (" Tj", " Tf", "BT ", " ET", " Tm"):
        assert token not in mixed.text
    assert mixed.text.count(".") >= 75  # the two clean pages' 80 sentences (a few hyphenated line ends joined)
    reasons = {"operators_only.pdf": "looks like damaged PDF internals, not text",
               "latin1_bytes.pdf": "looks like binary data, not text",
               "unmapped_font.pdf": "looks like garbled characters (a broken font or encoding)"}
    for name, reason in reasons.items():
        with pytest.raises(IngestError) as err:
            read_file(pdfs[name])
        print(f"{name}: {err.value}")
        assert str(err.value).startswith(f"{name}: {reason}") and "no readable text" in str(err.value)


def test_noise_threshold_one_turns_junk_detection_off(tmp_path):
    mixed = read_file(junk_pdfs(tmp_path)["operators_mixed.pdf"], CorpusConfig(noise_threshold=1.0))
    assert " Tj" in mixed.text and "junk_dropped" not in mixed.stats


# ------------------------------------------------------------------ real documents (../shared/realdocs)
def test_damaged_files_fail_with_a_reason_or_keep_only_text(realdocs, tokenizer, tmp_path):
    from pathlib import Path

    from core.ingest import ingest
    from core.ingest.store import complete_documents
    from core.project import Project

    project = Project.open(tmp_path / "project")
    files = sorted((realdocs / "bad").iterdir()) + sorted(junk_pdfs(tmp_path / "junk").values())
    result = ingest(project, files, tokenizer, CorpusConfig())
    kept = {Path(d["path"]).name: [p for s in d["sections"] for p in s["paragraphs"]] for d in complete_documents(project)}
    for outcome in result.outcomes:
        name = Path(outcome.path).name
        print(f"\n=== {name}: {outcome.status} — {outcome.reason}")
        for paragraph in kept.get(name, []):
            print(f"    {paragraph}")
        assert outcome.status in ("failed", "warning") and outcome.reason.startswith(name), outcome
        assert all(junk_score(p)[0] <= 0.5 and noise_score(p) <= 0.5 for p in kept.get(name, []))
    assert "damaged PDF" in next(o.reason for o in result.outcomes if o.path.endswith("zen_of_python_corrupted.pdf"))


def _realdocs_files(realdocs):
    for path in sorted(realdocs.rglob("*")):
        if path.is_file() and path.name != "MANIFEST.tsv" and path.parent.name != "bad":
            yield path


def test_clean_documents_keep_their_paragraphs(realdocs, monkeypatch):
    """The guard: every readable realdocs file keeps ≥ 99% of its paragraphs with junk detection
    on, against the same read with it off (printed per file)."""
    import core.ingest.cleaning as cleaning
    import core.ingest.formats.pdf as pdf

    def paragraphs(path, detect: bool) -> int:
        with monkeypatch.context() as patch:
            if not detect:
                patch.setattr(cleaning, "junk_suspects", lambda *args, **kwargs: set())
                patch.setattr(cleaning, "looks_binary", lambda text: False)
                patch.setattr(pdf, "junk_lines", lambda *args, **kwargs: set())
            return read_file(path).paragraph_count

    print()
    for path in _realdocs_files(realdocs):
        try:
            before = paragraphs(path, detect=False)
        except IngestError:
            continue  # scanned, encrypted, legacy .doc: refused either way
        after = paragraphs(path, detect=True)
        print(f"{path.parent.name}/{path.name}: {before} → {after} paragraphs ({after / before:.1%} kept)")
        assert after >= 0.99 * before, path.name
