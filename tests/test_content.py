"""The shipped article set (content/): complete, findable, honest and readable.

Readability ceiling: Flesch–Kincaid grade 8.0 per article. The NIH and the AMA advise
writing patient material at or below a US 8th-grade level; we aim at grades 6–8 and
let no article go above the top of that band. Names such as "osteomyelitis" cannot
be avoided and raise the score, which the band's upper edge allows for. The grade is
measured over the patient-facing prose (every section but References).
"""

import re
import statistics

import pytest
from django.conf import settings

from conditions import readability
from conditions.content_format import dump, parse
from conditions.kinds import sections_of
from conditions.markdown import WIKILINK_RE
from conditions.models import SectionKind
from conditions.readability import GRADE_TARGET as READABILITY_CEILING
from conditions.readability import flesch_kincaid_grade

KIND_SLUGS = {
    "test": {"mri", "dexa-scan", "bone-marrow-biopsy", "x-ray", "ct-scan", "ultrasound", "inflammation-blood-tests", "bone-scan",
             "joint-aspiration"},
    "treatment": {"nsaids", "physical-therapy", "corticosteroid-injections", "core-decompression", "bone-graft", "stem-cell-transplant",
                  "bisphosphonates"},
    "symptom": {"bone-pain", "joint-pain", "knee-pain", "hip-pain", "back-pain", "heel-pain"},
    "body": {"bone-marrow", "skeletal-system"},
}
CONDITION_SLUGS = {
    "bone-marrow-edema", "bone-marrow-edema-syndrome", "osteoarthritis", "osteoporosis", "osteomyelitis",
    "septic-arthritis", "avascular-necrosis", "charcot-foot", "tendinopathy", "acute-myeloid-leukemia",
    "bone-metastasis", "chondrosarcoma", "ewing-sarcoma", "osteosarcoma", "cushing-syndrome",
    "hyperparathyroidism", "mastocytosis", "ckd-mineral-bone-disorder", "osteomalacia", "vitamin-d-deficiency",
    "ankylosing-spondylitis", "enthesitis", "psoriatic-arthritis", "rheumatoid-arthritis", "sacroiliitis",
    "acl-tear", "complex-regional-pain-syndrome", "compression-fracture", "hip-dislocation", "stress-fracture",
    "hyperlipidemia", "joint-effusion",
}
KIND_SLUGS["condition"] = CONDITION_SLUGS
EXPECTED_SLUGS = set().union(*KIND_SLUGS.values())
# Every section of the article's kind (Prevention only where there is something to prevent).
OPTIONAL_SECTIONS = {SectionKind.PREVENTION}
# Where an article says when to get help, by kind.
HELP_SECTIONS = {"condition": [SectionKind.LIVING_WITH, SectionKind.SYMPTOMS_CAUSES], "symptom": [SectionKind.WHEN_TO_GET_HELP],
                 "test": [SectionKind.RISKS], "treatment": [SectionKind.WHEN_TO_GET_HELP], "body": [SectionKind.CARE]}
SOURCES = {path.stem: parse(path) for path in sorted(settings.HEALTHLIB_CONTENT_DIR.rglob("*.md"))}


def prose(source):
    """Patient-facing text of an article: every section but References, Markdown removed
    (as the admin measures it: ``conditions.readability``)."""
    return readability.prose("\n\n".join(body for kind, body in source.sections.items() if kind != SectionKind.REFERENCES))


def test_the_whole_set_is_there_and_published():
    assert set(SOURCES) == EXPECTED_SLUGS
    assert {source.status for source in SOURCES.values()} == {"published"}
    assert {kind: {slug for slug, source in SOURCES.items() if source.kind == kind} for kind in KIND_SLUGS} == KIND_SLUGS


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
def test_every_shipped_file_round_trips_byte_for_byte(slug):
    path = settings.HEALTHLIB_CONTENT_DIR / f"{slug}.md"
    assert dump(parse(path)) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
