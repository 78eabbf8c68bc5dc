"""The kinds of article and the sections of each: data, not code.

The library holds five kinds of article, as the leading health libraries organise theirs
(diseases and conditions; symptoms; diagnostics and testing; treatments and procedures;
body systems and organs), each with its own fixed list of sections in page order
(``../shared/content-format.md``, "Sections by kind"). Everything that differs by kind
lives in ``KINDS``: the address prefix, the names patients see, the section list and the
schema.org types the article may be ``about``. Pages, the importer, the admin, the search
index, the API and the structured data all read it; none holds its own copy.

``SectionKind`` is every section of every kind, in one order that each kind's list
follows, so sorting a page's sections by it gives that kind's page order. Its values
double as the ``h2`` anchors.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleKind(models.TextChoices):
    CONDITION = "condition", _("Condition")
    SYMPTOM = "symptom", _("Symptom")
    TEST = "test", _("Test")
    TREATMENT = "treatment", _("Treatment")
    BODY = "body", _("Body part")


class SectionKind(models.TextChoices):
    OVERVIEW = "overview", _("Overview")
    # condition
    SYMPTOMS_CAUSES = "symptoms-and-causes", _("Symptoms and Causes")
    DIAGNOSIS_TESTS = "diagnosis-and-tests", _("Diagnosis and Tests")
    MANAGEMENT_TREATMENT = "management-and-treatment", _("Management and Treatment")
    OUTLOOK_PROGNOSIS = "outlook-prognosis", _("Outlook / Prognosis")
    PREVENTION = "prevention", _("Prevention")
    LIVING_WITH = "living-with", _("Living With")
    # symptom
    POSSIBLE_CAUSES = "possible-causes", _("Possible Causes")
    CARE_TREATMENT = "care-and-treatment", _("Care and Treatment")
    # test
    TEST_DETAILS = "test-details", _("Test Details")
    RESULTS_FOLLOW_UP = "results-and-follow-up", _("Results and Follow-Up")
    RISKS = "risks", _("Risks")
    # treatment
    PROCEDURE_DETAILS = "procedure-details", _("Procedure Details")
    RISKS_BENEFITS = "risks-and-benefits", _("Risks and Benefits")
    RECOVERY_OUTLOOK = "recovery-and-outlook", _("Recovery and Outlook")
    # symptom and treatment
    WHEN_TO_GET_HELP = "when-to-get-help", _("When to Get Help")
    # body
    FUNCTION = "function", _("Function")
    ANATOMY = "anatomy", _("Anatomy")
    CONDITIONS_DISORDERS = "conditions-and-disorders", _("Conditions and Disorders")
    CARE = "care", _("Care")
    # every kind, last
    KEY_POINTS = "key-points", _("Key Points")
    REFERENCES = "references", _("References")

    @classmethod
    def position(cls, kind):
        """Where the section ``kind`` (a value) stands in page order, an int; ``ValueError``
        for an unknown kind. (``values`` builds its list at every call; a bulk import asks
        this some 90,000 times.)"""
        try:
            return _POSITIONS[kind]
        except KeyError:
            raise ValueError(f"{kind!r} is not a section kind") from None


S = SectionKind
_POSITIONS = {kind.value: position for position, kind in enumerate(SectionKind)}


@dataclass(frozen=True)
class KindInfo:
    """What one kind of article is: ``path`` is its address prefix (``/tests/mri/``),
    ``plural`` the name of its A–Z (and its breadcrumb), ``sections`` its ``SectionKind``
    values in page order, ``schema_types`` the schema.org types its articles may be about
    (the first is the default; https://schema.org/MedicalEntity lists them)."""

    kind: str
    path: str
    plural: str
    description: str
    sections: tuple
    schema_types: tuple
    title_suffix: str  # what the article page's <title> adds to the article's name
    # Whether its articles are about a health problem a patient has (a condition or a symptom:
    # what a chart's problem list holds). Only those list emergency signs (front matter
    # ``emergency``) and carry ICD-10-CM codes (``codes``); a test, treatment or body part has neither.
    is_problem: bool = False

    @property
    def label(self):
        return ArticleKind(self.kind).label

    @property
    def default_schema_type(self):
        return self.schema_types[0]


KINDS = {
    info.kind: info
    for info in (
        KindInfo(
            ArticleKind.CONDITION, "conditions", _("Diseases & Conditions"), _("What a condition is, its symptoms, causes and treatment."),
            (S.OVERVIEW, S.SYMPTOMS_CAUSES, S.DIAGNOSIS_TESTS, S.MANAGEMENT_TREATMENT, S.OUTLOOK_PROGNOSIS, S.PREVENTION, S.LIVING_WITH,
             S.KEY_POINTS, S.REFERENCES),
            ("MedicalCondition",), _("Symptoms, Causes and Treatment"), is_problem=True,
        ),
        KindInfo(
            ArticleKind.SYMPTOM, "symptoms", _("Symptoms"), _("What you notice, what might cause it and when to get help."),
            (S.OVERVIEW, S.POSSIBLE_CAUSES, S.CARE_TREATMENT, S.WHEN_TO_GET_HELP, S.KEY_POINTS, S.REFERENCES),
            ("MedicalSignOrSymptom",), _("Causes, Care and When to Get Help"), is_problem=True,
        ),
        KindInfo(
            ArticleKind.TEST, "tests", _("Diagnostics & Tests"), _("What a test or scan is for, how it is done and what the results mean."),
            (S.OVERVIEW, S.TEST_DETAILS, S.RESULTS_FOLLOW_UP, S.RISKS, S.KEY_POINTS, S.REFERENCES),
            ("MedicalTest", "ImagingTest", "BloodTest", "PathologyTest"), _("What It Is, How It Is Done and Results"),
        ),
        KindInfo(
            ArticleKind.TREATMENT, "treatments", _("Treatments & Procedures"),
            _("Procedures, therapies and medicines: how they work, their risks and benefits, and recovery."),
            (S.OVERVIEW, S.PROCEDURE_DETAILS, S.RISKS_BENEFITS, S.RECOVERY_OUTLOOK, S.WHEN_TO_GET_HELP, S.KEY_POINTS, S.REFERENCES),
            ("MedicalProcedure", "SurgicalProcedure", "TherapeuticProcedure", "MedicalTherapy", "PhysicalTherapy", "Drug"),
            _("How It Works, Risks and Recovery"),
        ),
        KindInfo(
            ArticleKind.BODY, "body", _("Body Systems & Parts"), _("How a part of the body works and what can go wrong with it."),
            (S.OVERVIEW, S.FUNCTION, S.ANATOMY, S.CONDITIONS_DISORDERS, S.CARE, S.KEY_POINTS, S.REFERENCES),
            ("AnatomicalStructure", "AnatomicalSystem"), _("Function, Anatomy and Care"),
        ),
    )
}
KIND_BY_PATH = {info.path: info for info in KINDS.values()}

# Medicines have no procedure: their "Procedure Details" section reads "How It Works" on the page.
SECTION_LABEL_BY_SCHEMA_TYPE = {("Drug", S.PROCEDURE_DETAILS): _("How It Works")}


def sections_of(kind):
    """``SectionKind`` values of ``kind`` in page order; ``KeyError`` for an unknown kind."""
    return KINDS[kind].sections


def section_label(section_kind, schema_type=""):
    """The heading a section shows on the page (the source heading is always ``SectionKind``'s label)."""
    return SECTION_LABEL_BY_SCHEMA_TYPE.get((schema_type, section_kind)) or SectionKind(section_kind).label
