"""The A–Z index: article titles plus "see" entries for their other names, one letter a page.

One letter a page (as MedlinePlus's health topics index does) keeps each page small at
any library size: at 5,000 articles a single A–Z page would weigh megabytes on a phone.
"""

import string
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

AZ_LETTERS = list(string.ascii_uppercase) + ["#"]
OTHER = "other"  # the address of "#" (names that start with a digit or a symbol)


def letter_key(letter):
    """``"A"`` → ``"a"``, ``"#"`` → ``"other"``: the letter's part of the page address."""
    return OTHER if letter == "#" else letter.lower()


def letter_from_key(key):
    """The inverse of ``letter_key``; ``None`` for anything else."""
    letter = "#" if key == OTHER else key.upper()
    return letter if letter in AZ_LETTERS and key == letter_key(letter) else None


def letter_of(label):
    """The A–Z letter a name is filed under (accents folded; digits and symbols under "#")."""
    first = unicodedata.normalize("NFKD", label[:1]).encode("ascii", "ignore").decode().upper()
    return first if first in string.ascii_uppercase and first else "#"


@dataclass(frozen=True)
class AZEntry:
    label: str
    article: object
    is_alias: bool

    @property
    def sort_key(self):
        folded = unicodedata.normalize("NFKD", self.label).encode("ascii", "ignore").decode().casefold()
        return (AZ_LETTERS.index(self.letter), folded, self.is_alias)

    @property
    def letter(self):
        return letter_of(self.label)


def az_entries(articles):
    """Titles and also-known-as names of ``articles``, sorted as a patient scans them."""
    entries = []
    for article in articles:
        entries.append(AZEntry(article.title, article, is_alias=False))
        titles = {article.title.casefold()}
        for name in article.also_known_as:
            if name.casefold() not in titles:
                entries.append(AZEntry(name, article, is_alias=True))
    return sorted(entries, key=lambda entry: entry.sort_key)


def letters_in_use(articles):
    """The letters some title or other name of ``articles`` is filed under (one query)."""
    return {entry.letter for entry in az_entries(articles.only("slug", "title", "also_known_as"))}


@dataclass(frozen=True)
class AZLink:
    letter: str
    key: str
    in_use: bool
    current: bool


def az_bar(letters_in_use, current=None):
    """The A–Z bar: every letter, linked when some name is filed under it."""
    return [AZLink(letter, letter_key(letter), letter in letters_in_use, letter == current) for letter in AZ_LETTERS]


@dataclass(frozen=True)
class Crumb:
    """One step of a page's breadcrumb trail: its name and its path."""

    name: str
    url: str


def trail(*crumbs):
    """A page's breadcrumb trail from the home page: ``trail(("Osteoporosis", "/conditions/osteoporosis/"))``.

    The one trail feeds both the visible breadcrumbs (``includes/breadcrumbs.html``) and
    the JSON-LD ``BreadcrumbList`` (``seo.breadcrumbs``), so the two cannot disagree.
    """
    return [Crumb(_("Home"), reverse("home")), *(Crumb(str(name), url) for name, url in crumbs)]


def library_trail(*crumbs):
    """``trail`` through the Health Library page (every kind of article, every body system)."""
    return trail((settings.HEALTHLIB_SITE_NAME, reverse("conditions:library")), *crumbs)


def kind_trail(info, *crumbs):
    """``library_trail`` through the A–Z of one kind (``kinds.KindInfo``): Home / Health Library / Diagnostics & Tests / …"""
    return library_trail((info.plural, reverse("conditions:index", args=[info.path])), *crumbs)
