"""Read-only JSON API for other sites and apps, like the NHS website content API and MedlinePlus Connect.

    /api/v1/articles/               published articles, paginated; ?kind=&category=&updated_since=&page=&page_size=
    /api/v1/articles/<slug>/        one article: metadata, each section as Markdown and sanitized HTML
    /api/v1/search/?q=              the site's ranked search results; ?kind=&category=&page=
    /api/v1/codes/?code=            articles by ICD-10-CM code, with the hierarchy's fallback (conditions.infobutton)
    /api/v1/infobutton/             the HL7 Infobutton knowledge request (conditions.infobutton); also at /infobutton/
    /api/v1/openapi.json            the OpenAPI 3.1 description of all of this

Plain Django views and a hand-written OpenAPI document rather than Django REST Framework:
a handful of read-only endpoints do not justify a framework, and writing the schema by hand keeps
it exact (Schemathesis checks every response against it in the test suite). Every
response allows any origin (CORS, no credentials); successful responses carry a strong
``ETag`` (a hash of the body) and ``Last-Modified``, and ``ConditionalGetMiddleware``
answers revalidations with 304; article responses are kept in the shared page cache like
the HTML pages (``healthlib.pagecache``). Clients are rate limited (``HEALTHLIB_API_RATE_LIMIT``,
429 with ``Retry-After``); a search also counts against the site's search page limits per
client (``HEALTHLIB_SEARCH_RATE_LIMIT``, and ``HEALTHLIB_SEARCH_CONCURRENCY`` running at
once), so the API is no way around them. A search that runs out of its time budget
answers 422, as the search page does, or 200 with ``partial: true`` when it found some
hits in time. Drafts and articles in review never appear.
"""

import datetime
import hashlib
import json
import re
from functools import wraps

from django.conf import settings
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Max
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt

from healthlib import pagecache
from healthlib.pagecache import public_page
from healthlib.ratelimit import over_limit, running_slot

from . import codes, infobutton
from .kinds import KINDS
from .models import Article, ArticleRedirect, Category
from .search import get_backend
from .search.base import SearchTooComplex, SearchUnavailable
from .search.documents import ABSURD_QUERY_LENGTH, clean_query

# What an ICD-10-CM code may look like in a request (conditions.codes.WELL_FORMED_RE, either case).
CODE_PATTERN = r"^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
SEARCH_PAGE_SIZE = 10  # as on the search page
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
RELATIVE_URL_RE = re.compile(r'((?:href|src)=")(/[^/"])')
SRCSET_RE = re.compile(r'(srcset=")([^"]*)(")')


class ApiError(Exception):
    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def _json(data, status=200):
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body, status=status, content_type="application/json")


def _error(status, message, **extra):
    return _json({"error": message, **extra}, status=status)


def _too_many(retry_after):
    response = _error(429, "Too many requests; wait and retry.", retry_after=retry_after)
    response["Retry-After"] = str(retry_after)
    return response


