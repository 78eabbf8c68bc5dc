"""The editorial workflow a medical team can trust (issue 16): no lost edits, drafts of live
articles, a real review gate, honest history and dates, and accounts that work."""

import datetime
import html
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from reversion.models import Version

from conditions.models import Article, ArticleDraft
from conditions.search import get_backend

from .test_editors import change_url, form_data

pytestmark = pytest.mark.django_db

LIVE = "osteoporosis"
CHANGELIST = "/admin/conditions/article/"


def opened(client, article):
    """What the change form carries when ``client`` opens ``article``: its hidden version fields."""
    page = client.get(change_url(article)).content.decode()
    version = re.search(r'name="opened_version" value="(\d+)"', page).group(1)
    content = html.unescape(re.search(r'name="opened_content" value="([^"]*)"', page).group(1))
    return {"opened_version": version, "opened_content": content}


def login(user):
    client = Client()
    client.force_login(user)
    return client


def draft_article(**fields):
    article = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="A made-up condition.", **fields)
    article.set_sections({"overview": "Quokkas are marsupials.", "key-points": "- Only a test."})
    return article


# -- 1. edit conflicts ---------------------------------------------------------------


def test_a_save_against_a_newer_version_is_refused_and_keeps_the_text(editor, reviewer):
    article = draft_article()
    first, second = login(editor), login(reviewer)
    seen_by_first, seen_by_second = opened(first, article), opened(second, article)
    saved = second.post(change_url(article), {**form_data(article, summary="The reviewer's summary."), **seen_by_second})
    assert saved.status_code == 302
    refused = first.post(change_url(article), {**form_data(article, summary="The editor's summary."), **seen_by_first})
    page = refused.content.decode()
    assert refused.status_code == 200 and "reviewer changed this article on" in page and "Nothing was saved" in page
    assert "The editor&#x27;s summary." in page or "The editor's summary." in page, "the editor's text is kept in the form"
    assert "<ins>reviewer&#x27;s</ins>" in page or "<ins>The reviewer&#x27;s summary.</ins>" in page, "their change, section by section"
    assert Article.objects.get(pk=article.pk).summary == "The reviewer's summary.", "nothing was overwritten"
    # A crafted POST with an old version number is refused the same way.
    crafted = first.post(change_url(article), form_data(article, summary="Crafted.", opened_version=1))
    assert crafted.status_code == 200 and Article.objects.get(pk=article.pk).summary == "The reviewer's summary."


def test_two_editors_on_the_pending_changes_of_a_live_article_do_not_overwrite_each_other(editor, reviewer):
    live = Article.objects.get(slug=LIVE)
    first, second = login(editor), login(reviewer)
    seen_by_first, seen_by_second = opened(first, live), opened(second, live)
    assert second.post(change_url(live), {**form_data(live, summary="Second's change."), **seen_by_second}).status_code == 302
    refused = first.post(change_url(live), {**form_data(live, summary="First's change."), **seen_by_first})
    assert refused.status_code == 200 and "changed this article on" in refused.content.decode()
    assert ArticleDraft.objects.get(article=live).content["summary"] == "Second's change."


def test_a_list_action_leaves_alone_an_article_changed_since_the_list_was_shown(reviewer):
    article = draft_article(status="review")
    client = login(reviewer)
    shown = article.version
    Article.objects.get(pk=article.pk).claim_version(shown, reviewer)  # someone saved it meanwhile
    response = client.post(CHANGELIST, {"action": "publish", "_selected_action": [article.pk], f"_version_{article.pk}": shown}, follow=True)
    text = " ".join(str(message) for message in response.context["messages"])
    assert "Published: 0 article(s)." in text and "1 changed by someone else since the list was shown" in text
    assert Article.objects.get(pk=article.pk).status == "review"


# -- 2. drafts of live articles ------------------------------------------------------------


