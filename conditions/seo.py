"""What search engines and link previews read: schema.org JSON-LD and robots.txt (the sitemap: ``sitemaps``).

The article's structured data follows the NHS website's content model: a
``MedicalWebPage`` ``about`` the article's subject, one ``HealthTopicContent`` part per
section with its ``hasHealthAspect``, and a ``BreadcrumbList``. ``reviewedBy`` appears
only when a reviewer is recorded: we never invent one.

The subject's type is the article's kind's (``kinds.KINDS``): ``MedicalCondition``,
``MedicalSignOrSymptom``, ``MedicalTest``, ``MedicalProcedure``, ``AnatomicalStructure``,
or the more precise type the article names (``schema_type``: ``ImagingTest``, ``Drug``,
``AnatomicalSystem``, …; https://schema.org/MedicalEntity).

Each section maps to the nearest members of schema.org's ``HealthAspectEnumeration``
(https://schema.org/HealthAspectEnumeration). There is no "diagnosis" aspect: "Diagnosis
and Tests" and a test's "Results and Follow-Up" map to ``ScreeningHealthAspect`` ("how to
screen or further filter a topic"), the nearest; "Anatomy" has none nearer than
``OverviewHealthAspect``. References are not a health aspect and are left out of ``hasPart``.

Emergency signs (condition and symptom articles) are the subject's ``signOrSymptom``s
(https://schema.org/signOrSymptom; a ``MedicalSignOrSymptom`` is itself a
``MedicalCondition``), and their box is a ``HealthTopicContent`` part with
``SeeDoctorHealthAspect`` ("when to see a doctor"), named with the emergency number.
ICD-10-CM codes are the subject's ``code``s, each a ``MedicalCode``
(https://schema.org/MedicalCode: ``codeValue``, ``codingSystem``).
"""

import json

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from . import codes
from .models import SectionKind

SCHEMA = "https://schema.org/"
HEALTH_ASPECTS = {
    SectionKind.OVERVIEW: ["OverviewHealthAspect"],
    SectionKind.SYMPTOMS_CAUSES: ["SymptomsHealthAspect", "CausesHealthAspect"],
    SectionKind.DIAGNOSIS_TESTS: ["ScreeningHealthAspect"],
    SectionKind.MANAGEMENT_TREATMENT: ["TreatmentsHealthAspect"],
    SectionKind.OUTLOOK_PROGNOSIS: ["PrognosisHealthAspect"],
    SectionKind.PREVENTION: ["PreventionHealthAspect"],
    SectionKind.LIVING_WITH: ["LivingWithHealthAspect", "SeeDoctorHealthAspect"],
    SectionKind.POSSIBLE_CAUSES: ["CausesHealthAspect"],
    SectionKind.CARE_TREATMENT: ["TreatmentsHealthAspect", "SelfCareHealthAspect"],
    SectionKind.TEST_DETAILS: ["HowOrWhereHealthAspect", "PatientExperienceHealthAspect"],
    SectionKind.RESULTS_FOLLOW_UP: ["ScreeningHealthAspect"],
    SectionKind.RISKS: ["RisksOrComplicationsHealthAspect", "SafetyHealthAspect"],
    SectionKind.PROCEDURE_DETAILS: ["HowItWorksHealthAspect", "HowOrWhereHealthAspect"],
    SectionKind.RISKS_BENEFITS: ["RisksOrComplicationsHealthAspect", "BenefitsHealthAspect", "SideEffectsHealthAspect"],
    SectionKind.RECOVERY_OUTLOOK: ["PrognosisHealthAspect", "PatientExperienceHealthAspect"],
    SectionKind.WHEN_TO_GET_HELP: ["SeeDoctorHealthAspect"],
    SectionKind.FUNCTION: ["HowItWorksHealthAspect"],
    SectionKind.ANATOMY: ["OverviewHealthAspect"],
    SectionKind.CONDITIONS_DISORDERS: ["RelatedTopicsHealthAspect"],
    SectionKind.CARE: ["PreventionHealthAspect", "SelfCareHealthAspect"],
    SectionKind.KEY_POINTS: ["OverviewHealthAspect"],
}
# json.dumps leaves these alone; inside <script> they could end it or open a comment.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_ld(data):
    """A ``<script type="application/ld+json">`` element; no text in ``data`` can close it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


def breadcrumbs(request, trail):
    """``trail`` (``navigation.Crumb`` list) → a schema.org ``BreadcrumbList``."""
    return {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": crumb.name, "item": request.build_absolute_uri(crumb.url)}
            for n, crumb in enumerate(trail, start=1)
        ],
    }


def breadcrumb_data(request, trail):
    """A page's JSON-LD when its breadcrumbs are all it has to say."""
    return json_ld({"@context": "https://schema.org", **breadcrumbs(request, trail)})


def article_structured_data(request, article, sections, trail):
    url = request.build_absolute_uri(article.get_absolute_url())
    signs = article.emergency_signs if article.kind_info.is_problem else []
    page = {
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        "name": article.title,
        "description": article.summary,
        "inLanguage": "en",
        "dateModified": article.updated_at.isoformat(),
        "about": {"@type": article.about_type, "name": article.title, **({"alternateName": article.also_known_as} if article.also_known_as else {})},
        "hasPart": [
            {
                "@type": "HealthTopicContent",
                "name": str(section.label),
                "url": f"{url}#{section.kind}",
                "hasHealthAspect": [SCHEMA + aspect for aspect in HEALTH_ASPECTS[section.kind]],
            }
            for section in sections
            if section.kind in HEALTH_ASPECTS
        ],
        "breadcrumb": breadcrumbs(request, trail),
    }
    if article.kind_info.is_problem and article.codes:
        page["about"]["code"] = [{"@type": "MedicalCode", "codeValue": code, "codingSystem": codes.CODE_SYSTEM} for code in article.codes]
    if signs:
        page["about"]["signOrSymptom"] = [{"@type": "MedicalSignOrSymptom", "name": sign} for sign in signs]
        page["hasPart"].insert(0, {
            "@type": "HealthTopicContent",
            "name": f"Call {settings.HEALTHLIB_EMERGENCY_NUMBER} or go to the emergency room if you have these signs",
            "url": f"{url}#emergency-title",
            "hasHealthAspect": [SCHEMA + "SeeDoctorHealthAspect"],
        })
    if article.published_at:
        page["datePublished"] = article.published_at.isoformat()
    if article.has_review:  # only a recorded medical review, never an unattributed date
        page["lastReviewed"] = article.reviewed_on.isoformat()
        page["reviewedBy"] = {"@type": "Person", "name": article.reviewed_by}
    return {"@context": "https://schema.org", **page}


@require_GET
@cache_control(public=True, max_age=86400)
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        "Disallow: /markdownx/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
