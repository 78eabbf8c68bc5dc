"""Addresses that never break (issue 17): renamed articles keep their old addresses, links
follow renames, and a restore never moves an address silently."""

import pytest
import reversion
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from reversion.models import Version

from conditions.models import Article, ArticleDraft, ArticleRedirect

from .test_editors import change_url, form_data

pytestmark = pytest.mark.django_db


def rename(article, slug):
    with reversion.create_revision():
        article.slug = slug
        article.save()
    return article


@pytest.mark.parametrize("slug", ["stress-fracture", "mri", "knee-pain", "nsaids", "bone-marrow"])
def test_an_old_address_answers_301_to_the_current_one_for_every_kind(client, slug):
    article = Article.objects.get(slug=slug)
    old_url = article.get_absolute_url()
    rename(article, f"{slug}-renamed")
    response = client.get(old_url)
    assert response.status_code == 301 and response["Location"] == article.get_absolute_url()
    api = client.get(f"/api/v1/articles/{slug}/")
    assert api.status_code == 301 and api["Location"] == f"/api/v1/articles/{slug}-renamed/"
    assert client.get(article.get_absolute_url()).status_code == 200


def test_renaming_twice_sends_both_old_addresses_straight_to_the_newest_and_cycles_work(client):
    article = Article.objects.get(slug="stress-fracture")
    rename(article, "stress-fracture-b")
    rename(article, "stress-fracture-c")
    for old in ("stress-fracture", "stress-fracture-b"):
        response = client.get(f"/conditions/{old}/")
        assert response.status_code == 301 and response["Location"] == "/conditions/stress-fracture-c/", "one hop, no chain"
    rename(article, "stress-fracture")  # back to a former address
    assert client.get("/conditions/stress-fracture/").status_code == 200
    assert client.get("/conditions/stress-fracture-c/")["Location"] == "/conditions/stress-fracture/"
    assert not ArticleRedirect.objects.filter(old_slug="stress-fracture").exists()


def test_a_new_article_that_takes_an_old_address_takes_it_over(client):
    rename(Article.objects.get(slug="stress-fracture"), "stress-fractures")
    Article.objects.create(title="Stress Fracture (new)", slug="stress-fracture", summary="s", status="published").set_sections(
        {"overview": "A new article."})
    assert not ArticleRedirect.objects.filter(old_slug="stress-fracture").exists()
    assert client.get("/conditions/stress-fracture/").status_code == 200


def test_drafts_never_published_leave_no_redirects_and_unknown_addresses_stay_404(client):
    draft = Article.objects.create(title="Quokka", slug="quokka", summary="s")
    rename(draft, "quokka-two")
    assert not ArticleRedirect.objects.exists()
    assert client.get("/conditions/quokka/").status_code == 404


def test_redirects_are_listed_in_the_admin_and_can_be_deleted(client, reviewer):
    article = rename(Article.objects.get(slug="stress-fracture"), "stress-fractures")
    client.force_login(reviewer)
    listing = client.get("/admin/conditions/articleredirect/").content.decode()
    assert "stress-fracture" in listing and "stress-fractures" in listing
    redirect = ArticleRedirect.objects.get(old_slug="stress-fracture")
    client.post(f"/admin/conditions/articleredirect/{redirect.pk}/delete/", {"post": "yes"})
    assert Client().get("/conditions/stress-fracture/").status_code == 404
    assert article.redirects.count() == 0