def test_an_edit_of_a_live_article_waits_as_a_draft_until_a_reviewer_publishes_it(editor, reviewer, django_capture_on_commit_callbacks):
    live = Article.objects.get(slug=LIVE)
    before_summary, before_updated = live.summary, live.updated_at
    page_before = Client().get(live.get_absolute_url()).content.decode()
    editor_client = login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(change_url(live), form_data(live, summary="Osteoporosis makes bones thin and fragile (draft)."))
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.summary == before_summary and live.updated_at == before_updated, "live text and dates untouched"
    # Everything public still shows the published version.
    assert "(draft)" not in Client().get(live.get_absolute_url()).content.decode()
    assert Client().get(live.get_absolute_url()).content.decode().count(before_summary[:40]) >= 1
    assert "(draft)" not in Client().get(f"/api/v1/articles/{LIVE}/").content.decode()
    assert "(draft)" not in Client().get("/feeds/articles/").content.decode()
    assert "(draft)" not in " ".join(hit.summary for hit in get_backend().search("osteoporosis")[:3])
    # The admin says where it stands, shows the difference, and offers the next steps.
    form = editor_client.get(change_url(live)).content.decode()
    assert "Published, with unpublished changes" in form and "<ins>" in form and "(draft).</ins>" in form
    assert "Save and submit the changes for review" in form and "Discard the unpublished changes" in form
    assert "Publish the changes" not in form, "editors do not publish"
    preview = editor_client.get(f"/admin/conditions/article/{live.pk}/preview-changes/")
    assert preview.status_code == 200 and "(draft)" in preview.content.decode() and "Preview of unpublished changes" in preview.content.decode()
    assert Client().get(f"/admin/conditions/article/{live.pk}/preview-changes/").status_code == 302, "the public is sent to sign in"
    # Submit, then a reviewer publishes: now it is live, and History records both.
    editor_client.post(change_url(live), form_data(live, summary="Osteoporosis makes bones thin and fragile (draft).", _submit_changes="1"))
    assert ArticleDraft.objects.get(article=live).status == "review"
    assert "Published, with unpublished changes in review" in login(reviewer).get(CHANGELIST).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        published = login(reviewer).post(change_url(live), form_data(live, summary="Osteoporosis makes bones thin and fragile (draft).",
                                                                       _publish_changes="1"))
    assert published.status_code == 302
    live.refresh_from_db()
    assert live.summary.endswith("(draft).") and live.approved_by == reviewer and live.updated_at > before_updated
    assert not ArticleDraft.objects.filter(article=live).exists()
    assert "(draft)" in Client().get(live.get_absolute_url()).content.decode()
    assert page_before != Client().get(live.get_absolute_url()).content.decode()
    comments = [v.revision.get_comment() for v in Version.objects.get_for_object_reference(ArticleDraft, live.pk)]
    assert comments, "the draft's saves are in History"
    assert any("Published the changes" in v.revision.get_comment() for v in Version.objects.get_for_object(live))


def test_unpublished_changes_can_be_discarded(editor):
    live = Article.objects.get(slug=LIVE)
    client = login(editor)
    client.post(change_url(live), form_data(live, summary="A change to throw away."))
    assert ArticleDraft.objects.filter(article=live).exists()
    response = client.post(change_url(live), form_data(live, summary="A change to throw away.", _discard_changes="1"), follow=True)
    assert "Discarded the unpublished changes" in response.content.decode()
    assert not ArticleDraft.objects.filter(article=live).exists() and Article.objects.get(pk=live.pk).summary != "A change to throw away."


@pytest.mark.parametrize("role", ["anonymous", "editor", "reviewer", "superuser"])
def test_permission_matrix_for_drafts_of_live_articles(role, editor, reviewer):
    live = Article.objects.get(slug=LIVE)
    users = {"editor": editor, "reviewer": reviewer,
             "superuser": User.objects.create_superuser("chief", password="x")}
    client = login(users[role]) if role in users else Client()
    edit = client.post(change_url(live), form_data(live, summary="Changed by " + role))
    draft = ArticleDraft.objects.filter(article=live).first()
    preview = client.get(f"/admin/conditions/article/{live.pk}/preview-changes/")
    if role == "anonymous":
        assert edit.status_code == 302 and "/login/" in edit["Location"] and draft is None
        assert preview.status_code == 302 and "/login/" in preview["Location"]
        return
    assert edit.status_code == 302 and draft is not None and draft.content["summary"] == "Changed by " + role, "edit live → a draft"
    assert preview.status_code == 200
    client.post(change_url(live), form_data(live, summary="Changed by " + role, _submit_changes="1"))
    publish = client.post(change_url(live), form_data(live, summary="Changed by " + role, _publish_changes="1"))
    if role == "editor":
        assert publish.status_code == 200 and "Only a medical reviewer" in publish.content.decode()
        assert Article.objects.get(pk=live.pk).summary != "Changed by editor"
        discard = client.post(change_url(live), form_data(live, summary="Changed by editor", _discard_changes="1"))
        assert discard.status_code == 302 and not ArticleDraft.objects.filter(article=live).exists(), "editors may discard"
    else:
        assert publish.status_code == 302 and Article.objects.get(pk=live.pk).summary == "Changed by " + role


# -- 3. the review gate ---------------------------------------------------------------------


