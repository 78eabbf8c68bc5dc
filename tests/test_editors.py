"""Editors: the admin form, roles and workflow, history, review dates, staff preview,
and the hardened markdownx preview and image upload endpoints (real Pillow images)."""

import datetime
import io
import os
import re
import struct
import zlib

import pytest
import reversion
from django.contrib.auth.models import Group, User
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import ExifTags, Image
from reversion.models import Version

from conditions.models import Article, ArticleDraft, ArticleImage, Category, add_years, render_preview
from conditions.search import get_backend

pytestmark = pytest.mark.django_db

RETURN = {"action": "return_to_draft", "apply": "1", "comment": "Needs work."}  # the list action, comment given

ADD_URL = "/admin/conditions/article/add/"


def form_data(article=None, **overrides):
    """What the admin's article form posts: the article's values, then ``overrides``."""
    data = {
        "title": "Quokka fever", "slug": "quokka-fever", "kind": "condition",
        "summary": "A made-up condition for tests.", "also_known_as": "QF\nQuokka flu",
        "status": "draft", "reviewed_on": "", "reviewed_by": "",
        "section_overview": "### What is quokka fever?\n\nA test condition. See [[bone-marrow-edema]].",
        "section_key_points": "- Only a test.",
    }
    if article is not None:
        data.update(
            title=article.title, slug=article.slug, kind=article.kind, summary=article.summary,
            also_known_as="\n".join(article.also_known_as), emergency_signs="\n".join(article.emergency_signs),
            codes="\n".join(article.codes),
            status=article.status, reviewed_on=article.reviewed_on.isoformat() if article.reviewed_on else "",
            reviewed_by=article.reviewed_by, categories=[c.pk for c in article.categories.all()],
            related=[r.pk for r in article.related.all()], opened_version=Article.objects.get(pk=article.pk).version,
        )
        for section in article.sections.all():
            data[f"section_{section.kind.replace('-', '_')}"] = section.markdown
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def change_url(article):
    return f"/admin/conditions/article/{article.pk}/change/"


def add_and_publish(client, **overrides):
    """As a reviewer: add the test article in review, then publish it through the form."""
    response = client.post(ADD_URL, form_data(status="review", **overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(slug=overrides.get("slug", "quokka-fever"))
    response = client.post(change_url(article), form_data(article, status="published"))
    assert response.status_code == 302, response.content.decode()[:3000]
    article.refresh_from_db()
    assert article.status == "published"
    return article


# -- roles and workflow -----------------------------------------------------------


def test_groups_come_from_a_migration_with_the_right_permissions():
    editor = set(Group.objects.get(name="Editor").permissions.values_list("codename", flat=True))
    reviewer = set(Group.objects.get(name="Medical reviewer").permissions.values_list("codename", flat=True))
    assert {"add_article", "change_article", "view_article", "add_articleimage"} <= editor
    assert "publish_article" not in editor and "delete_article" not in editor
    assert editor < reviewer and {"publish_article", "delete_article"} <= reviewer


def test_editor_creates_a_draft_with_rendered_sections_and_a_version(client, editor, django_capture_on_commit_callbacks):
    client.force_login(editor)
    category = Category.objects.get(slug="bones-joints-muscles")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, form_data(categories=[category.pk]))
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(slug="quokka-fever")
    assert article.status == "draft" and article.also_known_as == ["QF", "Quokka flu"]
    assert list(article.categories.all()) == [category]
    overview = article.sections.get(kind="overview")
    assert '<a href="/conditions/bone-marrow-edema/">Bone Marrow Edema</a>' in overview.html
    assert 'id="what-is-quokka-fever"' in overview.html
    versions = Version.objects.get_for_object(article)
    assert versions.count() == 1 and versions[0].revision.user == editor
    assert "quokka-fever" not in get_backend().indexed_hashes(), "drafts are not indexed"


def test_editor_cannot_publish_even_with_a_crafted_post(client, editor):
    client.force_login(editor)
    response = client.post(ADD_URL, form_data(status="published"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Article.objects.filter(slug="quokka-fever").exists()
    assert not Article.objects.filter(slug="quokka-fever").exists()
    draft = Article.objects.create(title="Draft thing", slug="draft-thing", summary="s")
    draft.set_sections({"overview": "Text."})
    client.post(change_url(draft), form_data(draft, status="published"))
    assert Article.objects.get(pk=draft.pk).status == "draft"
    # The publish action is not offered, and posting it anyway changes nothing.
    changelist = client.get("/admin/conditions/article/").content.decode()
    assert 'value="publish"' not in changelist and 'value="submit_for_review"' in changelist
    client.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [draft.pk]})
    assert Article.objects.get(pk=draft.pk).status == "draft"
    client.post("/admin/conditions/article/", {"action": "submit_for_review", "_selected_action": [draft.pk]})
    assert Article.objects.get(pk=draft.pk).status == "review"


def test_editor_edits_a_published_article_only_as_unpublished_changes_and_cannot_delete_it(client, editor):
    client.force_login(editor)
    article = Article.objects.get(slug="osteoporosis")
    before = article.summary
    page = client.get(change_url(article)).content.decode()
    assert "markdownx-editor" in page and "Save and submit the changes for review" in page
    response = client.post(change_url(article), form_data(article, summary="Rewritten by an editor."))
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).summary == before, "the live text stays until a reviewer publishes"
    assert ArticleDraft.objects.get(article=article).content["summary"] == "Rewritten by an editor."
    changes = client.get(change_url(article)).context["draft_changes"]
    assert [change.label for change in changes] == ["Summary"], "only what the editor changed; never a status change"
    assert client.post(f"/admin/conditions/article/{article.pk}/delete/", {"post": "yes"}).status_code == 403
    draft = Article.objects.create(title="Draft two", slug="draft-two", summary="s")
    draft.set_sections({"overview": "Text."})
    client.post(change_url(draft), form_data(draft, reviewed_on="2026-01-01", reviewed_by="Somebody"))
    draft.refresh_from_db()
    assert draft.reviewed_on is None and draft.reviewed_by == "", "review fields are read-only for editors"


