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

from collections import defaultdict

from django.conf import settings
from django.utils.feedgenerator import Atom1Feed

from . import codes
from .models import Article, ArticleCode
from .search import get_backend
from .search.base import SearchTooComplex, SearchUnavailable
from .search.documents import clean_query

MAX_CODES = 20  # codes in one request
INFOBUTTON_ARTICLES = 3
CODE = "mainSearchCriteria.v.c"
CODE_SYSTEM = "mainSearchCriteria.v.cs"
DISPLAY_NAME = "mainSearchCriteria.v.dn"
RESPONSE_TYPE = "knowledgeResponseType"
LANGUAGE = "informationRecipient.languageCode.c"
RESPONSE_TYPES = ("text/xml", "application/json")
SCHEMA_ORG = "https://schema.org/"


class RequestError(ValueError):
    """A bad parameter: ``str()`` names it and says what to send instead (answered with 400)."""


def parse_codes(values, parameter):
    """The compact codes of ``values`` (each may hold several, separated by commas), each
    once, in order; ``RequestError`` naming ``parameter`` for a missing or malformed one."""
    wanted = [part.strip() for value in values for part in value.split(",")]
    if not any(wanted):
        raise RequestError(f"'{parameter}' is required: an ICD-10-CM code such as M81.0.")
    if len(wanted) > MAX_CODES:
        raise RequestError(f"'{parameter}' is given {len(wanted)} times; ask for at most {MAX_CODES} codes at once.")
    found = []
    for raw in wanted:
        compacted = codes.compact(raw)
        if compacted is None:
            shown = raw if len(raw) <= 20 else raw[:20] + "…"
            raise RequestError(f"'{parameter}' value {shown!r} is not an ICD-10-CM code: a letter, two characters and, "
                               "after a dot, up to four more (M81.0, m810 and M17 are all fine).")
        found.append(compacted)
    return list(dict.fromkeys(found))


def lookup(compact_codes):
    """``{compact code: (matched compact code or None, [Article, …] by title)}`` for the
    published articles of each code or its nearest ancestor that has any; one query."""
    prefixes = {prefix for code in compact_codes for prefix in codes.ancestors(code)}
    rows = (ArticleCode.objects.filter(code__in=prefixes, article__status=Article.Status.PUBLISHED)
            .select_related("article").order_by("article__title", "article__slug"))
    by_code = defaultdict(list)
    for row in rows:
        by_code[row.code].append(row.article)
    answers = {}
    for code in compact_codes:
        matched = next((prefix for prefix in codes.ancestors(code) if prefix in by_code), None)
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
        "codes": list(article.codes),
        "reviewed_on": article.reviewed_on if article.has_review else None,
        "updated_at": article.updated_at,
    }


# -- the Infobutton request ---------------------------------------------------------------


def knowledge_request(request):
    """``/infobutton/``: ``(status, data, response type)``; ``data`` is the answer (a dict
    of JSON-ready values, ``atom()`` writes it as a feed) or ``{"error": message}``. Never
    raises for bad input."""
    response_type = request.GET.get(RESPONSE_TYPE, "text/xml").strip().lower()
    if response_type not in RESPONSE_TYPES:
        return 400, {"error": f"'{RESPONSE_TYPE}' must be one of {', '.join(RESPONSE_TYPES)} (text/xml answers with an Atom feed)."}, None
    try:
        return 200, _answer(request), response_type
    except RequestError as error:
        return 400, {"error": str(error)}, response_type
    except SearchUnavailable:
        return 503, {"error": "Search is temporarily unavailable; a code lookup still works."}, response_type
    except SearchTooComplex:
        return 422, {"error": str(SearchTooComplex.message)}, response_type


def _answer(request):
    query = request.GET
    language = query.get(LANGUAGE, "en").strip() or "en"
    if not (2 <= len(language) <= 8 and language.replace("-", "").isalpha()):
        raise RequestError(f"'{LANGUAGE}' must be a language code such as en (ISO 639-1).")
    note = None if language.lower().split("-")[0] == "en" else \
        f"Only English is available; these articles are in English (the request asked for '{language}')."
    display_name = clean_query(query.get(DISPLAY_NAME, ""))
    if display_name is None:
        raise RequestError(f"'{DISPLAY_NAME}' is too long; send the diagnosis's name in a few words.")
    values = query.getlist(CODE)
    asked, matched_codes, articles, matched_by = [], [], [], None
    if any(value.strip() for value in values):
        system = query.get(CODE_SYSTEM, "").strip()
        if system != codes.CODE_SYSTEM_OID:
            shown = system[:40] or "nothing"
            raise RequestError(f"'{CODE_SYSTEM}' must be {codes.CODE_SYSTEM_OID} (ICD-10-CM), the only code system we index; "
                               f"the request sent {shown!r}.")
        asked = parse_codes(values, CODE)
        for code, (matched, found) in lookup(asked).items():
            matched_codes.append({"code": codes.dotted(code), "matched": codes.dotted(matched) if matched else None})
            articles += [article for article in found if article not in articles]
        matched_by = "code" if articles else None
    elif not display_name:
        raise RequestError(f"Send '{CODE}' (an ICD-10-CM code, with '{CODE_SYSTEM}') or '{DISPLAY_NAME}' (the diagnosis's name).")
    if not articles and display_name:
        results = get_backend().search(display_name)
        slugs = [hit.slug for hit in results[:INFOBUTTON_ARTICLES] if hit.complete]  # every word: an article on it
        found = {article.slug: article for article in Article.objects.published().filter(slug__in=slugs)}
        articles = [found[slug] for slug in slugs if slug in found]
        matched_by = "display_name" if articles else None
    return {
        "code_system": codes.CODE_SYSTEM_OID if asked else None,
        "codes": matched_codes,
        "display_name": display_name or None,
        "matched_by": matched_by,
        "language": "en",
        "note": note,
        "articles": [article_summary(request, article) for article in articles[:INFOBUTTON_ARTICLES]],
    }


class _InfobuttonFeed(Atom1Feed):
    """Atom with each entry's codes as categories in the code system's scheme, and schema.org's
    ``alternateName`` and ``lastReviewed``."""

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:schema": SCHEMA_ORG}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
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
    feed = _InfobuttonFeed(
        title=f"{site}: articles for {asked}",
        link=request.build_absolute_uri("/"),
        feed_url=request.build_absolute_uri(),
        feed_guid=request.build_absolute_uri(),
        description=answer["note"] or f"Patient education from the {site} for {asked}.",
        subtitle=answer["note"] or f"Patient education from the {site} for {asked}.",
        author_name=site,
        language="en",
    )
    for item in answer["articles"]:
        feed.add_item(
            title=item["title"], link=item["url"], unique_id=item["url"], description=item["summary"],
            updateddate=item["updated_at"], pubdate=item["updated_at"],
            codes=item["codes"], also_known_as=item["also_known_as"], reviewed_on=item["reviewed_on"],
        )
    return feed.writeString("utf-8").encode()


def latest_change(answer):
    """The newest ``updated_at`` of an answer's articles (``None`` without any), for ``Last-Modified``."""
    return max((item["updated_at"] for item in answer.get("articles", [])), default=None)