def test_a_draft_is_published_only_after_it_was_submitted(reviewer, editor):
    article = draft_article()
    client = login(reviewer)
    refused = client.post(change_url(article), form_data(article, status="published"))
    assert refused.status_code == 200 and "Submit the article for review first" in refused.content.decode()
    response = client.post(CHANGELIST, {"action": "publish", "_selected_action": [article.pk]}, follow=True)
    assert "Submit the article for review first" in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == "draft"
    login(editor).post(CHANGELIST, {"action": "submit_for_review", "_selected_action": [article.pk]})
    article.refresh_from_db()
    assert article.status == "review" and article.submitted_by == editor and article.submitted_at
    waiting = client.get("/admin/conditions/article/waiting/").content.decode()
    assert "Quokka fever" in waiting and "editor" in waiting
    client.post(change_url(article), form_data(article, status="published"))
    article.refresh_from_db()
    assert article.status == "published" and article.approved_by == reviewer and article.approved_at


@pytest.mark.parametrize("problem, overrides, message", [
    ("a link to a deleted article", {"section_overview": "See [[gone-article]]."}, "[[gone-article]]"),
    ("a review date in the future", {"reviewed_on": "2999-01-01", "reviewed_by": "Dr Test"}, "is in the future"),
    ("an empty summary", {"summary": " "}, None),
])
def test_publishing_runs_blocking_checks_whatever_the_route(reviewer, problem, overrides, message):
    article = draft_article(status="review")
    if "gone-article" in overrides.get("section_overview", ""):
        gone = Article.objects.create(title="Gone", slug="gone-article", summary="s", status="published")
        article.set_sections({"overview": "See [[gone-article]].", "key-points": "- Only a test."})
        gone.delete()  # deleted a moment ago: a form save never checked it
    client = login(reviewer)
    response = client.post(change_url(article), form_data(article, status="published", **overrides))
    assert response.status_code == 200 and Article.objects.get(pk=article.pk).status == "review", problem
    if message:
        assert message in html.unescape(response.content.decode()), problem
    if problem == "a link to a deleted article":
        listed = client.post(CHANGELIST, {"action": "publish", "_selected_action": [article.pk]}, follow=True)
        assert "links to an article that is missing" in html.unescape(listed.content.decode())
        assert Article.objects.get(pk=article.pk).status == "review"


def test_return_to_draft_needs_a_comment_the_editor_then_sees(reviewer, editor):
    article = draft_article(status="review")
    client = login(reviewer)
    asked = client.post(CHANGELIST, {"action": "return_to_draft", "_selected_action": [article.pk]})
    assert asked.status_code == 200 and "Comment for the editor" in asked.content.decode()
    assert Article.objects.get(pk=article.pk).status == "review"
    client.post(CHANGELIST, {"action": "return_to_draft", "apply": "1", "comment": "Please cite the 2024 guideline.",
                             "_selected_action": [article.pk]})
    assert Article.objects.get(pk=article.pk).status == "draft"
    form = login(editor).get(change_url(article)).content.decode()
    assert "Reviewer’s comment:" in form and "Please cite the 2024 guideline." in form


# -- 4. honest history and dates ------------------------------------------------------------


def test_a_save_that_changes_nothing_records_nothing_and_moves_no_date(reviewer):
    live = Article.objects.get(slug=LIVE)
    client = login(reviewer)
    versions, logs, updated = Version.objects.get_for_object(live).count(), LogEntry.objects.count(), live.updated_at
    data = form_data(live)
    data = {key: value.replace("\n", "\r\n") if isinstance(value, str) else value for key, value in data.items()}  # as browsers send
    response = client.post(change_url(live), data, follow=True)
    assert "Nothing changed" in response.content.decode()
    live.refresh_from_db()
    assert Version.objects.get_for_object(live).count() == versions and LogEntry.objects.count() == logs and live.updated_at == updated
    assert not ArticleDraft.objects.filter(article=live).exists()


def test_history_names_only_what_changed_and_drafts_move_no_public_date(editor):
    article = draft_article()
    client = login(editor)
    updated = article.updated_at
    client.post(change_url(article), form_data(article, summary="A better summary."))
    entry = LogEntry.objects.filter(object_id=str(article.pk)).latest("action_time")
    assert "Summary" in entry.get_change_message() and "Also known as" not in entry.get_change_message()
    assert Article.objects.get(pk=article.pk).updated_at == updated, "a draft's edits change nothing public"