def test_reviewer_publishes_and_the_index_follows(client, reviewer, django_capture_on_commit_callbacks):
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="s", status="review")
        article.set_sections({"overview": "Quokkas are marsupials."})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [article.pk]}, follow=True)
    assert "Published: 1 article(s)" in response.content.decode()
    article.refresh_from_db()
    assert article.status == "published" and article.published_at is not None
    assert "quokka-fever" in get_backend().indexed_hashes()
    assert get_backend().search("quokka fever")[0].slug == "quokka-fever"
    assert client.get("/conditions/quokka-fever/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conditions/article/", RETURN | {"_selected_action": [article.pk]})
    assert Article.objects.get(pk=article.pk).status == "draft"
    assert get_backend().search("quokka").total == 0
    client.logout()
    assert client.get("/conditions/quokka-fever/").status_code == 404


def test_form_flags_images_without_alt_text_and_unknown_links(client, reviewer):
    client.force_login(reviewer)
    url = "/media/images/" + "a" * 32 + "/original.png"
    response = client.post(ADD_URL, form_data(section_overview=f"Look: ![]({url}) and [[no-such-article]]"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "have no alt text" in html and "[[no-such-article]] names no article" in html
    assert "Look: ![](" in html, "what the editor typed is kept in the form"
    assert not Article.objects.filter(slug="quokka-fever").exists()


# -- history ----------------------------------------------------------------------


def test_history_compare_and_one_step_restore(client, reviewer):
    client.force_login(reviewer)
    article = add_and_publish(client)
    rewritten = "Completely rewritten overview text."
    client.post(change_url(article), form_data(article, section_overview=rewritten))
    client.post(change_url(article), form_data(article, section_overview=rewritten, _submit_changes="1"))
    client.post(change_url(article), form_data(article, section_overview=rewritten, _publish_changes="1"))
    article.refresh_from_db()
    assert article.sections.get(kind="overview").markdown == "Completely rewritten overview text."
    versions = list(Version.objects.get_for_object(article))
    history = client.get(f"/admin/conditions/article/{article.pk}/history/").content.decode()
    assert history.count("Compare with now") == len(versions) == 3 and "reviewer" in history
    versions = [v for v in versions if v.field_dict.get("status") == "published"]
    first = min(versions, key=lambda v: v.revision.date_created)
    compare = client.get(f"/admin/conditions/article/{article.pk}/history/{first.pk}/compare/").content.decode()
    assert "<del>" in compare and "<ins>Completely rewritten overview text.</ins>" in compare and "Overview" in compare
    response = client.post(f"/admin/conditions/article/{article.pk}/history/{first.pk}/restore/", {"version": article.version})
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.sections.get(kind="overview").markdown == rewritten, "a live article's restore waits for review"
    draft = ArticleDraft.objects.get(article=article)
    assert draft.content["sections"]["overview"].startswith("### What is quokka fever?")
    assert "Restored the version of" in Version.objects.get_for_object(draft)[0].revision.get_comment()
    client.post("/admin/conditions/article/", {"action": "submit_for_review", "_selected_action": [article.pk]})
    client.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [article.pk]})
    article.refresh_from_db()
    overview = article.sections.get(kind="overview")
    assert overview.markdown.startswith("### What is quokka fever?") and "bone-marrow-edema" in overview.html
    assert article.status == "published" and not ArticleDraft.objects.filter(article=article).exists()


