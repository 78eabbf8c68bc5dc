"""The review gate: every path that changes what patients see (form, list actions,
restore, recover, import) asks the same permissions of the article as it is now; live
pages never show a draft's text; sign-in is limited per client before any hashing.

The permission matrix walks every admin URL (django-reversion's and markdownx's
included) as anonymous, Editor, Medical reviewer and superuser, with crafted ids of
other objects and other models, by GET and by a hostile POST, and checks after each
request that nothing live changed without a reviewer and that nothing answered 500.
"""

import io
import re

import pytest
import reversion
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.test import Client
from django.urls import URLResolver
from reversion.models import Version

from conditions.importer import import_content
from conditions.models import Article, ArticleDraft, ArticleSection, Category
from healthlib import pagecache

from .conftest import same_window
from .test_editors import change_url, form_data

pytestmark = pytest.mark.django_db

RETURN = {"action": "return_to_draft", "apply": "1", "comment": "Needs work."}  # the list action, comment given

LIVE = "osteoporosis"  # a published article every test may try to change


def live_state():
    """What patients see of every published article: slug, title, status, sections' text."""
    return {
        article.slug: (article.title, article.summary, [(s.kind, s.markdown, s.html) for s in article.sections.all()])
        for article in Article.objects.published().prefetch_related("sections")
    }


def make_deleted_article(title="Quokka fever", slug="quokka-fever"):
    """A published article saved in a revision, then deleted; returns its last version."""
    with reversion.create_revision():
        article = Article.objects.create(title=title, slug=slug, summary="A made-up condition.", status="published")
        article.set_sections({"overview": "### What is quokka fever?\n\nA made-up condition.", "key-points": "- A test."})
    pk = article.pk
    article.delete()
    return Version.objects.get_deleted(Article).get(object_id=str(pk))


# -- recover ---------------------------------------------------------------------------


def test_recover_accepts_only_versions_of_deleted_articles(client, editor, reviewer):
    live = Article.objects.get(slug=LIVE)
    live_version = Version.objects.get_for_object(live).first()
    section_version = Version.objects.get_for_object(live.sections.first()).first()
    before = live_state()
    for user in (editor, reviewer):
        client.force_login(user)
        for version in (live_version, section_version):
            assert client.get(f"/admin/conditions/article/recover/{version.pk}/").status_code == 404
            assert client.post(f"/admin/conditions/article/recover/{version.pk}/", form_data(live, status="published")).status_code == 404
    assert live_state() == before


def test_an_editor_cannot_bring_back_a_withdrawn_article_through_recover(client, editor, reviewer):
    """The attack of the security review: recover with an old version of a live, then withdrawn, article."""
    article = Article.objects.get(slug=LIVE)
    published_version = Version.objects.get_for_object(article).first()
    client.force_login(reviewer)
    client.post("/admin/conditions/article/", RETURN | {"_selected_action": [article.pk]})
    assert Article.objects.get(pk=article.pk).status == "draft"
    client.force_login(editor)
    assert client.post(f"/admin/conditions/article/recover/{published_version.pk}/", {}).status_code == 404
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_recover_brings_back_that_article_and_its_own_sections_as_a_draft(client, editor):
    other = Article.objects.get(slug="osteomalacia")
    with reversion.create_revision():  # one revision holding two articles, as a list action makes
        doomed = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.", status="published")
        doomed.set_sections({"overview": "### What is it?\n\nMade up.", "key-points": "- A test."})
        reversion.add_to_revision(other)
    pk = doomed.pk
    doomed.delete()
    other.title = "Osteomalacia (renamed since)"
    other.save()
    version = Version.objects.get_deleted(Article).get(object_id=str(pk))
    client.force_login(editor)
    page = client.get(f"/admin/conditions/article/recover/{version.pk}/")
    assert page.status_code == 200 and "Recover as a draft" in page.content.decode()
    response = client.post(f"/admin/conditions/article/recover/{version.pk}/", {})
    assert response.status_code == 302
    recovered = Article.objects.get(pk=pk)
    assert recovered.status == "draft" and recovered.slug == "quokka-fever"
    assert {s.kind for s in recovered.sections.all()} == {"overview", "key-points"}
    assert Article.objects.get(pk=other.pk).title == "Osteomalacia (renamed since)", "the other article in the revision is untouched"
    assert client.get("/conditions/quokka-fever/").status_code == 200  # staff preview
    assert Client().get("/conditions/quokka-fever/").status_code == 404


