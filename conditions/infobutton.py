"""From a diagnosis code on a patient's chart to our articles: code lookups and an HL7 Infobutton.

    /api/v1/codes/?code=M17.11&code=E55.9     one list of articles per code (``conditions.api``)
    /infobutton/?mainSearchCriteria.v.c=M81.0&mainSearchCriteria.v.cs=2.16.840.1.113883.6.90
                                              up to three articles, as JSON or an Atom feed

A code finds the published articles carrying it or, failing that, its nearest ancestor in
the ICD-10-CM hierarchy (``codes.ancestors``: M17.11 → M17.1 → M17), and the answer says
which code matched. Every code of a request is answered from one query on
``ArticleCode`` (each code's prefixes at once), whatever the size of the library.

``/infobutton/`` follows the URL-based implementation of HL7's Context-Aware Knowledge
Retrieval standard ("HL7 Version 3 Standard: Context-Aware Knowledge Retrieval Application
(Infobutton), Knowledge Request, URL-Based Implementation Guide", release 4), as MedlinePlus
Connect does: ``mainSearchCriteria.v.c`` (the code; repeatable), ``mainSearchCriteria.v.cs``
(the code system's OID; ICD-10-CM only), ``mainSearchCriteria.v.dn`` (the display name,
searched for when no code matches), ``knowledgeResponseType`` (``text/xml`` for Atom, the
default as in MedlinePlus Connect, or ``application/json``) and
``informationRecipient.languageCode.c`` (``en``; another language is answered in English
with a note saying so). Other Infobutton parameters (the patient's age and gender, the
task context, …) do not change what we answer and are ignored. The Atom feed is Django's
``Atom1Feed`` (RFC 4287); each entry's codes are Atom categories whose scheme is the code
system's OID, and other names and the review date are schema.org's ``alternateName`` and
``lastReviewed``, the vocabulary of the article pages' JSON-LD.
"""

import datetime
import re
import unicodedata
from collections import defaultdict

from django.conf import settings
from django.db.models import Max
from django.utils.feedgenerator import Atom1Feed

from . import codes
from .kinds import KINDS
from .models import Article, ArticleCode
from .search.base import SearchTooComplex, SearchUnavailable
from .search.documents import clean_query
from .text import clean

MAX_CODES = 20  # codes in one request
MAX_NAME_LENGTH = 400  # characters of a display name (a URL of several stays under gunicorn's 4 KB request line)
PROBLEM_KINDS = [kind for kind, info in KINDS.items() if info.is_problem]
# The feed's <updated> when the library has no published article at all.
CODE_SET_DATE = datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC)
INFOBUTTON_ARTICLES = 3
CODE = "mainSearchCriteria.v.c"
CODE_SYSTEM = "mainSearchCriteria.v.cs"
DISPLAY_NAME = "mainSearchCriteria.v.dn"
RESPONSE_TYPE = "knowledgeResponseType"
LANGUAGE = "informationRecipient.languageCode.c"
RESPONSE_TYPES = ("text/xml", "application/json")
SCHEMA_ORG = "https://schema.org/"
# A language tag as EHRs send it: BCP 47 (en, es-419, zh-Hant-TW), or with an underscore (en_US).
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}$")
# A second criterion is sent with an index (mainSearchCriteria.v.c1, .cs1, .dn1; some clients start at 0).
INDEXED_RE = re.compile(r"^mainSearchCriteria\.v\.(c|cs|dn)(\d{1,2})$")
# Words an ICD-10-CM title adds to the name of the problem itself ("Vitamin D deficiency, unspecified",
# "Unilateral primary osteoarthritis, right knee"): the display name is searched without them.
QUALIFIERS = frozenset("""unspecified other specified nos nec unilateral bilateral right left
    initial subsequent encounter sequela current site sites multiple single part parts""".split())