def test_deleted_article_can_be_recovered(client, reviewer, django_capture_on_commit_callbacks):
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        article = add_and_publish(client)
    data = form_data(article)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/conditions/article/{article.pk}/delete/", {"post": "yes"})
    assert not Article.objects.filter(slug="quokka-fever").exists()
    recover_list = client.get("/admin/conditions/article/recover/").content.decode()
    assert "Quokka fever" in recover_list
    deleted = Version.objects.get_deleted(Article).get(object_repr="Quokka fever")
    assert client.get(f"/admin/conditions/article/recover/{deleted.pk}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/conditions/article/recover/{deleted.pk}/", data)
    assert response.status_code == 302
    recovered = Article.objects.get(slug="quokka-fever")
    assert recovered.pk == article.pk, "recovered under its own id, so its history stays with it"
    assert recovered.sections.get(kind="overview").markdown.startswith("### What is quokka fever?")
    assert recovered.status == Article.Status.DRAFT, "a recovered article comes back as a draft"
    assert client.get("/conditions/quokka-fever/").status_code == 200  # the reviewer's preview
    client.logout()
    assert client.get("/conditions/quokka-fever/").status_code == 404
    assert get_backend().search("quokka").total == 0
    assert Version.objects.get_for_object(recovered)[0].revision.get_comment() == "Recovered as a draft"


def test_import_records_a_version_per_changed_article():
    version = Version.objects.get_for_object(Article.objects.get(slug="osteoporosis")).first()
    assert version is not None and version.revision.get_comment() == "Imported from osteoporosis.md"


# -- review dates -----------------------------------------------------------------


def test_next_review_due_and_the_overdue_filter_and_reviews_page(client, reviewer, settings):
    today = timezone.localdate()
    assert add_years(datetime.date(2024, 2, 29), 3) == datetime.date(2027, 2, 28)
    Article.objects.filter(slug="osteoporosis").update(reviewed_on=add_years(today, -4))
    Article.objects.filter(slug="osteomalacia").update(reviewed_on=add_years(today, -3) + datetime.timedelta(days=30))
    overdue = Article.objects.get(slug="osteoporosis")
    assert overdue.next_review_due == add_years(today, -1) and overdue.review_overdue
    client.force_login(reviewer)
    listing = client.get("/admin/conditions/article/", {"review": "overdue"}).content.decode()
    assert "Osteoporosis" in listing and "Osteomalacia" not in listing and "overdue" in listing
    soon = client.get("/admin/conditions/article/", {"review": "soon"}).content.decode()
    assert "Osteomalacia" in soon and "Osteoporosis</a>" not in soon
    page = client.get("/admin/conditions/article/reviews/").content.decode()
    assert page.index("Osteoporosis") < page.index("Due in the next 90 days") < page.index("Osteomalacia")
    settings.HEALTHLIB_REVIEW_INTERVAL_YEARS = 5
    assert not Article.objects.get(slug="osteoporosis").review_overdue


# -- staff preview ----------------------------------------------------------------


