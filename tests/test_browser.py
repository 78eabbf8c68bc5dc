"""Real-browser checks: Playwright driving Debian's Chromium against a live server.

Skipped when Chromium is missing, unless HEALTHLIB_REQUIRE_BROWSER=1 (as in CI), where a
missing browser fails the run instead.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [360, 1280])
def test_table_of_contents_link_brings_section_into_view(browser, site, width):
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(f"{site}/conditions/bone-marrow-edema/")
    assert page.locator("h1").inner_text() == "Bone Marrow Edema"
    if width < 1024:
        page.get_by_text("Contents", exact=True).first.click()  # the disclosure on phones
        toc = page.locator("nav.toc--compact")
    else:
        toc = page.locator("nav.toc--sidebar")
    toc.get_by_role("link", name="Diagnosis and Tests").click()
    heading = page.locator("h2#diagnosis-and-tests")
    page.wait_for_function("() => location.hash === '#diagnosis-and-tests'")
    page.wait_for_function(
        "() => { const r = document.getElementById('diagnosis-and-tests').getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight / 2; }"
    )
    assert heading.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scrolling"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"article-toc-{width}.png")
    page.close()


def test_header_search_suggestion_picked_with_keyboard(browser, site):
    from conditions.models import Article
    from conditions.search import get_backend
    from conditions.search.documents import SearchDocument

    get_backend().rebuild(SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories"))
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{site}/")
    box = page.locator("#header-search-q")
    box.click()
    box.press_sequentially("oste", delay=50)
    listbox = page.get_by_role("listbox")
    listbox.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    options = page.get_by_role("option")
    assert options.first.inner_text() == "Osteoarthritis"
    box.press("ArrowDown")
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.nth(1).get_attribute("id")
    expected = options.nth(1).inner_text()
    box.press("Enter")
    page.wait_for_url("**/conditions/osteomalacia/")
    assert page.locator("h1").inner_text() == expected == "Osteomalacia"
    page.close()


def test_header_search_form_works_without_javascript(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/")
    page.locator("#header-search-q").fill("torn acl")
    page.locator("#header-search-q").press("Enter")
    page.wait_for_url("**/search/?q=torn+acl")
    assert page.locator("h1").inner_text() == "Search results for “torn acl”"
    context.close()


def _png_base64(size=(1200, 800)):
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


DROP_FILE = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type}));
  document.querySelector('#id_section_overview').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def test_editor_live_preview_and_image_upload_in_the_admin(browser, site):
    from django.contrib.auth.models import User

    User.objects.create_superuser("chief", password="a long test password")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = []  # the admin and the markdownx editor must work under the site's CSP
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", "a long test password")
    page.click("input[type=submit]")
    page.goto(f"{site}/admin/conditions/article/")
    page.get_by_role("link", name="Bone Marrow Edema", exact=True).click()
    editor = page.locator("#id_section_overview")
    editor.click()
    editor.press("Control+End")
    editor.press_sequentially("\n\n### A heading typed in the browser\n\nSee [[osteoporosis]].", delay=5)
    preview = page.locator("#id_section_overview ~ .markdownx-preview")
    preview.locator("h3#a-heading-typed-in-the-browser").wait_for()
    assert preview.locator('a[href="/conditions/osteoporosis/"]').last.inner_text() == "Osteoporosis"

    # A refused upload says why and leaves the text as it was.
    before = editor.input_value()
    page.evaluate(DROP_FILE, ["PHN2Zz48L3N2Zz4=", "drawing.svg", "image/svg+xml"])
    alert = page.locator(".field-section_overview .markdownx-upload-error")
    alert.wait_for(state="visible")
    assert "SVG is not accepted" in alert.inner_text()
    page.wait_for_function("(before) => document.querySelector('#id_section_overview').value === before", arg=before)

    # A real picture is uploaded, inserted, described and published with its renditions.
    page.evaluate(DROP_FILE, [_png_base64(), "scan.png", "image/png"])
    page.wait_for_function("() => document.querySelector('#id_section_overview').value.includes('![](/media/images/')")
    assert alert.is_hidden()
    editor.evaluate("(e) => { e.value = e.value.replace('![](', '![A navy test picture]('); }")
    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    # A live article's edit waits as unpublished changes: submitted, then published by a reviewer.
    page.click("input[name=_submit_changes]")
    page.locator(".messagelist .success").wait_for()
    page.click("input[name=_publish_changes]")
    page.locator(".messagelist .success").wait_for()
    page.goto(f"{site}/conditions/bone-marrow-edema/")
    image = page.locator("img[alt='A navy test picture']")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector(\"img[alt='A navy test picture']\"); return i && i.complete && i.naturalWidth > 0; }")
    assert "480w" in image.get_attribute("srcset") and image.get_attribute("loading") == "lazy"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "article-with-uploaded-image.png")
    assert not blocked, blocked
    page.close()


def test_two_editors_in_two_browsers_see_the_conflict_and_lose_nothing(browser, site):
    from django.contrib.auth.models import User

    for name in ("ann", "bob"):  # (a live server's database starts empty: no editorial groups)
        User.objects.create_superuser(name, password="a long test password")
    pages = []
    for name in ("ann", "bob"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{site}/admin/login/")
        page.fill("#id_username", name)
        page.fill("#id_password", "a long test password")
        page.click("input[type=submit]")
        page.goto(f"{site}/admin/conditions/article/")
        page.get_by_role("link", name="Stress Fracture", exact=True).click()
        pages.append(page)
    ann, bob = pages
    ann.fill("#id_summary", "Ann's summary of stress fractures.")
    ann.click("input[name=_continue]")
    ann.locator(".messagelist .success").wait_for()
    bob.fill("#id_summary", "Bob's summary of stress fractures.")
    bob.click("input[name=_continue]")
    conflict = bob.locator(".edit-conflict")
    conflict.wait_for()
    assert "ann changed this article on" in conflict.inner_text()
    assert "Ann's" in conflict.locator("ins").first.inner_text()
    assert bob.locator("#id_summary").input_value() == "Bob's summary of stress fractures.", "Bob's text is still there"
    ARTIFACTS.mkdir(exist_ok=True)
    bob.screenshot(path=ARTIFACTS / "edit-conflict.png", full_page=True)
    from conditions.models import ArticleDraft

    assert ArticleDraft.objects.get(article__slug="stress-fracture").content["summary"] == "Ann's summary of stress fractures."
    for page in pages:
        page.context.close()


def test_renaming_an_article_in_the_admin_keeps_its_old_address_working(browser, site):
    from django.contrib.auth.models import User

    User.objects.create_superuser("chief", password="a long test password")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", "a long test password")
    page.click("input[type=submit]")
    page.goto(f"{site}/admin/conditions/article/")
    page.get_by_role("link", name="Heel Pain", exact=True).click()
    page.fill("#id_slug", "heel-pain-explained")
    page.click("input[name=_submit_changes]")  # a live article: the rename waits for review
    page.locator(".messagelist .success").wait_for()
    page.click("input[name=_publish_changes]")
    page.locator(".messagelist .success").wait_for()
    response = page.goto(f"{site}/symptoms/heel-pain/")
    assert response.ok and page.url == f"{site}/symptoms/heel-pain-explained/", "the old address leads to the article"
    assert page.locator("h1").inner_text() == "Heel Pain"
    page.goto(f"{site}/conditions/enthesitis/")  # its text links to heel pain: the link followed the rename
    assert page.locator('a[href="/symptoms/heel-pain-explained/"]').count() >= 1
    assert page.locator('a[href="/symptoms/heel-pain/"]').count() == 0


def test_editor_sees_the_grade_rise_and_adds_an_image_with_the_button(browser, site, tmp_path):
    """Issue 18: the reading grade follows the live preview; "Add image" opens a file picker
    (keyboard and phones) and inserts the image with its alt text to write."""
    import base64

    from django.contrib.auth.models import User

    User.objects.create_superuser("chief", password="a long test password")
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", "a long test password")
    page.click("input[type=submit]")
    page.goto(f"{site}/admin/conditions/article/add/")
    editor = page.locator("#id_section_overview")
    editor.fill("The bone is sore. It hurts when you walk. Rest helps a lot. Ice can help too.")
    help_text = page.locator("#id_section_overview_helptext")
    page.wait_for_function("() => /Reading grade -?[0-9.]+/.test(document.querySelector('#id_section_overview_helptext').innerText)")
    easy = float(help_text.inner_text().split("Reading grade ")[1].split(" ")[0])
    editor.press("End")
    editor.press_sequentially(" Osteomyelitis necessitates individualized multidisciplinary antimicrobial administration, frequently "
                              "intravenously, accompanied by comprehensive radiological surveillance.", delay=2)
    page.wait_for_function("(easy) => { const m = document.querySelector('#id_section_overview_helptext').innerText"
                           ".match(/Reading grade (-?[0-9.]+)/); return m && parseFloat(m[1]) > easy + 3; }", arg=easy)
    assert "Above grade 8" in help_text.inner_text()
    assert "Whole article:" in page.locator("#readability-article").inner_text()

    picture = tmp_path / "scan.png"
    picture.write_bytes(base64.b64decode(_png_base64()))
    editor.press("Control+End")
    with page.expect_file_chooser() as chooser:
        page.locator(".field-section_overview").get_by_role("button", name="Add image").click()
    chooser.value.set_files(str(picture))
    page.wait_for_function("() => document.querySelector('#id_section_overview').value.includes('](/media/images/')")
    value = editor.input_value()
    assert "![Describe the image for someone who cannot see it](/media/images/" in value
    selected = editor.evaluate("(e) => e.value.slice(e.selectionStart, e.selectionEnd)")
    assert selected == "Describe the image for someone who cannot see it", "the alt text is selected, to be typed over"
    page.locator("#id_section_overview ~ .markdownx-preview img").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "editor-aids-phone.png", full_page=True)
    page.close()


def test_a_wide_table_scrolls_in_its_own_region_on_a_phone(browser, site):
    """Issue 18, point 2: a pipe table is a table with header cells, and on a 360 px phone it
    scrolls sideways inside its region instead of widening the page."""
    from conditions.models import Article

    article = Article.objects.get(slug="bone-marrow-edema")
    sections = {s.kind: s.markdown for s in article.sections.all()}
    wide = ("Tests compared:\n| Test | What it shows | How long it takes | Radiation | Cost to you |\n| --- | --- | --- | --- | --- |\n"
            "| MRI | Swelling inside the bone, early | About 30 to 45 minutes in the scanner | None | Often the highest |\n"
            "| X-ray | Breaks and later changes in the bone | A few minutes | A small dose | Usually low |\n")
    article.set_sections({**sections, "key-points": sections["key-points"] + "\n\n" + wide})
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{site}/conditions/bone-marrow-edema/")
    region = page.get_by_role("region", name="Table")
    region.scroll_into_view_if_needed()
    assert region.locator("th[scope=col]").count() == 5 and region.locator("tbody tr").count() == 2
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, "the page itself does not scroll sideways"
    assert region.evaluate("(r) => r.scrollWidth > r.clientWidth"), "the table scrolls inside its region"
    region.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollLeft > 0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "table-on-a-phone.png")
    page.close()


def test_the_printed_article_shows_full_link_addresses_and_the_site(browser, site):
    """Issue 19, point 6, in Chromium's print media: links carry the whole address, and the
    site's name with the page's address heads the page."""
    page = browser.new_page()
    page.goto(f"{site}/conditions/bone-marrow-edema/")
    page.emulate_media(media="print")
    after = page.evaluate("() => getComputedStyle(document.querySelector('.article__body a[href^=\"/\"]'), '::after').content")
    assert f"({site}/" in after, after  # the resolved address, e.g. " (http://host/body/bone-marrow/)"
    assert page.locator(".print-source").is_visible() and site in page.locator(".print-source").inner_text()
    page.emulate_media(media="screen")
    assert not page.locator(".print-source").is_visible()
    page.close()


# -- search results on a phone (issue 19, point 5) -------------------------------------

PLACEHOLDER_FITS = """(input) => {
  // The browser's own measure: the placeholder typed into the box overflows it exactly when it would be cut off.
  const saved = input.value;
  input.value = input.placeholder;
  const fit = {text: input.placeholder, needed: input.scrollWidth, room: input.clientWidth};
  input.value = saved;
  return fit;
}"""


def rebuild_index():
    from conditions.models import Article
    from conditions.search import get_backend
    from conditions.search.documents import SearchDocument

    get_backend().rebuild(SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories"))


@pytest.mark.parametrize("width,height", [(360, 640), (390, 664)])
def test_search_results_on_a_phone_put_the_first_result_on_the_first_screen(browser, site, width, height):
    rebuild_index()
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{site}/search/?q=knee+pain")
    assert page.locator("input[type=search]").count() == 1, "one search box: the header's"
    assert page.locator("#header-search-q").input_value() == "knee pain"
    count, first = page.locator(".result-count"), page.locator(".result").first
    assert count.bounding_box()["y"] < first.bounding_box()["y"], "the result count above the results"
    title = first.locator(".result__title").bounding_box()
    assert title["y"] + title["height"] <= height, f"the first result's title on the first screen ({title})"
    # A misspelt search says what it shows in as few lines, and its first result is on the first screen too.
    for query in ("bone marow edema", "knee pian in the morning"):
        page.goto(f"{site}/search/?q={query.replace(' ', '+')}")
        title = page.locator(".result__title").first.bounding_box()
        assert title["y"] + title["height"] <= height, (query, title)
        page.screenshot(path=ARTIFACTS / f"search-results-{query.split()[0]}-{width}.png")
    page.goto(f"{site}/search/?q=knee+pain")
    # The filters wait behind one control, closed; opened, they filter.
    filters = page.locator("details.filters--compact")
    assert filters.is_visible() and filters.get_attribute("open") is None
    assert not page.locator(".filters--sidebar").is_visible()
    symptoms = filters.get_by_role("link", name=re.compile(r"^Symptoms \(\d+\)$"), include_hidden=True)
    assert symptoms.count() == 1 and not symptoms.is_visible(), "the filters wait behind the closed control"
    page.screenshot(path=ARTIFACTS / f"search-results-{width}.png")
    filters.locator("summary").click()
    symptoms.click()
    page.wait_for_url(re.compile(r"kind=symptom"))
    assert "Symptoms" in page.locator("details.filters--compact summary").inner_text(), "the control names the filter in use"
    page.screenshot(path=ARTIFACTS / f"search-results-filtered-{width}.png")
    # No search box's placeholder is cut off at this width (the header's, the home page's, the 404 page's).
    for path in ("/", "/conditions/no-such-page/"):
        page.goto(site + path)
        for fit in page.locator("input[type=search]").evaluate_all(f"(all) => all.map({PLACEHOLDER_FITS})"):
            assert fit["needed"] <= fit["room"], (path, fit)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()


def test_wide_screens_show_the_filters_as_a_sidebar(browser, site):
    rebuild_index()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site}/search/?q=knee+pain")
    assert page.locator(".filters--sidebar nav").is_visible() and not page.locator("details.filters--compact").is_visible()
    assert page.locator("nav[aria-label='Filter results']:visible").count() == 1
    page.close()


@pytest.mark.parametrize("path,box", [("/", "#home-search-q"), ("/", "#header-search-q"), ("/conditions/bone-marow-edma/", "#notfound-search-q"),
                                      ("/search/?q=knee", "#header-search-q")])
def test_every_search_box_offers_suggestions(browser, site, path, box):
    rebuild_index()
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(site + path)
    field = page.locator(box)
    field.fill("")
    field.press_sequentially("oste", delay=30)
    listbox = page.locator(f"#{field.get_attribute('aria-controls')}")
    listbox.wait_for(state="visible")
    assert listbox.get_by_role("option").first.inner_text() == "Osteoarthritis"
    field.press("ArrowDown")
    field.press("Enter")
    page.wait_for_url(re.compile(r"/conditions/osteoarthritis/$"))
    page.close()


def test_search_boxes_have_distinct_accessible_names(browser, site):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    for path in ("/", "/conditions/no-such-page/"):
        page.goto(site + path)
        landmarks = page.get_by_role("search").evaluate_all("(all) => all.map((e) => e.getAttribute('aria-label'))")
        labels = page.locator("input[type=search]").evaluate_all("(all) => all.map((e) => e.labels[0].textContent)")
        assert len(landmarks) == 2 and len(set(landmarks)) == 2 and all(landmarks), (path, landmarks)
        assert len(set(labels)) == 2 and all(labels), (path, labels)
    page.close()