def test_recovering_under_a_slug_taken_meanwhile_picks_a_free_one_and_says_so(client, reviewer):
    version = make_deleted_article()
    Article.objects.create(title="Quokka fever, new", slug="quokka-fever", summary="Took the slug.")
    client.force_login(reviewer)
    response = client.post(f"/admin/conditions/article/recover/{version.pk}/", {}, follow=True)
    assert response.status_code == 200
    recovered = Article.objects.get(pk=int(version.object_id))
    assert recovered.slug == "quokka-fever-2" and recovered.status == "draft"
    assert "now belongs to" in response.content.decode()


# -- restore (point 8) and list actions -------------------------------------------------


def test_restore_never_500s_when_the_version_slug_now_belongs_to_another_article(client, reviewer):
    client.force_login(reviewer)
    article = Article.objects.get(slug=LIVE)
    old_version = Version.objects.get_for_object(article).first()
    with reversion.create_revision():
        article.slug = "osteoporosis-renamed"
        article.save()
    Article.objects.create(title="Someone else", slug=LIVE, summary="Took the old address.")
    article.refresh_from_db()
    response = client.post(f"/admin/conditions/article/{article.pk}/history/{old_version.pk}/restore/",
                           {"version": article.version, "restore_address": "1"}, follow=True)
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.slug == "osteoporosis-renamed", "the live article is untouched"
    assert ArticleDraft.objects.get(article=article).content["slug"] == "osteoporosis-renamed", "the current slug is kept"
    assert "now belongs to" in response.content.decode() and "osteoporosis-renamed" in response.content.decode()


def test_an_editors_restore_of_a_live_article_becomes_unpublished_changes(client, editor):
    article = Article.objects.get(slug=LIVE)
    version = Version.objects.get_for_object(article).first()
    before = live_state()
    client.force_login(editor)
    stale = client.post(f"/admin/conditions/article/{article.pk}/history/{version.pk}/restore/", {"version": article.version - 1})
    assert stale.status_code == 302 and not ArticleDraft.objects.filter(article=article).exists(), "an outdated comparison restores nothing"
    response = client.post(f"/admin/conditions/article/{article.pk}/history/{version.pk}/restore/", {"version": article.version})
    assert response.status_code == 302
    assert live_state() == before, "live text changes only when a reviewer publishes"
    assert ArticleDraft.objects.get(article=article).status == "draft"


def test_list_actions_refuse_editors_on_live_articles_and_count_honestly(client, editor):
    live = Article.objects.get(slug=LIVE)
    draft = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.", status="review")
    client.force_login(editor)
    response = client.post("/admin/conditions/article/", RETURN | {"_selected_action": [live.pk, draft.pk]}, follow=True)
    text = " ".join(str(message) for message in response.context["messages"])
    assert "Returned to draft: 1 article(s)." in text and "1 refused" in text and "-1" not in text
    assert Article.objects.get(pk=live.pk).status == "published"
    # The publish action is not even offered to an editor; a crafted POST changes nothing.
    client.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [draft.pk]})
    assert Article.objects.get(pk=draft.pk).status == "draft"


def test_editor_cannot_take_a_live_article_down_through_the_form(client, editor):
    live = Article.objects.get(slug=LIVE)
    client.force_login(editor)
    response = client.post(change_url(live), form_data(live, status="draft", section_overview="Replaced text."))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Article.objects.get(pk=live.pk).status == "published"
    assert not ArticleDraft.objects.filter(article=live).exists(), "nothing saved, not even as a draft"


# -- import ---------------------------------------------------------------------------


