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

from conditions.content_format import parse
from conditions.markdown import WIKILINK_RE
from conditions.models import SectionKind

from .readability import flesch_kincaid_grade

READABILITY_CEILING = 8.0
EXPECTED_SLUGS = {
    "bone-marrow-edema", "bone-marrow-edema-syndrome", "osteoarthritis", "osteoporosis", "osteomyelitis",
    "septic-arthritis", "avascular-necrosis", "charcot-foot", "tendinopathy", "acute-myeloid-leukemia",
    "bone-metastasis", "chondrosarcoma", "ewing-sarcoma", "osteosarcoma", "cushing-syndrome",
    "hyperparathyroidism", "mastocytosis", "ckd-mineral-bone-disorder", "osteomalacia", "vitamin-d-deficiency",
    "ankylosing-spondylitis", "enthesitis", "psoriatic-arthritis", "rheumatoid-arthritis", "sacroiliitis",
    "acl-tear", "complex-regional-pain-syndrome", "compression-fracture", "hip-dislocation", "stress-fracture",
    "hyperlipidemia", "joint-effusion",
}
REQUIRED_SECTIONS = [kind for kind in SectionKind.values if kind != SectionKind.PREVENTION]
SOURCES = {path.stem: parse(path) for path in sorted(settings.HEALTHLIB_CONTENT_DIR.rglob("*.md"))}


def prose(source):
    """Patient-facing text of an article: every section but References, Markdown removed."""
    text = "\n\n".join(body for kind, body in source.sections.items() if kind != SectionKind.REFERENCES)
    text = WIKILINK_RE.sub(lambda m: m.group(2) or m.group(1).replace("-", " "), text)
    text = re.sub(r"^#+\s*", "", text, flags=re.M)
    text = re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", text, flags=re.M)
    return text.replace("**", "").replace("*", "")


def test_the_whole_set_is_there_and_published():
    assert set(SOURCES) == EXPECTED_SLUGS
    assert {source.status for source in SOURCES.values()} == {"published"}


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
def test_article_is_complete(slug):
    source = SOURCES[slug]
    missing = [kind for kind in REQUIRED_SECTIONS if kind not in source.sections]
    assert not missing, f"missing sections: {missing}"
    questions = re.findall(r"^### (.+)$", "\n".join(source.sections.values()), re.M)
    assert len([q for q in questions if q.endswith("?")]) >= 5
    assert 700 <= len(prose(source).split()) <= 1500
    help_re = re.compile(r"see (a|my|your) (health ?care )?(provider|doctor)|get help|emergency", re.I)
    assert any(help_re.search(q) for q in questions), "a when-to-get-help passage"
    assert re.search(r"911|emergency", source.sections[SectionKind.LIVING_WITH] + source.sections[SectionKind.SYMPTOMS_CAUSES], re.I)
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