def test_staff_see_unpublished_articles_with_a_banner_and_the_public_gets_404(client, editor):
    article = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="s", status="review")
    article.set_sections({"overview": "Text."})
    assert client.get("/conditions/quokka-fever/").status_code == 404
    client.force_login(editor)
    response = client.get("/conditions/quokka-fever/")
    assert response.status_code == 200 and "Preview – not published." in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex" and "no-store" in response["Cache-Control"]
    assert "Preview – not published." not in client.get("/conditions/osteoporosis/").content.decode()


def test_change_form_uses_markdownx_editors_and_view_on_site(client, reviewer):
    client.force_login(reviewer)
    article = Article.objects.get(slug="bone-marrow-edema")
    html = client.get(change_url(article)).content.decode()
    assert html.count(' markdownx-editor"') == 9 and 'data-markdownx-urls-path="/markdownx/markdownify/"' in html
    view_on_site = re.search(r'href="(/admin/r/[^"]+)"[^>]*>View on site', html).group(1)
    assert client.get(view_on_site)["Location"].endswith("/conditions/bone-marrow-edema/")
    assert html.index("section_overview") < html.index("section_references") < html.index('name="status"')


# -- markdownx preview endpoint ---------------------------------------------------


def test_preview_endpoint_is_staff_only_and_renders_like_the_page(client, editor):
    text = "Hello [[bone-marrow-edema]] <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    assert client.post("/markdownx/markdownify/", {"content": text}).status_code == 403
    client.force_login(editor)
    assert client.get("/markdownx/markdownify/").status_code == 405
    html = client.post("/markdownx/markdownify/", {"content": text}).content.decode()
    assert html == render_preview(text)
    assert '<a href="/conditions/bone-marrow-edema/">Bone Marrow Edema</a>' in html
    # CommonMark refuses a javascript: link (it stays as words); nothing of it can run.
    assert "<script" not in html and "href=\"javascript:" not in html and "onerror" not in html
    plain = User.objects.create_user("nobody", password="x")
    client.force_login(plain)
    assert client.post("/markdownx/markdownify/", {"content": "x"}).status_code == 403


# -- image upload -----------------------------------------------------------------


def image_bytes(fmt, size=(640, 400), mode="RGB", **save):
    buffer = io.BytesIO()
    Image.new(mode, size, "teal").save(buffer, fmt, **save)
    return buffer.getvalue()


def upload(client, data, name="photo.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/markdownx/upload/", {"image": SimpleUploadedFile(name, data)}, headers={"x-requested-with": "XMLHttpRequest"})


def stored(response):
    image = ArticleImage.objects.get(pk=response.json()["url"].split("/")[3])
    with default_storage.open(image.file_name()) as handle:
        return image, Image.open(io.BytesIO(handle.read()))


@pytest.mark.parametrize("fmt, name, ext", [("JPEG", "a.jpg", "jpg"), ("PNG", "a.png", "png"), ("WEBP", "a.webp", "webp"),
                                            ("GIF", "a.gif", "gif"), ("PNG", "misnamed.jpg", "png")])
def test_upload_accepts_real_images_and_names_them_by_their_decoded_format(client, editor, fmt, name, ext):
    client.force_login(editor)
    response = upload(client, image_bytes(fmt), name)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["image_code"] == f"![]({body['url']})" and body["url"].endswith(f"/original.{ext}")
    image, decoded = stored(response)
    assert decoded.format == fmt and (image.width, image.height) == (640, 400) and image.renditions == [480]
    assert default_storage.exists(image.file_name(480))
    assert client.get(body["url"]).status_code == 200, "media are served in the embedded default"