QUALIFYING_CLAUSE_RE = re.compile(r"\b(?:with|without|due to|in diseases classified elsewhere)\b.*$", re.IGNORECASE)


class RequestError(ValueError):
    """A bad parameter: ``str()`` names it and says what to send instead (answered with 400)."""


class SearchLimited(Exception):
    """The display name cannot be searched now: the client is over its search limits (``retry_after`` seconds)."""

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def parse_codes(values, parameter):
    """The compact codes of ``values`` (each may hold several, separated by commas; empty
    parts are ignored), in the order asked, repeats kept (one answer per code asked);
    ``RequestError`` naming ``parameter`` for none, too many, or a malformed one."""
    wanted = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not wanted:
        raise RequestError(f"'{parameter}' is required: an ICD-10-CM code such as M81.0.")
    if len(wanted) > MAX_CODES:
        raise RequestError(f"'{parameter}' is given {len(wanted)} codes; ask for at most {MAX_CODES} at once.")
    found = []
    for raw in wanted:
        compacted = codes.compact(raw)
        if compacted is None:
            shown = raw if len(raw) <= 20 else raw[:20] + "…"
            raise RequestError(f"'{parameter}' value {shown!r} is not an ICD-10-CM code: a letter, two characters and, "
                               "after a dot, up to four more (M81.0, m810 and M17 are all fine).")
        found.append(compacted)
    return found


def lookup(compact_codes):
    """``{compact code: (matched compact code or None, [Article, …] by title)}`` for the
    published condition and symptom articles of each code or of its nearest ancestor that
    has any; one query. A well-formed code that is not in the ICD-10-CM code set (invented,
    or retired since) matches nothing."""
    real = [code for code in dict.fromkeys(compact_codes) if code in codes.code_set()]
    prefixes = {prefix for code in real for prefix in codes.ancestors(code)}
    rows = (ArticleCode.objects.filter(code__in=prefixes, article__status=Article.Status.PUBLISHED, article__kind__in=PROBLEM_KINDS)
            .select_related("article").order_by("article__title", "article__slug")) if prefixes else []
    by_code = defaultdict(list)
    for row in rows:
        by_code[row.code].append(row.article)
    answers = {}
    for code in compact_codes:
        matched = next((prefix for prefix in codes.ancestors(code) if prefix in by_code), None) if code in real else None
        answers[code] = (matched, by_code.get(matched, []))
    return answers


def article_summary(request, article):
    """What a portal shows of an article: a dict of JSON-ready values."""
    return {
        "slug": article.slug,
        "kind": article.kind,
        "title": article.title,
        "url": request.build_absolute_uri(article.get_absolute_url()),
        "summary": article.summary,
        "also_known_as": list(article.also_known_as),
        "codes": list(article.codes) if article.kind_info.is_problem else [],
        "reviewed_on": article.reviewed_on if article.has_review else None,
        "updated_at": article.updated_at,
    }


# -- the Infobutton request ---------------------------------------------------------------


def knowledge_request(request, search):
    """``/infobutton/``: ``(status, data, response type)``; ``data`` is the answer (a dict
    of JSON-ready values, ``atom()`` writes it as a feed) or ``{"error": message}``.
    ``search(query)`` runs a display name's search (the caller applies the search limits and
    may raise ``SearchLimited``). Never raises for bad input."""
    response_type = request.GET.get(RESPONSE_TYPE, "").strip().lower() or "text/xml"
    if response_type not in RESPONSE_TYPES:
        return 400, {"error": f"'{RESPONSE_TYPE}' must be one of {', '.join(RESPONSE_TYPES)} (text/xml answers with an Atom feed)."}, None
    try:
        return 200, _answer(request, search), response_type
    except RequestError as error:
        return 400, {"error": str(error)}, response_type
    except SearchUnavailable:
        return 503, {"error": "Search is temporarily unavailable; a code lookup still works."}, response_type
    except SearchTooComplex:
        return 422, {"error": str(SearchTooComplex.message)}, response_type


