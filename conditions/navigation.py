"""The A–Z index: article titles plus "see" entries for their other names."""

import string
import unicodedata
from dataclasses import dataclass

AZ_LETTERS = list(string.ascii_uppercase) + ["#"]


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
        first = unicodedata.normalize("NFKD", self.label[:1]).encode("ascii", "ignore").decode().upper()
        return first if first in string.ascii_uppercase and first else "#"


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
