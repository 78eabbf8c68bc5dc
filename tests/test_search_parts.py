"""The search building blocks that are plain Python: snippets and the autocomplete name index."""

from conditions.search.highlight import best_section, snippet, word_pattern
from conditions.search.names import NamedArticle, NameIndex


def test_snippet_marks_words_and_stems_and_escapes_the_rest():
    pattern = word_pattern(["fractures", "fractur"])
    text = "Rest helps. <b>Stress</b> fractures & a fracture of the shin heal in weeks. " + "Filler words here. " * 30
    html = snippet(text, pattern)
    assert "<mark>fractures</mark>" in html and "<mark>fracture</mark>" in html
    assert "&lt;b&gt;Stress&lt;/b&gt;" in html and "&amp;" in html and "<b>" not in html
    assert len(html) < 320


def test_snippet_window_follows_the_densest_matches():
    text = "knee " + "other words " * 40 + "swollen knee with swelling of the knee joint " + "more words " * 40
    html = snippet(text, word_pattern(["knee", "swollen"]))
    assert html.count("<mark>") >= 3 and "<mark>swollen</mark>" in html


def test_best_section_prefers_more_distinct_words():
    pattern = word_pattern(["bone", "marrow"])
    sections = [("overview", "bone bone bone bone"), ("causes", "bone marrow"), ("treatment", "nothing")]
    assert best_section(sections, pattern)[0] == "causes"
    assert best_section([("overview", "nothing")], pattern) is None


def test_snippet_of_hostile_text_is_inert():
    pattern = word_pattern(["script"])
    html = snippet('<script>alert("x")</script> <img src=x onerror=alert(1)>', pattern)
    assert "<script" not in html and "<img" not in html and "<mark>script</mark>" in html


def index():
    return NameIndex([
        NamedArticle("Osteoporosis", "/o/", ("Osteoporosis", "Brittle bones")),
        NamedArticle("Avascular Necrosis", "/a/", ("Avascular Necrosis", "AVN", "Osteonecrosis")),
        NamedArticle("Bone Marrow Edema", "/b/", ("Bone Marrow Edema", "Bone marrow oedema", "BME")),
        NamedArticle("Cushing Syndrome", "/c/", ("Cushing Syndrome", "Cushing's syndrome")),
    ])


def test_name_index_prefers_titles_then_other_names_and_one_entry_per_article():
    names = index()
    assert [(s.title, s.matched) for s in names.complete("oste")] == [("Osteoporosis", ""), ("Avascular Necrosis", "Osteonecrosis")]
    assert [(s.title, s.matched) for s in names.complete("avn")] == [("Avascular Necrosis", "AVN")]
    assert [s.title for s in names.complete("marrow")] == ["Bone Marrow Edema"]
    assert [s.title for s in names.complete("Cushing's syn")] == ["Cushing Syndrome"]
    assert [s.title for s in names.complete("edema bone")] == ["Bone Marrow Edema"], "words out of order"
    assert names.complete("") == [] and names.complete("!!!") == [] and names.complete("zzz") == []
    assert len(names.complete("o", limit=1)) == 1


def test_marks_ignore_case_and_accents_both_ways_and_a_word_begun_by_another_whole():
    pattern = word_pattern(["fracture", "fractures", "Ménière"])
    html = snippet("MÉNIÈRE, meniere and Ménière. Stress fractures; a fractured hip.", pattern)
    assert html == ("<mark>MÉNIÈRE</mark>, <mark>meniere</mark> and <mark>Ménière</mark>. "
                    "Stress <mark>fractures</mark>; a <mark>fractured</mark> hip.")
    assert pattern.regex.pattern.count("fractur") == 1, "a word another of the words begins adds nothing to match"
    # … unless more than word characters follow: "o" would mark only the "O" of "O'Brien".
    assert snippet("Dr O'Brien’s clinic", word_pattern(["o'brien", "o", "brien"])) == "Dr <mark>O&#x27;Brien</mark>’s clinic"


def test_the_codec_writing_the_index_gives_whooshs_lengths_and_records_plain_w3(tmp_path):
    """LengthsInMemoryCodec: the lengths Whoosh's W3 reader gives, and segments any Whoosh
    reads (a rolled-back release included: the table of contents names W3Codec)."""
    from whoosh import fields, index
    from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader

    from conditions.search.whoosh import CODEC, LengthsInMemory

    ix = index.create_in(str(tmp_path), fields.Schema(title=fields.TEXT(), body=fields.TEXT(), tag=fields.ID(stored=True)))
    writer = ix.writer(codec=CODEC)
    for n in range(1, 300, 7):  # lengths past 255 words too (Whoosh stores a length in one byte, approximately)
        writer.add_document(title="knee pain" if n % 2 else "", body="the knee swells " * n, tag=str(n))
    writer.add_document(tag="no text at all")
    writer.commit()
    ix = index.open_dir(str(tmp_path))
    (segment,) = ix._segments()
    assert type(segment.codec()) is W3Codec
    storage = segment.open_compound_file(ix.storage) if segment.is_compound() else ix.storage
    ours, whooshs = LengthsInMemory(storage, segment), W3PerDocReader(storage, segment)
    lengths = [(ours.doc_field_length(doc, name), whooshs.doc_field_length(doc, name))
               for doc in range(segment.doc_count_all()) for name in ("title", "body", "tag", "missing")]
    assert all(mine == theirs for mine, theirs in lengths), [pair for pair in lengths if pair[0] != pair[1]]
    assert {mine for mine, _ in lengths} > {None, 0, 2}, "absent fields, fields without lengths and real lengths were all compared"