def _criteria(query):
    """``[(code parameter, code, code system, display name)]``: the plain criterion (its
    codes may repeat or be comma-separated, all in its one code system) and each indexed one
    (``c1``/``cs1``/``dn1``, …), in that order; empty codes are left out."""
    criteria = [(CODE, value, query.get(CODE_SYSTEM, ""), query.get(DISPLAY_NAME, "")) for value in query.getlist(CODE) or [""]]
    indexes = sorted({int(match.group(2)) for name in query for match in [INDEXED_RE.match(name)] if match})
    for n in indexes:
        value = query.get(f"{CODE}{n}", "")
        criteria.append((f"{CODE}{n}", value, query.get(f"{CODE_SYSTEM}{n}", ""), query.get(f"{DISPLAY_NAME}{n}", "")))
    return [criterion for criterion in criteria if criterion[1].strip() or criterion[3].strip()]


def _answer(request, search):
    query = request.GET
    language = query.get(LANGUAGE, "").strip() or "en"
    if len(language) > 35 or not LANGUAGE_RE.match(language):
        raise RequestError(f"'{LANGUAGE}' must be a language code such as en or es-419 (BCP 47).")
    note = None if re.split(r"[-_]", language.lower())[0] in ("en", "eng") else \
        f"Only English is available; these articles are in English (the request asked for '{language}')."
    criteria = _criteria(query)
    names = []  # (as sent, as searched)
    for parameter, _, _, name in criteria:
        # As sent, but without control characters (no XML may hold them) or extra spaces.
        shown = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in clean(name)).split())
        if len(shown) > MAX_NAME_LENGTH:
            raise RequestError(f"'{parameter.replace('.v.c', '.v.dn')}' is {len(shown)} characters long; send the diagnosis's name "
                               f"in at most {MAX_NAME_LENGTH}.")
        if shown and shown not in [sent for sent, _ in names]:
            names.append((shown, clean_query(shown)))
    asked = []
    for parameter, value, system, _ in criteria:
        if not value.strip():
            continue
        system_parameter = parameter.replace(".v.c", ".v.cs")
        if system.strip() != codes.CODE_SYSTEM_OID:
            shown = system.strip()[:40] or "nothing"
            raise RequestError(f"'{system_parameter}' must be {codes.CODE_SYSTEM_OID} (ICD-10-CM), the only code system we index; "
                               f"the request sent {shown!r}.")
        asked += parse_codes([value], parameter)
    if len(asked) > MAX_CODES:
        raise RequestError(f"'{CODE}' is given {len(asked)} codes; ask for at most {MAX_CODES} at once.")
    if not asked and not names:
        raise RequestError(f"Send '{CODE}' (an ICD-10-CM code, with '{CODE_SYSTEM}') or '{DISPLAY_NAME}' (the diagnosis's name).")
    answers = lookup(asked) if asked else {}
    matched_codes = [{"code": codes.dotted(code), "matched": codes.dotted(answers[code][0]) if answers[code][0] else None}
                     for code in asked]
    articles = []
    for code in answers:
        articles += [article for article in answers[code][1] if article not in articles]
    matched_by = "code" if articles else None
    if not articles:  # each criterion's name: the best article of each first, then the next best
        found = [_by_name(searched, search) for _, searched in names[:INFOBUTTON_ARTICLES]]
        for rank in range(INFOBUTTON_ARTICLES):
            articles += [each[rank] for each in found if rank < len(each) and each[rank] not in articles]
        matched_by = "display_name" if articles else None
    return {
        "code_system": codes.CODE_SYSTEM_OID if asked else None,
        "codes": matched_codes,
        "display_name": names[0][0] if names else None,
        "matched_by": matched_by,
        "language": "en",
        "note": note,
        "articles": [article_summary(request, article) for article in articles[:INFOBUTTON_ARTICLES]],
    }