def test_upload_applies_orientation_strips_exif_and_gps_and_caps_size(client, editor):
    client.force_login(editor)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotated 90°: the picture is taller than the pixels are
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    exif[ExifTags.Base.Make] = "TestCam"
    data = image_bytes("JPEG", size=(3000, 2000), exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test file really carries GPS"
    response = upload(client, data)
    image, decoded = stored(response)
    assert (decoded.width, decoded.height) == (1600, 2400), "upright (portrait) and capped at 2400 px"
    assert not decoded.getexif() and "exif" not in decoded.info
    assert image.renditions == [480, 960, 1440]
    with default_storage.open(image.file_name(960)) as handle:
        rendition = Image.open(io.BytesIO(handle.read()))
    assert rendition.format == "WEBP" and rendition.size == (960, 1440) and not rendition.getexif()


def png_16bit_rgb(pixels):
    """A 48-bit RGB PNG (one row of 16-bit ``(r, g, b)`` pixels), written chunk by chunk:
    Pillow reads such files but cannot write them."""
    raw = b"\x00" + b"".join(struct.pack(">HHH", *pixel) for pixel in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", len(pixels), 1, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_a_16_bit_greyscale_png_is_stored_as_the_same_picture_in_8_bits(client, editor):
    """Issue 18, point 5: as medical imaging software exports them; not clipped to white."""
    scan = Image.new("I;16", (4, 1))
    scan.putdata([0, 1000, 30000, 65535])
    buffer = io.BytesIO()
    scan.save(buffer, "PNG")
    client.force_login(editor)
    response = upload(client, buffer.getvalue(), "scan.png")
    assert response.status_code == 200, response.content
    _, decoded = stored(response)
    assert decoded.mode == "L" and list(decoded.get_flattened_data()) == [0, 4, 117, 255]


def test_a_camera_mpo_is_accepted_as_a_jpeg_with_its_first_picture(client, editor):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 48), "blue")])
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"
    client.force_login(editor)
    response = upload(client, buffer.getvalue(), "IMG_0001.JPG")
    assert response.status_code == 200, response.content
    assert response.json()["url"].endswith("/original.jpg")
    _, decoded = stored(response)
    assert decoded.format == "JPEG" and decoded.getpixel((32, 24))[0] > 200, "the first picture (red)"


def animated_webp():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "WEBP", save_all=True, append_images=[Image.new("RGB", (40, 30), "blue")])
    return buffer.getvalue()


@pytest.mark.parametrize("data, name, ext, colour", [
    (png_16bit_rgb([(65535, 0, 32896)] * 8), "deep.png", "png", (255, 0, 128)),
    (image_bytes("JPEG", size=(40, 30), mode="CMYK"), "print.jpg", "jpg", None),
    (animated_webp(), "moving.webp", "webp", (255, 0, 0)),
])
def test_camera_scanner_and_print_files_are_stored_as_the_same_picture(client, editor, data, name, ext, colour):
    client.force_login(editor)
    response = upload(client, data, name)
    assert response.status_code == 200, response.content
    assert response.json()["url"].endswith(f"/original.{ext}")
    _, decoded = stored(response)
    assert decoded.mode in ("RGB", "RGBA", "L")
    if colour:
        assert all(abs(a - b) <= 3 for a, b in zip(decoded.getpixel((0, 0)), colour)), decoded.getpixel((0, 0))


def every_mode_file():
    """``(format, mode, bytes)`` for every mode Pillow writes in each accepted format (and
    so may meet in an upload); the modes it cannot write in that format are no real files."""
    for fmt in ("JPEG", "PNG", "WEBP", "GIF"):
        for mode in sorted(Image.MODES) + ["I;16", "I;16B", "BGR;24"]:
            buffer = io.BytesIO()
            try:
                Image.new(mode, (20, 10)).save(buffer, fmt)
            except (OSError, ValueError, KeyError):
                continue
            yield fmt, mode, buffer.getvalue()