def test_article_is_complete(slug):
    source = SOURCES[slug]
    missing = [kind for kind in sections_of(source.kind) if kind not in source.sections and kind not in OPTIONAL_SECTIONS]
    assert not missing, f"missing sections: {missing}"
    questions = re.findall(r"^### (.+)$", "\n".join(source.sections.values()), re.M)
    assert len([q for q in questions if q.endswith("?")]) >= 5
    assert 700 <= len(prose(source).split()) <= 1500
    help_re = re.compile(r"see (a|my|your) (health ?care )?(provider|doctor)|get help|emergency", re.I)
    assert any(help_re.search(q) for q in questions), "a when-to-get-help passage"
    assert re.search(r"911|emergency", "".join(source.sections[kind] for kind in HELP_SECTIONS[source.kind]), re.I)
    assert len(re.findall(r"^- ", source.sections[SectionKind.KEY_POINTS], re.M)) >= 3
    assert 1 <= len(re.findall(r"[.!?](\s|$)", source.summary)) <= 3


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
def test_article_is_findable_and_honest(slug):
    source = SOURCES[slug]
    assert source.also_known_as, "other names a patient might type"
    assert source.categories and source.related
    assert WIKILINK_RE.search("\n".join(source.sections.values())), "links to the other articles it names"
    assert source.reviewed_by == "", "we never invent reviewers"
    references = re.findall(r"^\d+\. (.+)$", source.sections[SectionKind.REFERENCES], re.M)
    assert len(references) >= 2
    assert not re.search(r"https?://|doi\.org|\bdoi:", source.sections[SectionKind.REFERENCES], re.I)


def test_readability(capsys):
    grades = {slug: flesch_kincaid_grade(prose(source)) for slug, source in SOURCES.items()}
    with capsys.disabled():
        print("\nFlesch–Kincaid grade per article:")
        for slug, grade in sorted(grades.items(), key=lambda item: item[1]):
            print(f"  {grade:4.1f}  {slug}")
        print(f"  median {statistics.median(grades.values()):.1f}, worst {max(grades.values()):.1f} (ceiling {READABILITY_CEILING})")
    too_hard = {slug: round(grade, 1) for slug, grade in grades.items() if grade > READABILITY_CEILING}
    assert not too_hard


def test_readability_check_can_fail():
    hard = ("Osteomyelitis necessitates individualized multidisciplinary antimicrobial administration, "
            "frequently intravenously, accompanied by comprehensive radiological surveillance.")
    easy = "The bone is sore. It hurts when you walk. Rest helps."
    assert flesch_kincaid_grade(hard) > READABILITY_CEILING > flesch_kincaid_grade(easy)


@pytest.mark.parametrize("slug", sorted(KIND_SLUGS["symptom"]))
def test_a_symptom_links_the_conditions_that_cause_it(slug):
    causes = {m.group(1) for m in WIKILINK_RE.finditer(SOURCES[slug].sections[SectionKind.POSSIBLE_CAUSES])}
    assert len(causes & CONDITION_SLUGS) >= 3, causes


def test_the_model_article_links_its_tests_and_treatments():
    linked = {m.group(1) for m in WIKILINK_RE.finditer("\n".join(SOURCES["bone-marrow-edema"].sections.values()))}
    wanted = {"mri", "ultrasound", "dexa-scan", "bone-marrow-biopsy", "inflammation-blood-tests", "x-ray", "ct-scan", "nsaids",
              "physical-therapy", "corticosteroid-injections", "bone-graft", "core-decompression", "stem-cell-transplant", "bone-marrow"}
    assert wanted <= linked, wanted - linked


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS - CONDITION_SLUGS))
def test_new_kinds_claim_no_review_that_did_not_happen(slug):
    assert SOURCES[slug].reviewed_on is None and SOURCES[slug].reviewed_by == ""