def api_view(view):
    """Methods, CORS, rate limit, JSON errors and caching headers for every endpoint.

    CSRF-exempt: the API changes nothing and reads no cookies, so a POST must get this
    API's JSON 405 rather than the CSRF middleware's HTML 403. Revalidations are answered
    here (``get_conditional_response``, what ``ConditionalGetMiddleware`` uses) so that a
    304 carries the CORS headers too.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
            response["Access-Control-Max-Age"] = "86400"
        elif request.method not in ("GET", "HEAD"):
            response = _error(405, f"{request.method} is not allowed; this API is read-only.")
            response["Allow"] = ALLOWED_METHODS
        elif retry_after := over_limit(request, "api", settings.HEALTHLIB_API_RATE_LIMIT):
            response = _too_many(retry_after)
        else:
            try:
                response = view(request, *args, **kwargs)
            except ApiError as error:
                response = _error(error.status, error.message, **error.extra)
            if response.status_code == 200:
                if "ETag" not in response:  # the page cache has hashed the body already (before emptying it for HEAD)
                    response["ETag"] = '"%s"' % hashlib.sha256(response.content).hexdigest()[:32]
                response["Cache-Control"] = "public, max-age=300"
                last_modified = parse_http_date_safe(response["Last-Modified"]) if "Last-Modified" in response else None
                response = get_conditional_response(request, etag=response["ETag"], last_modified=last_modified, response=response)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Retry-After"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return wrapper


def _int_param(request, name, default, low, high):
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' must be a whole number.") from None
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high}.")
    return value


def _absolute(request, url):
    return request.build_absolute_uri(url)


def _item(request, article):
    return {
        "slug": article.slug,
        "kind": article.kind,
        "schema_type": article.about_type,
        "title": article.title,
        "summary": article.summary,
        "also_known_as": list(article.also_known_as),
        # Condition and symptom articles: "Call <emergency number> or go to the emergency room if you have: …".
        "emergency_signs": list(article.emergency_signs) if article.kind_info.is_problem else [],
        "codes": list(article.codes) if article.kind_info.is_problem else [],
        "categories": [{"slug": c.slug, "name": c.name} for c in article.categories.all()],
        "url": _absolute(request, article.get_absolute_url()),
        "api_url": _absolute(request, reverse("api-article", args=[article.slug])),
        "updated_at": article.updated_at,
        "reviewed_on": article.reviewed_on,
        "reviewed_by": article.reviewed_by or None,  # null unless a reviewer is recorded
    }


def _absolute_html(request, html):
    origin = f"{request.scheme}://{request.get_host()}"
    html = RELATIVE_URL_RE.sub(lambda m: m.group(1) + origin + m.group(2), html)
    return SRCSET_RE.sub(lambda m: m.group(1) + re.sub(r"(^|,\s*)/", lambda n: n.group(1) + origin + "/", m.group(2)) + m.group(3), html)


def _last_modified(request, response, moments):
    """``response`` with the newest of ``moments`` and of the last public change as ``Last-Modified``."""
    if modified := pagecache.newest_change(request, *moments):
        response["Last-Modified"] = modified
    return response


@api_view
@public_page(query_params=("page", "page_size", "kind", "category", "updated_since"))
def articles(request):
    queryset = Article.objects.published().prefetch_related("categories").order_by("title", "slug")
    kind = _kind(request)
    if kind:
        queryset = queryset.filter(kind=kind)
    category = _category(request)
    if category:
        queryset = queryset.filter(categories__slug=category)
    since = request.GET.get("updated_since", "")
    if since:
        moment = _parse_moment(since)
        queryset = queryset.filter(updated_at__gte=moment)
    page_size = _int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = Paginator(queryset, page_size).get_page(_int_param(request, "page", 1, 1, 1_000_000))

    def link(number):
        query = request.GET.copy()
        query["page"] = number
        return _absolute(request, f"{request.path}?{query.urlencode()}")

    response = _json({
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "next": link(page.next_page_number()) if page.has_next() else None,
        "previous": link(page.previous_page_number()) if page.has_previous() else None,
        "results": [_item(request, article) for article in page],
    })
    newest = queryset.aggregate(newest=Max("updated_at"))["newest"]
    return _last_modified(request, response, [newest])


def _kind(request):
    """The ``kind`` asked for (``None`` for all); 400 for one that does not exist."""
    kind = request.GET.get("kind", "")
    if kind and kind not in Article.Kind.values:
        raise ApiError(400, f"unknown kind '{kind[:100]}'", valid=list(Article.Kind.values))
    return kind or None


def _category(request):
    """The ``category`` slug asked for (``None`` for all); 400 for one that does not exist."""
    slug = request.GET.get("category", "")
    if not slug:
        return None
    # PostgreSQL refuses NUL in a text parameter (a DataError, so a 500), and no slug holds one.
    if "\x00" in slug or not Category.objects.filter(slug=slug).exists():
        raise ApiError(400, f"unknown category '{slug[:100]}'", valid=list(Category.objects.values_list("slug", flat=True)))
    return slug


UNENCODED_PLUS_OFFSET_RE = re.compile(r"([T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?) (\d\d(?::?\d\d)?)$")


def _parse_moment(text):
    """An aware date-time from ISO 8601 ``text`` (a date means its midnight), in UTC.

    A ``+`` left unencoded in a query string reaches us as a space (HTML form encoding), so
    ``2026-01-31T12:00:00 01:00`` is read as the ``+01:00`` it was sent as.
    """
    text = UNENCODED_PLUS_OFFSET_RE.sub(r"\1+\2", text)
    try:
        moment = parse_datetime(text) or (parse_date(text) and datetime.datetime.combine(parse_date(text), datetime.time.min))
        if moment:
            # In UTC now: 9999-12-31T23:59-23:59 or 0001-01-01T00:00+14:00 fall outside the
            # years a datetime holds, which would otherwise surface as a 500 in the query.
            moment = (timezone.make_aware(moment) if timezone.is_naive(moment) else moment).astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        moment = None
    if not moment:
        raise ApiError(400, "'updated_since' must be an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z.")
    return moment


@api_view
@public_page
def article(request, slug):
    found = None if "\x00" in slug else Article.objects.published().with_page_data().filter(slug=slug).first()
    if found is None:
        moved = None if "\x00" in slug else ArticleRedirect.objects.filter(old_slug=slug, article__status=Article.Status.PUBLISHED).first()
        if moved is not None:  # renamed: the current address, permanently
            return HttpResponsePermanentRedirect(reverse("api-article", args=[moved.article.slug]))
        raise ApiError(404, "No published article has that slug.")
    data = _item(request, found)
    data["sections"] = [
        {"kind": s.kind, "title": str(s.get_kind_display()), "markdown": s.markdown, "html": _absolute_html(request, s.html)}
        for s in found.sections.all()
    ]
    data["related"] = [{"slug": r.slug, "title": r.title, "url": _absolute(request, r.get_absolute_url())} for r in found.related.all()]
    return _last_modified(request, _json(data), [found.updated_at])


@api_view
# Repeat searches come from the page cache, as the search page's do (normalised query, filters, page).
@public_page(query_params=("q", "page", "kind", "category"), normalize={"q": clean_query})
def search(request):
    # The scope and limits of the site's search page (conditions.search.views.search): one budget per client.
    if retry_after := over_limit(request, "search", settings.HEALTHLIB_SEARCH_RATE_LIMIT):
        return _too_many(retry_after)
    with running_slot(request, "search", settings.HEALTHLIB_SEARCH_CONCURRENCY) as allowed:
        return _search(request) if allowed else _too_many(1)


def _search(request):
    query = clean_query((request.GET.getlist("q") or [""])[0])
    if query is None:
        raise ApiError(400, "'q' is too long; use a few words.")
    page = _int_param(request, "page", 1, 1, 1_000_000)
    category = _category(request)
    kind = _kind(request)
    if not query:
        return _json({"query": "", "total": 0, "complete": 0, "page": 1, "pages": 1, "suggestion": None, "partial": False, "results": []})
    try:
        results = get_backend().search(query, category=category, kind=kind)
        page = Paginator(results, SEARCH_PAGE_SIZE).get_page(page)
    except SearchUnavailable:
        raise ApiError(503, "Search is temporarily unavailable.") from None
    except SearchTooComplex:
        raise ApiError(422, str(SearchTooComplex.message)) from None
    return _json({
        "query": query,
        "total": results.total,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "complete": results.complete,
        "suggestion": results.suggestion or None,
        "partial": results.partial,
        "results": [
            {"slug": hit.slug, "kind": hit.kind, "complete": hit.complete, "title": hit.title, "url": _absolute(request, hit.url),
             "summary": hit.summary, "matched_name": hit.matched_name or None, "section": hit.section or None, "snippet": hit.snippet or None}
            for hit in page
        ],
    })


@api_view
def code_lookup(request):
    """``/api/v1/codes/?code=M17.11&code=E55.9``: one list of articles per code asked (``conditions.infobutton``).

    No ``Last-Modified``: an article leaving an answer (unpublished, recoded) would not move
    it, so a client revalidating by date could keep it; the ETag (the body's hash) revalidates.
    """
    try:
        asked = infobutton.parse_codes(request.GET.getlist("code"), "code")
    except infobutton.RequestError as error:
        raise ApiError(400, str(error)) from None
    answers = infobutton.lookup(asked)
    results = [
        {"code": codes.dotted(code), "matched": codes.dotted(answers[code][0]) if answers[code][0] else None,
         "articles": [infobutton.article_summary(request, found) for found in answers[code][1]]}
        for code in asked
    ]
    return _json({"code_system": codes.CODE_SYSTEM, "results": results})


@api_view
def knowledge_request(request):
    """``/infobutton/``: the HL7 Infobutton URL-based knowledge request (``conditions.infobutton``).
    A display name searched for counts against the client's search limits, as ``/api/v1/search/``
    does; a code lookup only against the API's. No ``Last-Modified``, as for ``code_lookup``."""

    def search(query):
        if retry_after := over_limit(request, "search", settings.HEALTHLIB_SEARCH_RATE_LIMIT):
            raise infobutton.SearchLimited(retry_after)
        with running_slot(request, "search", settings.HEALTHLIB_SEARCH_CONCURRENCY) as allowed:
            if not allowed:
                raise infobutton.SearchLimited(1)
            results = get_backend().search(query)
            results[:infobutton.INFOBUTTON_ARTICLES]  # ranked while the slot is held
            return results

    try:
        status, data, response_type = infobutton.knowledge_request(request, search)
    except infobutton.SearchLimited as limited:
        return _too_many(limited.retry_after)
    if status != 200 or response_type == "application/json":
        return _json(data, status)
    return HttpResponse(infobutton.atom(request, data), content_type="application/atom+xml; charset=utf-8")


@api_view
def openapi(request):
    return _json(openapi_document(request))


def openapi_document(request):
    nullable_string = {"type": ["string", "null"]}
    error = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    category = {"type": "object", "required": ["slug", "name"], "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
                "additionalProperties": False}
    kind_schema = {"type": "string", "enum": list(Article.Kind.values)}
    schema_types = sorted({name for info in KINDS.values() for name in info.schema_types})
    item_properties = {
        "slug": {"type": "string"},
        "kind": {**kind_schema, "description": "condition, symptom, test, treatment (procedures, therapies, medicines) or body."},
        "schema_type": {"type": "string", "enum": schema_types, "description": "The schema.org type the article is about."},
        "title": {"type": "string"}, "summary": {"type": "string"},
        "also_known_as": {"type": "array", "items": {"type": "string"}},
        "emergency_signs": {"type": "array", "items": {"type": "string"},
                            "description": "Signs that need emergency care now (condition and symptom articles; else empty): "
                                           f"each finishes “Call {settings.HEALTHLIB_EMERGENCY_NUMBER} or go to the emergency room if you have: …”."},
        "codes": {"type": "array", "items": {"type": "string"},
                  "description": "ICD-10-CM codes or categories, dotted (condition and symptom articles; else empty)."},
        "categories": {"type": "array", "items": {"$ref": "#/components/schemas/Category"}},
        "url": {"type": "string", "format": "uri"}, "api_url": {"type": "string", "format": "uri"},
        "updated_at": {"type": "string", "format": "date-time"},
        "reviewed_on": {"type": ["string", "null"], "format": "date"},
        "reviewed_by": {**nullable_string, "description": "Only when a medical reviewer is recorded."},
    }
    item = {"type": "object", "required": list(item_properties), "properties": item_properties, "additionalProperties": False}
    section = {"type": "object", "required": ["kind", "title", "markdown", "html"], "additionalProperties": False,
               "properties": {"kind": {"type": "string"}, "title": {"type": "string"}, "markdown": {"type": "string"},
                              "html": {"type": "string", "description": "Sanitized HTML; links are absolute."}}}
    detail = {"type": "object", "required": [*item_properties, "sections", "related"], "additionalProperties": False,
              "properties": {**item_properties, "sections": {"type": "array", "items": section},
                             "related": {"type": "array", "items": {"type": "object", "required": ["slug", "title", "url"],
                                                                     "properties": {"slug": {"type": "string"}, "title": {"type": "string"},
                                                                                    "url": {"type": "string", "format": "uri"}}}}}}
    hit = {"type": "object", "required": ["slug", "kind", "complete", "title", "url", "summary", "matched_name", "section", "snippet"],
           "additionalProperties": False,
           "properties": {"slug": {"type": "string"}, "kind": kind_schema,
                          "complete": {"type": "boolean", "description": "The article has every word of the query (these come first)."},
                          "title": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                          "summary": {"type": "string"}, "matched_name": nullable_string, "section": nullable_string,
                          "snippet": {**nullable_string, "description": "HTML: escaped text with <mark> around matched words."}}}

    coded = {"type": "object", "additionalProperties": False,
             "required": ["slug", "kind", "title", "url", "summary", "also_known_as", "codes", "reviewed_on", "updated_at"],
             "properties": {"slug": {"type": "string"}, "kind": kind_schema, "title": {"type": "string"},
                            "url": {"type": "string", "format": "uri"}, "summary": {"type": "string"},
                            "also_known_as": {"type": "array", "items": {"type": "string"}},
                            "codes": {"type": "array", "items": {"type": "string"}},
                            "reviewed_on": {"type": ["string", "null"], "format": "date",
                                            "description": "The last medical review; null unless one is recorded."},
                            "updated_at": {"type": "string", "format": "date-time"}}}
    code_param = {"name": "code", "in": "query", "required": True, "style": "form", "explode": True,
                  "description": f"ICD-10-CM codes (repeat the parameter, or separate with commas; at most {infobutton.MAX_CODES}); "
                                 "case and the dot do not matter (m170, M17.0).",
                  "schema": {"type": "array", "minItems": 1, "maxItems": infobutton.MAX_CODES,
                             "items": {"type": "string", "pattern": CODE_PATTERN}}}
    infobutton_params = [
        {"name": infobutton.CODE, "in": "query", "description": "An ICD-10-CM code from the patient's chart (needs the code system).",
         "schema": {"type": "string", "pattern": CODE_PATTERN}},
        {"name": infobutton.CODE_SYSTEM, "in": "query", "description": f"The code system's OID: {codes.CODE_SYSTEM_OID} (ICD-10-CM).",
         "schema": {"type": "string", "enum": [codes.CODE_SYSTEM_OID]}},
        {"name": infobutton.DISPLAY_NAME, "in": "query", "description": "The diagnosis's name, searched for when no code matches "
                                                                        "(needed when no code is sent).",
         "schema": {"type": "string", "maxLength": infobutton.MAX_NAME_LENGTH}},
        {"name": infobutton.RESPONSE_TYPE, "in": "query", "description": "text/xml (Atom, the default) or application/json.",
         "schema": {"type": "string", "enum": list(infobutton.RESPONSE_TYPES)}},
        {"name": infobutton.LANGUAGE, "in": "query", "description": "The reader's language (a BCP 47 tag such as es-419, or en_US); "
                                                                     "only English (en, eng) is available, and another language is "
                                                                     "answered in English with a note.",
         "schema": {"type": "string", "maxLength": 35, "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,4}$"}},
    ]

    def json_response(description, schema, headers=None):
        response = {"description": description, "content": {"application/json": {"schema": schema}}}
        if headers:
            response["headers"] = headers
        return response

    caching = {"ETag": {"schema": {"type": "string"}}, "Last-Modified": {"schema": {"type": "string"}}}
    common = {
        "304": {"description": "Not modified: If-None-Match matched the ETag (or If-Modified-Since, where Last-Modified is sent)."},
        "400": json_response("Bad parameter.", {"$ref": "#/components/schemas/Error"}),
        "405": json_response("Method not allowed (read-only API).", {"$ref": "#/components/schemas/Error"}),
        "429": json_response("Too many requests.", {"$ref": "#/components/schemas/Error"},
                             {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait."}}),
    }
    page_params = [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
    ]
    kind_param = {"name": "kind", "in": "query", "description": "Only articles of this kind.", "schema": kind_schema}
    category_param = {"name": "category", "in": "query", "description": "A category slug.",
                      "schema": {"type": "string", "enum": list(Category.objects.order_by("slug").values_list("slug", flat=True))}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{settings.HEALTHLIB_SITE_NAME} content API", "version": "1.0.0",
                 "description": f"Read-only access to published {settings.HEALTHLIB_SITE_NAME} articles. Drafts never appear."},
        "servers": [{"url": _absolute(request, "/api/v1")}],
        "paths": {
            "/articles/": {"get": {
                "operationId": "listArticles", "summary": "Published articles, A to Z",
                "parameters": [*page_params,
                               {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
                               kind_param, category_param,
                               {"name": "updated_since", "in": "query", "schema": {"type": "string", "format": "date"},
                                "description": "Only articles updated on or after this ISO 8601 date (a date-time is accepted too)."}],
                "responses": {"200": json_response("A page of articles.", {
                    "type": "object", "required": ["count", "page", "pages", "next", "previous", "results"], "additionalProperties": False,
                    "properties": {"count": {"type": "integer"}, "page": {"type": "integer"}, "pages": {"type": "integer"},
                                   "next": {"type": ["string", "null"]}, "previous": {"type": ["string", "null"]},
                                   "results": {"type": "array", "items": {"$ref": "#/components/schemas/Article"}}}}, caching), **common},
            }},
            "/articles/{slug}/": {"get": {
                "operationId": "getArticle", "summary": "One published article with its sections",
                "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response("The article.", {"$ref": "#/components/schemas/ArticleDetail"}, caching),
                              "301": {"description": "The article was renamed: `Location` is its current address.",
                                      "headers": {"Location": {"schema": {"type": "string"}}}},
                              "404": json_response("No published article has that slug.", {"$ref": "#/components/schemas/Error"}), **common},
            }},
            "/search/": {"get": {
                "operationId": "search", "summary": "The site's ranked search results",
                "description": "Counts against the API limit and against the client's search limits shared with the "
                               "site's search page (searches per minute, searches running at once).",
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": ABSURD_QUERY_LENGTH},
                                "description": "Words to search for (the first 200 characters are used; repeated words are "
                                               "searched once, at most 12 words, 3 quoted phrases and 6 words a phrase)."},
                               *page_params, kind_param, category_param],
                "responses": {"200": json_response("Results.", {
                    "type": "object", "required": ["query", "total", "complete", "page", "pages", "suggestion", "partial", "results"],
                    "additionalProperties": False,
                    "properties": {"query": {"type": "string", "description": "The query as searched, after normalisation."},
                                   "total": {"type": "integer"},
                                   "complete": {"type": "integer", "description": "How many results have every word of the query; "
                                                "they come first. 0: no article matches all the words."},
                                   "page": {"type": "integer"},
                                   "pages": {"type": "integer"}, "suggestion": nullable_string,
                                   "partial": {"type": "boolean", "description": "True when the time budget ran out: the best "
                                               "of the hits scored in time, not necessarily the best overall."},
                                   "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}}}),
                              "422": json_response("The search is too complex to answer within its time budget; use fewer words "
                                                   "or no quotation marks.", {"$ref": "#/components/schemas/Error"}),
                              "503": json_response("Search is temporarily unavailable.", {"$ref": "#/components/schemas/Error"}), **common},
            }},
            "/codes/": {"get": {
                "operationId": "lookupCodes", "summary": "Articles for ICD-10-CM codes, one list per code",
                "description": "Each code finds the published articles carrying it or, failing that, its nearest ancestor in the "
                               "ICD-10-CM hierarchy (M17.11, then M17.1, then M17); `matched` says which. An unknown but "
                               "well-formed code answers an empty list.",
                "parameters": [code_param],
                "responses": {"200": json_response("One result per code asked for, in order.", {
                    "type": "object", "required": ["code_system", "results"], "additionalProperties": False,
                    "properties": {"code_system": {"type": "string", "const": codes.CODE_SYSTEM},
                                   "results": {"type": "array", "items": {
                                       "type": "object", "required": ["code", "matched", "articles"], "additionalProperties": False,
                                       "properties": {"code": {"type": "string"}, "matched": nullable_string,
                                                      "articles": {"type": "array", "items": {"$ref": "#/components/schemas/CodedArticle"}}}}}}},
                    {"ETag": caching["ETag"]}), **common},
            }},
            "/infobutton/": {
                "get": {
                    "operationId": "infobutton", "summary": "HL7 Infobutton knowledge request (URL-based)",
                    "description": "Up to three articles for a code on a patient's chart, as an Atom feed (text/xml) or JSON. "
                                   "Further criteria come indexed, each with its own code system and name: "
                                   "mainSearchCriteria.v.c1, .cs1, .dn1 (numbering may start at 0); every code must be ICD-10-CM. "
                                   "Infobutton parameters about the patient, the task or the performer are accepted and do not "
                                   "change the answer. The same endpoint answers at the site's root, /infobutton/, where "
                                   "Infobutton managers usually expect it.",
                    "parameters": infobutton_params,
                    "responses": {
                        "200": {"description": "The articles.", "headers": {"ETag": caching["ETag"]}, "content": {
                            "application/atom+xml": {"schema": {"type": "string"}},
                            "application/json": {"schema": {
                                "type": "object", "additionalProperties": False,
                                "required": ["code_system", "codes", "display_name", "matched_by", "language", "note", "articles"],
                                "properties": {
                                    "code_system": nullable_string,
                                    "codes": {"type": "array", "items": {"type": "object", "required": ["code", "matched"],
                                                                        "additionalProperties": False,
                                                                        "properties": {"code": {"type": "string"}, "matched": nullable_string}}},
                                    "display_name": nullable_string,
                                    "matched_by": {"type": ["string", "null"], "enum": ["code", "display_name", None]},
                                    "language": {"type": "string"}, "note": nullable_string,
                                    "articles": {"type": "array", "maxItems": infobutton.INFOBUTTON_ARTICLES,
                                                 "items": {"$ref": "#/components/schemas/CodedArticle"}}}}}}},
                        "422": json_response("The display name is too complex to search within the time budget.",
                                             {"$ref": "#/components/schemas/Error"}),
                        "503": json_response("Search is temporarily unavailable (a display name could not be searched).",
                                             {"$ref": "#/components/schemas/Error"}),
                        **common},
                }},
        },
        "components": {"schemas": {"Error": error, "Category": category, "Article": item, "ArticleDetail": detail, "Hit": hit,
                                   "CodedArticle": coded}},
    }


urlpatterns = [
    path("articles/", articles, name="api-articles"),
    path("articles/<str:slug>/", article, name="api-article"),
    path("search/", search, name="api-search"),
    # Without the slash too: a 301 to it would carry no CORS headers for a browser-side portal to follow.
    re_path(r"^codes/?$", code_lookup, name="api-codes"),
    re_path(r"^infobutton/?$", knowledge_request, name="api-infobutton"),  # also at /infobutton/ (healthlib.urls)
    path("openapi.json", openapi, name="api-openapi"),
]