@pytest.mark.parametrize("fmt, mode, data", list(every_mode_file()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_mode_pillow_opens_is_converted_or_refused_with_a_message(client, editor, fmt, mode, data):
    client.force_login(editor)
    response = upload(client, data, f"file.{fmt.lower()}")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["image"][0] and ArticleImage.objects.count() == 0
        return
    _, decoded = stored(response)
    assert decoded.mode in ("L", "LA", "RGB", "RGBA", "P") and decoded.size == (20, 10)


def bomb(size):
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, "PNG")  # tens of megapixels in a file of a few kilobytes
    return buffer.getvalue()


@pytest.mark.parametrize("data, name, status, message", [
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>', "x.svg", 400, "SVG is not accepted"),
    (b"This is a text file, not a picture.", "holiday.jpg", 400, "not an image we can read"),
    (b"", "empty.png", 400, "empty"),
    (image_bytes("JPEG", size=(800, 800))[:600], "cut.jpg", 400, "damaged or incomplete"),
    (image_bytes("BMP"), "old.bmp", 400, "BMP images are not accepted"),
    (image_bytes("TIFF"), "renamed.png", 400, "TIFF images are not accepted"),
    (bomb((12_000, 12_000)), "bomb.png", 400, "decompression bomb"),
    (bomb((7_100, 7_100)), "huge.png", 400, "too large to process"),
])
def test_upload_refuses_bad_files_with_a_clear_message(client, editor, data, name, status, message):
    client.force_login(editor)
    response = upload(client, data, name)
    assert response.status_code == status
    assert message in response.json()["image"][0]
    assert ArticleImage.objects.count() == 0


def test_upload_refuses_oversized_files_and_strangers(client, editor, settings):
    assert upload(client, image_bytes("PNG")).status_code == 403, "anonymous"
    client.force_login(User.objects.create_user("visitor", password="x"))
    assert upload(client, image_bytes("PNG")).status_code == 403, "signed in but not staff"
    client.force_login(editor)
    settings.HEALTHLIB_MAX_IMAGE_BYTES = 1000
    # Within the request-size limit (the limit + 1 MiB), refused by the image checks themselves:
    response = upload(client, image_bytes("PNG", size=(300, 300), mode="RGB", compress_level=0))
    assert response.status_code == 413 and "the limit is" in response.json()["image"][0]
    # Beyond it, refused by RequestSizeLimitMiddleware before the body is read, in the editor's JSON shape:
    response = upload(client, image_bytes("PNG", size=(900, 900), mode="RGB", compress_level=0))
    assert response.status_code == 413 and response.json()["image"][0]
    assert client.post("/markdownx/upload/", {}).status_code == 400
    assert client.get("/markdownx/upload/").status_code == 405


def test_article_page_serves_uploaded_images_responsively_and_drops_foreign_ones(client, reviewer):
    client.force_login(reviewer)
    url = upload(client, image_bytes("JPEG", size=(2000, 1000))).json()["url"]
    article = Article.objects.get(slug="bone-marrow-edema")
    overview = article.sections.get(kind="overview").markdown
    article.set_sections({**{s.kind: s.markdown for s in article.sections.all()},
                          "overview": overview + f"\n\n![An MRI of a knee]({url})\n\n![tracker](https://evil.example/pixel.gif)"
                                                 '\n\n<img src="https://evil.example/a.png" alt="raw">'})
    client.logout()
    html = client.get("/conditions/bone-marrow-edema/").content.decode()
    assert f'src="{url}"' in html and 'alt="An MRI of a knee"' in html and 'width="2000"' in html and 'height="1000"' in html
    assert 'loading="lazy"' in html and "480w" in html and "1440w" in html and 'sizes="' in html
    # (A line that starts with <img> is an HTML block in CommonMark: its alt text stands alone.)
    assert "evil.example" not in html and "tracker" in html and "\nraw\n" in html, "foreign images become their alt text"


@pytest.mark.parametrize("template", [
    '<img src="https://tracker.example{path}?u=reader" alt="Knee MRI">',  # the case of issue 18
    '<img src="https://tracker.example{path}" alt="Knee MRI">',
    '<img src="//tracker.example{path}" alt="Knee MRI">',  # scheme-relative
    '<img src="{path}?u=reader" alt="Knee MRI">',  # our path, a query added
    '<img src="{path}#x" alt="Knee MRI">',
    '<img src="/elsewhere{path}" alt="Knee MRI">',
    '<img src="{path}/../../../x.png" alt="Knee MRI">',
    '<img src="{other}" alt="Knee MRI">',  # our store's form, but no such image
    '<img src="{path}" srcset="https://tracker.example{path} 2x" alt="Knee MRI">',  # a foreign srcset candidate
    "![Knee MRI](https://tracker.example{path}?u=reader)",
    "![Knee MRI](//tracker.example{path})",
])
def test_only_the_librarys_own_image_addresses_are_shown_in_page_and_api(client, reviewer, template):
    """Issue 18, point 6: the address is parsed, not searched, in src and srcset."""
    client.force_login(reviewer)
    path = upload(client, image_bytes("PNG", size=(600, 300))).json()["url"]
    other = path.replace(path.split("/")[3], "0" * 32)
    article = Article.objects.get(slug="bone-marrow-edema")
    sections = {s.kind: s.markdown for s in article.sections.all()}
    article.set_sections({**sections, "overview": sections["overview"] + "\n\n" + template.format(path=path, other=other)})
    client.logout()
    page = client.get("/conditions/bone-marrow-edema/").content.decode()
    api = " ".join(s["html"] for s in client.get("/api/v1/articles/bone-marrow-edema/").json()["sections"])
    for html in (page, api):
        assert "tracker.example" not in html and "u=reader" not in html and "0" * 32 not in html
        assert "Knee MRI" in html, "the words stay"
    if "srcset" in template:  # the src alone was ours: the picture stays, without the foreign candidate
        assert f'src="{path}"' in page


def test_the_librarys_own_images_in_raw_html_are_kept(client, reviewer):
    client.force_login(reviewer)
    path = upload(client, image_bytes("PNG", size=(600, 300))).json()["url"]
    article = Article.objects.get(slug="bone-marrow-edema")
    sections = {s.kind: s.markdown for s in article.sections.all()}
    rendition = path.replace("original.png", "480.webp")
    article.set_sections({**sections, "overview": sections["overview"] + f'\n\n<img src="{path}" srcset="{rendition} 480w" alt="Knee MRI">'})
    html = Article.objects.get(slug="bone-marrow-edema").sections.get(kind="overview").html
    assert f'src="{path}"' in html and f'srcset="{rendition} 480w"' in html


def test_stored_images_do_not_keep_the_client_name_on_disk(client, editor):
    client.force_login(editor)
    response = upload(client, image_bytes("PNG"), "../../etc/passwd.png")
    image, _ = stored(response)
    assert os.path.basename(default_storage.path(image.file_name())) == "original.png"
    assert image.original_name == "passwd.png"  # kept only as a label


def test_restore_touches_only_its_own_article_when_a_revision_holds_several(client, reviewer):
    client.force_login(reviewer)
    first = Article.objects.create(title="First Draft", slug="first-draft", summary="First summary.", status="review")
    first.set_sections({"overview": "First text."})
    second = Article.objects.create(title="Second Draft", slug="second-draft", summary="Second summary.", status="review")
    second.set_sections({"overview": "Second text."})
    with reversion.create_revision():  # one revision holding both articles (as an import makes)
        for article in (first, second):
            article.save()
    shared = Version.objects.get_for_object(first).first()
    assert {v.object_id for v in shared.revision.version_set.all() if v.content_type.model == "article"} == {str(first.pk), str(second.pk)}
    for article, text in ((first, "First edited."), (second, "Second edited.")):
        article.refresh_from_db()
        client.post(change_url(article), form_data(article, section_overview=text))
    compare = client.get(f"/admin/conditions/article/{first.pk}/history/{shared.pk}/compare/").content.decode()
    diff = compare.split('<table class="diff">', 1)[1].split("</table>", 1)[0]
    assert "First" in diff and "Second" not in diff, "the other article's sections stay out of the diff"
    client.post(f"/admin/conditions/article/{first.pk}/history/{shared.pk}/restore/", {"version": Article.objects.get(pk=first.pk).version})
    assert Article.objects.get(pk=first.pk).sections.get(kind="overview").markdown == "First text."
    assert Article.objects.get(pk=second.pk).sections.get(kind="overview").markdown == "Second edited.", "left alone"


def test_reversions_own_revert_page_is_gone_and_bad_ids_are_404(client, editor):
    client.force_login(editor)
    article = Article.objects.get(slug="osteoporosis")
    version = Version.objects.get_for_object(article).first()
    url = f"/admin/conditions/article/{article.pk}/history/{version.pk}/"
    assert client.get(url, follow=True).status_code == 404 or "doesn’t exist" in client.get(url, follow=True).content.decode()
    before = Article.objects.get(pk=article.pk).status
    assert client.post(url, form_data(article, status="draft")).status_code in (302, 404), "nothing answers there any more"
    assert Article.objects.get(pk=article.pk).status == before
    assert client.get("/admin/conditions/article/abc/history/").status_code == 404
    assert client.get("/admin/conditions/article/abc/history/1/compare/").status_code == 404