def test_import_as_an_editor_is_gated_like_the_admin(editor, reviewer, write_source):
    drafts = write_source("quokka-fever", status="draft")
    report = import_content([drafts], user=editor)
    assert report.created == ["quokka-fever"] and not report.errors
    assert Version.objects.get_for_object(Article.objects.get(slug="quokka-fever"))[0].revision.user == editor

    publish = write_source("quokka-fever", status="published")
    report = import_content([publish], user=editor)
    assert not report.updated and "only a medical reviewer" in str(report.errors[0]).lower()
    assert Article.objects.get(slug="quokka-fever").status == "draft"

    live = write_source(LIVE, title="Osteoporosis, rewritten", status="draft")
    report = import_content([live], user=editor)
    assert report.errors and Article.objects.get(slug=LIVE).status == "published"
    assert Article.objects.get(slug=LIVE).title == "Osteoporosis"

    report = import_content([publish], user=reviewer)
    assert report.updated == ["quokka-fever"] and Article.objects.get(slug="quokka-fever").status == "published"


def test_import_command_names_an_unknown_user(write_source):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No active user named 'nobody'"):
        call_command("import_content", str(write_source("quokka-fever")), user="nobody")


# -- live pages hold only reviewed text (point 2) -----------------------------------------


@pytest.fixture
def real_version_cache(settings):
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gate"}}
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_a_draft_title_never_reaches_live_pages_or_the_api(client, editor, django_capture_on_commit_callbacks, real_version_cache):
    with django_capture_on_commit_callbacks(execute=True):
        draft = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.")
        linking = Article.objects.get(slug=LIVE)
        overview = linking.sections.get(kind="overview")
        linking.set_sections({**{s.kind: s.markdown for s in linking.sections.all()},
                              "overview": overview.markdown + "\n\nSee [[quokka-fever]] and [[quokka-fever|quokka facts]]."})
    version = pagecache.content_version()
    html_before = {s.kind: s.html for s in linking.sections.all()}
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(draft), form_data(draft, title="Stop taking your osteoporosis medicine"))
    assert response.status_code == 302
    assert pagecache.content_version() == version, "a draft save does not retire the public page cache"
    assert {s.kind: s.html for s in Article.objects.get(slug=LIVE).sections.all()} == html_before, "nor re-render live pages"
    anonymous = Client()
    for url in (f"/conditions/{LIVE}/", f"/api/v1/articles/{LIVE}/"):
        body = anonymous.get(url).content.decode()
        assert "Stop taking" not in body, url
        assert "quokka fever" in body and "quokka facts" in body  # the slug's words and the link's own text


def test_a_withdrawn_article_is_named_by_its_last_published_title(client, reviewer, django_capture_on_commit_callbacks, real_version_cache):
    target = Article.objects.get(slug="osteomalacia")
    linking = [a.get_absolute_url() for a in Article.objects.published().linking_to_any(["osteomalacia"])]
    assert linking, "the shipped articles link to osteomalacia"
    client.force_login(reviewer)
    version = pagecache.content_version()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conditions/article/", RETURN | {"_selected_action": [target.pk]})
    assert pagecache.content_version() != version, "unpublishing changes live pages"
    version = pagecache.content_version()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(target), form_data(Article.objects.get(pk=target.pk), title="Quokka bones: a draft rename"))
    assert pagecache.content_version() == version
    page = Client().get(linking[0]).content.decode()
    assert "Quokka bones" not in page
    assert 'href="/conditions/osteomalacia/"' not in page, "no link to an article that is not live"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conditions/article/", {"action": "submit_for_review", "_selected_action": [target.pk]})
        client.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [target.pk]})
    assert pagecache.content_version() != version
    assert 'href="/conditions/osteomalacia/"' in Client().get(linking[0]).content.decode()


def test_only_live_changes_retire_the_page_cache(editor, django_capture_on_commit_callbacks, real_version_cache):
    version = pagecache.content_version()
    with django_capture_on_commit_callbacks(execute=True):
        draft = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.")
        draft.set_sections({"overview": "Draft text."})
        draft.categories.add(Category.objects.first())
        draft.status = "review"
        draft.save()
    assert pagecache.content_version() == version
    with django_capture_on_commit_callbacks(execute=True):
        live = Article.objects.get(slug=LIVE)
        live.summary = "A reviewed summary."
        live.save()
    assert pagecache.content_version() != version