def test_list_action_counts_are_honest_on_a_filtered_list(reviewer):
    article = draft_article(status="review")
    client = login(reviewer)
    response = client.post(CHANGELIST + "?status__exact=review", {"action": "publish", "_selected_action": [article.pk]}, follow=True)
    text = " ".join(str(message) for message in response.context["messages"])
    assert "Published: 1 article(s)." in text and "-1" not in text and "left as they were" not in text


# -- 5. accounts -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["user.groups.add", "group.user_set.add"])
def test_joining_an_editorial_group_makes_a_user_staff_so_they_can_sign_in(how):
    user = User.objects.create_user("newcomer", password="a long test password")
    group = Group.objects.get(name="Editor")
    if how == "user.groups.add":
        user.groups.add(group)
    else:
        group.user_set.add(user)
    user.refresh_from_db()
    assert user.is_staff
    client = Client()
    response = client.post("/admin/login/", {"username": "newcomer", "password": "a long test password", "next": "/admin/"})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_review_dates_in_the_future_are_refused_at_publish_time_only():
    """A future date can be typed into a draft (and corrected) but never published."""
    article = draft_article(status="review", reviewed_on=timezone.localdate() + datetime.timedelta(days=30))
    from conditions import workflow

    with pytest.raises(workflow.WorkflowError, match="in the future"):
        workflow.publish(article, User.objects.create_superuser("chief", password="x"))
    assert Article.objects.get(pk=article.pk).status == "review"


def test_restoring_an_old_version_while_changes_are_pending_replaces_the_changes_not_the_live_text(reviewer):
    live = Article.objects.get(slug=LIVE)
    client = login(reviewer)
    client.post(change_url(live), form_data(live, summary="Pending change."))
    oldest = Version.objects.get_for_object(live).last()
    live.refresh_from_db()
    before = live.summary
    response = client.post(f"/admin/conditions/article/{live.pk}/history/{oldest.pk}/restore/", {"version": live.version}, follow=True)
    assert response.status_code == 200 and "unpublished changes" in response.content.decode()
    assert Article.objects.get(pk=live.pk).summary == before
    assert ArticleDraft.objects.get(article=live).content["summary"] == oldest.field_dict["summary"]


def test_a_reviewer_records_a_review_on_a_live_article(reviewer):
    live = Article.objects.get(slug=LIVE)
    client = login(reviewer)
    response = client.post(change_url(live), form_data(live, reviewed_on="2026-11-01", reviewed_by="Dr A. Reviewer"), follow=True)
    assert "Recorded the medical review" in response.content.decode()
    live.refresh_from_db()
    assert (live.reviewed_on.isoformat(), live.reviewed_by) == ("2026-11-01", "Dr A. Reviewer")
    assert "Last reviewed on November 1, 2026" in Client().get(live.get_absolute_url()).content.decode()
    future = client.post(change_url(live), form_data(live, reviewed_on="2999-01-01", reviewed_by="Dr A. Reviewer"))
    assert future.status_code == 200 and "cannot be in the future" in future.content.decode()


def test_unpublishing_folds_the_pending_changes_into_the_article(editor, reviewer):
    live = Article.objects.get(slug=LIVE)
    login(editor).post(change_url(live), form_data(live, summary="Pending text."))  # saved, not submitted
    login(reviewer).post(CHANGELIST, {"action": "return_to_draft", "apply": "1", "comment": "Withdrawn for rework.",
                                      "_selected_action": [live.pk]})
    live.refresh_from_db()
    assert live.status == "draft" and live.summary == "Pending text."
    assert not ArticleDraft.objects.filter(article=live).exists()
    assert "Pending text" not in login(reviewer).get("/admin/conditions/article/waiting/").content.decode()


def test_a_restore_over_changes_in_review_sends_them_back_to_draft(editor, reviewer):
    live = Article.objects.get(slug=LIVE)
    login(editor).post(change_url(live), form_data(live, summary="Submitted text.", _submit_changes="1"))
    assert ArticleDraft.objects.get(article=live).status == "review"
    oldest = Version.objects.get_for_object(live).last()
    live.refresh_from_db()
    login(editor).post(f"/admin/conditions/article/{live.pk}/history/{oldest.pk}/restore/", {"version": live.version})
    draft = ArticleDraft.objects.get(article=live)
    assert draft.status == "draft" and draft.submitted_by is None, "text nobody submitted is not in review"


def test_the_preview_of_changes_has_its_section_headings(editor):
    live = Article.objects.get(slug=LIVE)
    client = login(editor)
    client.post(change_url(live), form_data(live, summary="Changed."))
    page = client.get(f"/admin/conditions/article/{live.pk}/preview-changes/").content.decode()
    assert re.search(r"<h2[^>]*>\s*Overview\s*</h2>", page)