def test_the_article_page_query_count_does_not_grow_with_redirects(client):
    article = Article.objects.get(slug="osteoporosis")
    client.get(article.get_absolute_url())  # warm caches
    with CaptureQueriesContext(connection) as before:
        client.get(article.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
    for n in range(30):
        ArticleRedirect.objects.create(old_slug=f"osteoporosis-old-{n}", article=article)
    with CaptureQueriesContext(connection) as after:
        client.get(article.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
    assert len(after) == len(before)


def test_links_in_other_articles_follow_a_rename_and_stay_saveable(client, reviewer):
    target = Article.objects.get(slug="osteomalacia")
    linking = list(Article.objects.linking_to_any(["osteomalacia"]))
    assert linking
    rename(target, "soft-bones-osteomalacia")
    for article in linking:
        text = " ".join(section.markdown for section in article.sections.all())
        assert "[[osteomalacia" not in text and "[[soft-bones-osteomalacia" in text
        assert 'href="/conditions/soft-bones-osteomalacia/"' in " ".join(section.html for section in article.sections.all())
        comments = [v.revision.get_comment() for v in Version.objects.get_for_object(article)]
        assert any("Link updated for rename" in comment for comment in comments)
    client.force_login(reviewer)
    saved = client.post(change_url(linking[0]), form_data(linking[0], summary="Still saveable."))
    assert saved.status_code == 302, "no '[[osteomalacia]] names no article' error"


def test_the_compare_page_shows_the_address_and_a_restore_keeps_it_unless_asked(client, reviewer):
    article = Article.objects.get(slug="stress-fracture")
    old_version = Version.objects.get_for_object(article).first()
    rename(article, "stress-fractures")
    client.force_login(reviewer)
    compare = client.get(f"/admin/conditions/article/{article.pk}/history/{old_version.pk}/compare/").content.decode()
    assert "Address (slug)" in compare and "Also restore the old address" in compare
    article.refresh_from_db()
    client.post(f"/admin/conditions/article/{article.pk}/history/{old_version.pk}/restore/", {"version": article.version})
    assert ArticleDraft.objects.get(article=article).content["slug"] == "stress-fractures", "the address is kept"
    article.refresh_from_db()
    client.post(f"/admin/conditions/article/{article.pk}/history/{old_version.pk}/restore/",
                {"version": article.version, "restore_address": "1"})
    assert ArticleDraft.objects.get(article=article).content["slug"] == "stress-fracture", "asked for: the old address comes back"


def test_the_form_lists_the_articles_linking_here_and_deleting_warns_with_them(client, reviewer, django_capture_on_commit_callbacks):
    target = Article.objects.get(slug="osteomalacia")
    linking = sorted(Article.objects.linking_to_any(["osteomalacia"]).exclude(pk=target.pk), key=lambda a: a.title)
    client.force_login(reviewer)
    form = client.get(change_url(target)).content.decode()
    assert "Linked from:" in form and all(article.title in form for article in linking)
    confirm = client.get(f"/admin/conditions/article/{target.pk}/delete/").content.decode()
    assert "link to “Osteomalacia”" in confirm and linking[0].title in confirm and "become plain text" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/conditions/article/{target.pk}/delete/", {"post": "yes"})
    page = Client().get(linking[0].get_absolute_url()).content.decode()
    assert 'href="/conditions/osteomalacia/"' not in page
    # Recovered as a draft: still no link; published again: the links come back.
    deleted = Version.objects.get_deleted(Article).get(object_repr="Osteomalacia")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/conditions/article/recover/{deleted.pk}/", {})
    recovered = Article.objects.get(slug="osteomalacia")
    assert recovered.status == "draft"
    assert 'href="/conditions/osteomalacia/"' not in Client().get(linking[0].get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conditions/article/", {"action": "submit_for_review", "_selected_action": [recovered.pk]})
        client.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [recovered.pk]})
    assert Article.objects.get(pk=recovered.pk).status == "published"
    assert 'href="/conditions/osteomalacia/"' in Client().get(linking[0].get_absolute_url()).content.decode()


def test_export_and_import_keep_old_addresses(tmp_path):
    from django.core.management import call_command

    article = rename(Article.objects.get(slug="stress-fracture"), "stress-fractures")
    call_command("export_content", str(tmp_path))
    text = (tmp_path / "stress-fractures.md").read_text()
    assert "redirect_from: [stress-fracture]" in text
    ArticleRedirect.objects.all().delete()
    call_command("import_content", str(tmp_path / "stress-fractures.md"))
    assert ArticleRedirect.objects.get(old_slug="stress-fracture").article == article
    assert Client().get("/conditions/stress-fracture/")["Location"] == "/conditions/stress-fractures/"


# -- 5. images in use ---------------------------------------------------------------------------


def test_an_image_in_use_is_listed_and_not_deleted_and_a_deleted_images_files_leave_storage(client, reviewer, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    from conditions.models import ArticleImage

    from .test_editors import image_bytes, upload

    client.force_login(reviewer)
    url = upload(client, image_bytes("JPEG", size=(2000, 1000))).json()["url"]
    image = ArticleImage.objects.get()
    article = Article.objects.get(slug="stress-fracture")
    texts = {s.kind: s.markdown for s in article.sections.all()}
    article.set_sections({**texts, "overview": texts["overview"] + f"\n\n![A foot X-ray]({url})"})
    page = client.get(f"/admin/conditions/articleimage/{image.pk}/change/").content.decode()
    assert "Used in" in page and "Stress Fracture" in page
    refused = client.post(f"/admin/conditions/articleimage/{image.pk}/delete/", {"post": "yes"}, follow=True)
    assert "in use, so it was not deleted" in refused.content.decode() and "Stress Fracture" in refused.content.decode()
    assert ArticleImage.objects.filter(pk=image.pk).exists()
    article.set_sections(texts)  # taken out of the article
    names = image.file_names()
    assert len(names) > 1 and all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/conditions/articleimage/{image.pk}/delete/", {"post": "yes"})
    assert not ArticleImage.objects.filter(pk=image.pk).exists()
    assert not any(default_storage.exists(name) for name in names), "the original and every rendition are gone"
    again = client.post(f"/admin/conditions/articleimage/{names[0].split('/')[1]}/delete/", {"post": "yes"})
    assert again.status_code in (302, 404), "deleting twice is a clear answer, not a 500"


def test_an_imported_link_to_a_former_address_is_followed_with_a_warning(write_source):
    import io

    from django.core.management import call_command

    rename(Article.objects.get(slug="stress-fracture"), "stress-fractures")
    path = write_source("test-linker", body="## Overview\n\nSee [[stress-fracture|stress fractures]].\n")
    err = io.StringIO()
    call_command("import_content", str(path), stdout=io.StringIO(), stderr=err)
    assert "former address of 'stress-fractures'" in err.getvalue()
    html = Article.objects.get(slug="test-linker").sections.get(kind="overview").html
    assert 'href="/conditions/stress-fractures/"' in html and ">stress fractures<" in html


@pytest.fixture
def real_page_cache(settings):
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "addresses"},
                       "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "addresses-pages"}}
    caches["default"].clear()
    caches["pages"].clear()
    yield
    caches["default"].clear()
    caches["pages"].clear()


def test_a_cached_page_at_the_old_address_is_retired_by_the_rename(real_page_cache, django_capture_on_commit_callbacks):
    anonymous = Client()
    assert anonymous.get("/conditions/stress-fracture/").status_code == 200
    assert anonymous.get("/conditions/stress-fracture/")["X-Cache"] == "hit", "now in the shared page cache"
    with django_capture_on_commit_callbacks(execute=True):
        rename(Article.objects.get(slug="stress-fracture"), "stress-fractures")
    assert anonymous.get("/conditions/stress-fracture/").status_code == 301


def test_renaming_to_a_taken_or_invalid_address_is_a_clear_error(client, reviewer):
    live = Article.objects.get(slug="stress-fracture")
    client.force_login(reviewer)
    for slug, message in (("osteoporosis", "already exists"), ("Not A Slug!", "slug")):
        response = client.post(change_url(live), form_data(live, slug=slug))
        assert response.status_code == 200 and message in response.content.decode(), slug
    # Taken between the edit and its publication: refused at publish time, nothing half-done.
    client.post(change_url(live), form_data(live, slug="stress-fracture-new"))
    client.post(change_url(live), form_data(live, slug="stress-fracture-new", _submit_changes="1"))
    Article.objects.create(title="Someone else", slug="stress-fracture-new", summary="s")
    refused = client.post(change_url(live), form_data(live, slug="stress-fracture-new", _publish_changes="1"))
    assert refused.status_code == 200
    assert Article.objects.get(pk=live.pk).slug == "stress-fracture"


def test_a_rename_also_updates_links_in_other_articles_unpublished_changes(client, reviewer):
    linker = Article.objects.get(slug="stress-fracture")
    client.force_login(reviewer)
    texts = {s.kind: s.markdown for s in linker.sections.all()}
    client.post(change_url(linker), form_data(linker, section_overview=texts["overview"] + "\n\nSee [[osteomalacia|soft bones]]."))
    rename(Article.objects.get(slug="osteomalacia"), "osteomalacia-renamed")
    draft = ArticleDraft.objects.get(article=linker)
    assert "[[osteomalacia-renamed|soft bones]]" in draft.content["sections"]["overview"]


def test_loading_content_again_after_a_rename_brings_no_duplicate_back():
    import io

    from django.core.management import call_command

    rename(Article.objects.get(slug="stress-fracture"), "stress-fractures")
    err = io.StringIO()
    call_command("import_content", "--new-only", stdout=io.StringIO(), stderr=err)
    assert not Article.objects.filter(slug="stress-fracture").exists(), "no second copy under the old address"
    assert ArticleRedirect.objects.filter(old_slug="stress-fracture").exists()
    assert "was renamed to 'stress-fractures'" in err.getvalue()