# -- sign-in is limited per client, before hashing (point 5) -----------------------------


def test_sign_in_is_limited_per_client_before_any_password_is_hashed(settings):
    settings.HEALTHLIB_LOGIN_RATE_LIMIT = "3/300"
    same_window(300)
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "login"}}
    caches["default"].clear()
    attempts = []
    user_login_failed.connect(receiver := lambda **kwargs: attempts.append(1), weak=False)
    try:
        client = Client(REMOTE_ADDR="203.0.113.7")
        for n in range(3):
            response = client.post("/admin/login/", {"username": f"random-{n}", "password": "wrong"})
            assert response.status_code == 200  # the form again, with its error
        refused = client.post("/admin/login/", {"username": "random-9", "password": "wrong"})
        assert refused.status_code == 429 and refused["Retry-After"]
        assert len(attempts) == 3, "the refused attempt never reached authentication (no hashing)"
        assert client.get("/admin/login/").status_code == 200, "the form itself still shows"
        other = Client(REMOTE_ADDR="203.0.113.8").post("/admin/login/", {"username": "x", "password": "y"})
        assert other.status_code == 200, "another client has its own budget"
    finally:
        user_login_failed.disconnect(receiver)
        caches["default"].clear()


# -- the permission matrix (point 1) -------------------------------------------------------


def admin_url_templates():
    """Every admin URL as a format string with ``{name}`` for each captured part."""
    def walk(patterns, prefix):
        for entry in patterns:
            regex = entry.pattern.regex.pattern.lstrip("^").removesuffix("\\Z").removesuffix("$")
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + regex)
            else:
                yield prefix + regex
    out = set()
    for regex in walk(admin.site.get_urls(), ""):
        counter = iter(range(10))
        template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex)
        template = re.sub(r"\([^)]*\)", lambda m: "{arg%d}" % next(counter), template)
        out.add("/admin/" + template.replace("\\", ""))
    return sorted(out)


def crafted_urls(template, ids):
    names = re.findall(r"{(\w+)}", template)
    if not names:
        return [template]
    if names == ["app_label"]:
        return [template.format(app_label=label) for label in ("conditions", "auth", "reversion")]
    if "content_type_id" in names:
        return [template.format(content_type_id=ct, object_id=pk) for ct, pk in ids["content_types"]]
    if len(names) == 1:
        return [template.format(**{names[0]: value}) for value in ids["single"]]
    return [template.format(**dict(zip(names, pair))) for pair in ids["pairs"]]


HOSTILE_POST = {
    "title": "HACKED", "slug": LIVE, "kind": "condition", "summary": "Hacked.", "status": "published",
    "section_overview": "HACKED TEXT", "post": "yes", "action": "publish", "index": "0", "is_superuser": "on",
}