def essential_words(name):
    """``name`` without the qualifiers an ICD-10-CM title adds ("Vitamin D deficiency,
    unspecified" → "Vitamin D deficiency"; "Unilateral primary osteoarthritis, right knee"
    → "osteoarthritis knee"; "Age-related osteoporosis without current pathological
    fracture" → "Age-related osteoporosis")."""
    words = []
    for part in name.split(","):
        part = QUALIFYING_CLAUSE_RE.sub("", part)
        words += [word for word in part.split() if word.casefold().strip("()[]") not in QUALIFIERS]
    return " ".join(words)


def _by_name(name, search):
    """The published articles a display name is about (at most three), best first: among the
    ten best matches for its essential words, those named in it (by title or another name)
    come first, then those with every essential word; none when neither."""
    results = search(essential_words(name) or name)
    hits = list(results[:10])
    found = {article.slug: article for article in Article.objects.published().filter(slug__in=[hit.slug for hit in hits])}
    folded = f" {_words(name)} "
    named = [hit.slug for hit in hits if hit.slug in found and any(
        f" {_words(other)} " in folded for other in [found[hit.slug].title, *found[hit.slug].also_known_as])]
    complete = [hit.slug for hit in hits if hit.complete and hit.slug in found and hit.slug not in named]
    return [found[slug] for slug in [*named, *complete][:INFOBUTTON_ARTICLES]]


def _words(text):
    return " ".join(text.casefold().replace("-", " ").replace(",", " ").split())


class _InfobuttonFeed(Atom1Feed):
    """Atom with each entry's summary as plain text, its codes as categories in the code
    system's scheme, and schema.org's ``alternateName`` and ``lastReviewed``."""

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:schema": SCHEMA_ORG}

    def latest_post_date(self):
        # Without articles Django would say "now", a new body (and ETag) every second.
        return self.feed["stable_updated"]

    def add_item_elements(self, handler, item):
        summary, item["description"] = item["description"], None
        super().add_item_elements(handler, item)
        handler.addQuickElement("summary", summary, {"type": "text"})
        for code in item["codes"]:
            handler.addQuickElement("category", "", {"term": code, "scheme": f"urn:oid:{codes.CODE_SYSTEM_OID}",
                                                     "label": f"{codes.CODE_SYSTEM} {code}"})
        for name in item["also_known_as"]:
            handler.addQuickElement("schema:alternateName", name)
        if item["reviewed_on"]:
            handler.addQuickElement("schema:lastReviewed", item["reviewed_on"].isoformat())


def atom(request, answer):
    """The Atom feed (RFC 4287) of an Infobutton answer, as bytes."""
    asked = ", ".join(code["code"] for code in answer["codes"]) or answer["display_name"] or ""
    site = settings.HEALTHLIB_SITE_NAME
    updated = latest_change(answer) or Article.objects.published().aggregate(newest=Max("updated_at"))["newest"] or CODE_SET_DATE
    feed = _InfobuttonFeed(
        title=f"{site}: articles for {asked}",
        link=request.build_absolute_uri("/"),
        feed_url=request.build_absolute_uri(),
        feed_guid=request.build_absolute_uri(),
        description=answer["note"] or f"Patient education from the {site} for {asked}.",
        subtitle=answer["note"] or f"Patient education from the {site} for {asked}.",
        author_name=site,
        language="en",
        stable_updated=updated,
    )
    for item in answer["articles"]:
        feed.add_item(
            title=item["title"], link=item["url"], unique_id=item["url"], description=item["summary"],
            updateddate=item["updated_at"],
            codes=item["codes"], also_known_as=item["also_known_as"], reviewed_on=item["reviewed_on"],
        )
    return feed.writeString("utf-8").encode()


def latest_change(answer):
    """The newest ``updated_at`` of an answer's articles (``None`` without any)."""
    return max((item["updated_at"] for item in answer.get("articles", [])), default=None)