def test_permission_matrix_over_every_admin_url(editor, reviewer):
    live = Article.objects.get(slug=LIVE)
    draft = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.", status="review")
    deleted_version = make_deleted_article("Wombat itch", "wombat-itch")
    live_version = Version.objects.get_for_object(live).first()
    section = live.sections.first()
    section_version = Version.objects.get_for_object(section).first()
    superuser = User.objects.create_superuser("root", password="x")
    category = Category.objects.first()
    object_ids = [live.pk, draft.pk, int(deleted_version.object_id), section.pk, category.pk, superuser.pk, 999999, "abc"]
    version_ids = [live_version.pk, section_version.pk, deleted_version.pk, 999999]
    article_ct = ContentType.objects.get_for_model(Article).pk
    ids = {
        "single": sorted({*object_ids, *version_ids}, key=str),
        "pairs": [(o, v) for o in (live.pk, draft.pk, int(deleted_version.object_id), section.pk) for v in version_ids],
        "content_types": [(article_ct, live.pk), (article_ct, draft.pk), (ContentType.objects.get_for_model(ArticleSection).pk, section.pk)],
    }
    templates = admin_url_templates()
    assert any("recover" in t for t in templates) and any("restore" in t for t in templates)
    urls = [url for template in templates for url in crafted_urls(template, ids)]
    urls += ["/markdownx/markdownify/", "/markdownx/upload/"]
    before = live_state()
    editor_perms = set(editor.get_all_permissions())
    failures = []
    for role, user in (("anonymous", None), ("editor", editor), ("reviewer", reviewer), ("superuser", superuser)):
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        for url in urls:
            if url.endswith("/logout/"):
                continue
            for method in ("get", "post"):
                data = {**HOSTILE_POST, "_selected_action": [live.pk, draft.pk]} if method == "post" else None
                response = getattr(client, method)(url, data)
                if response.status_code >= 500:
                    failures.append(f"{role} {method.upper()} {url} → {response.status_code}")
                if role == "anonymous" and response.status_code == 200 and not url.endswith("/login/"):
                    failures.append(f"anonymous {method.upper()} {url} → 200")
                if role in ("anonymous", "editor"):
                    if live_state() != before:
                        failures.append(f"{role} {method.upper()} {url} changed a live article")
                        before = live_state()
                    if Article.objects.filter(pk=draft.pk, status="published").exists():
                        failures.append(f"{role} {method.upper()} {url} published a draft")
                        Article.objects.filter(pk=draft.pk).update(status="review")
                    if Article.objects.filter(pk=int(deleted_version.object_id), status="published").exists():
                        failures.append(f"{role} {method.upper()} {url} recovered an article as live")
                    editor.refresh_from_db()
                    if editor.is_superuser or set(User.objects.get(pk=editor.pk).get_all_permissions()) != editor_perms:
                        failures.append(f"{role} {method.upper()} {url} changed the editor's permissions")
    assert not failures, "\n".join(failures)


def test_loading_content_again_with_new_only_never_undoes_admin_work(client, reviewer, write_source):
    """make setup runs import_content --new-only on every start: a withdrawal and an edit survive it."""
    from django.core.management import call_command

    client.force_login(reviewer)
    article = Article.objects.get(slug="sacroiliitis")
    client.post("/admin/conditions/article/", RETURN | {"_selected_action": [article.pk]})
    Article.objects.filter(slug="tendinopathy").update(summary="Edited in the admin.")
    new = write_source("quokka-fever", status="draft")
    call_command("import_content", "--new-only", str(django_settings.HEALTHLIB_CONTENT_DIR), str(new.parent), stdout=io.StringIO())
    assert Article.objects.get(slug="sacroiliitis").status == "draft", "a withdrawn article stays withdrawn"
    assert Article.objects.get(slug="tendinopathy").summary == "Edited in the admin."
    assert Article.objects.filter(slug="quokka-fever").exists(), "articles the database lacks are created"


def test_admin_saves_store_lf_line_endings(client, reviewer):
    client.force_login(reviewer)
    article = Article.objects.get(slug=LIVE)
    data = form_data(article)
    data = {key: value.replace("\n", "\r\n") if isinstance(value, str) else value for key, value in data.items()}
    assert client.post(change_url(article), data).status_code == 302
    article.refresh_from_db()
    assert all("\r" not in section.markdown for section in article.sections.all()) and "\r" not in article.summary


def test_a_recovered_article_keeps_the_title_it_last_had_live_for_links(client, reviewer, django_capture_on_commit_callbacks):
    target = Article.objects.get(slug="osteomalacia")
    client.force_login(reviewer)
    with reversion.create_revision():
        target.status = "draft"
        target.save()
    version_pk = target.pk
    target.delete()
    version = Version.objects.get_deleted(Article).get(object_id=str(version_pk))
    client.post(f"/admin/conditions/article/recover/{version.pk}/", {})
    assert Article.objects.get(pk=version_pk).published_title == "Osteomalacia"


def test_an_editors_import_cannot_change_a_live_articles_related_list_or_record_a_review(editor, reviewer, write_source):
    live = Article.objects.get(slug=LIVE)
    before = sorted(live.related.values_list("slug", flat=True))
    source = (django_settings.HEALTHLIB_CONTENT_DIR / f"{LIVE}.md").read_text()
    changed = re.sub(r"(?m)^related:.*$", "related: [chondrosarcoma]", source)
    assert changed != source
    path = write_source(LIVE, raw=changed.encode())
    report = import_content([path], user=editor)
    assert report.errors and "related articles not changed" in str(report.errors[0])
    assert sorted(live.related.values_list("slug", flat=True)) == before
    report = import_content([path], user=reviewer)
    assert report.updated == [LIVE] and list(live.related.values_list("slug", flat=True)) == ["chondrosarcoma"]
    assert Version.objects.get_for_object(live)[0].revision.user == reviewer, "the change is in the history"

    draft = write_source("quokka-fever", status="draft", reviewed_on="2026-01-02", reviewed_by="Dr Invented")
    import_content([draft], user=editor)
    created = Article.objects.get(slug="quokka-fever")
    assert (created.reviewed_on, created.reviewed_by) == (None, ""), "only a medical reviewer records a review"


def test_renaming_a_withdrawn_draft_drops_the_title_it_had_live(reviewer):
    article = Article.objects.get(slug="osteomalacia")
    article.status = "draft"
    article.save()
    assert Article.objects.get(pk=article.pk).published_title == "Osteomalacia"
    article.slug = "osteomalacia-old"
    article.save()
    assert Article.objects.get(pk=article.pk).published_title == "", "links to its new address never borrow the old live title"


def test_list_actions_work_on_a_list_filtered_by_category(client, reviewer):
    category = Category.objects.get(slug="cancer")
    target = category.articles.published().first()
    client.force_login(reviewer)
    response = client.post(f"/admin/conditions/article/?categories__id__exact={category.pk}",
                           RETURN | {"_selected_action": [target.pk]}, follow=True)
    assert response.status_code == 200
    assert "Returned to draft: 1 article(s)." in " ".join(str(m) for m in response.context["messages"])
    assert Article.objects.get(pk=target.pk).status == "draft"


def test_restoring_a_version_whose_related_article_was_deleted_restores_the_rest_and_names_it(client, reviewer):
    """Issue 18, point 7: no IntegrityError; the dropped relation is named."""
    with reversion.create_revision():
        doomed = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.")
    with reversion.create_revision():
        article = Article.objects.create(title="Wombat knee", slug="wombat-knee", summary="Old summary.")
        article.set_sections({"overview": "### What is it?\n\nOld text.", "key-points": "- Old."})
        article.related.set([doomed, Article.objects.get(slug="osteoporosis")])
    old_version = Version.objects.get_for_object(article).first()
    with reversion.create_revision():
        article.summary = "New summary."
        article.save()
        article.related.set([])
    doomed.delete()
    article.refresh_from_db()
    client.force_login(reviewer)
    response = client.post(f"/admin/conditions/article/{article.pk}/history/{old_version.pk}/restore/",
                           {"version": article.version}, follow=True)
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.summary == "Old summary." and article.sections.get(kind="overview").markdown.endswith("Old text.")
    assert list(article.related.values_list("slug", flat=True)) == ["osteoporosis"]
    messages = [str(m) for m in response.context["messages"]]
    assert any("Related article deleted since that version, left out: “Quokka fever”" in m for m in messages), messages


def test_recovering_an_article_whose_related_article_was_deleted_too(client, reviewer):
    with reversion.create_revision():
        partner = Article.objects.create(title="Wombat knee", slug="wombat-knee", summary="Made up.")
    version = None
    with reversion.create_revision():
        article = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="A made-up condition.")
        article.set_sections({"overview": "### What is quokka fever?\n\nMade up.", "key-points": "- A test."})
        article.related.set([partner])
    pk = article.pk
    article.delete()
    partner.delete()
    version = Version.objects.get_deleted(Article).get(object_id=str(pk))
    client.force_login(reviewer)
    response = client.post(f"/admin/conditions/article/recover/{version.pk}/", {}, follow=True)
    assert response.status_code == 200
    recovered = Article.objects.get(pk=pk)
    assert recovered.summary == "A made-up condition." and not recovered.related.exists()
    assert "left out: “Wombat knee”" in response.content.decode()
