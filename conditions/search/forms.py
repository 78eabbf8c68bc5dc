"""The search page's query parameters as a Django form: ``q``, ``kind``, ``category`` and ``page``.

Each parameter is read once (the first value, if repeated), cleaned here and never
trusted: a query is normalised (``documents.clean_query``) and refused only when absurdly
long; an unknown kind or category or a malformed page number is ignored rather than refused, as a
patient who edits an address by hand still gets results.
"""

from django import forms
from django.core.exceptions import ValidationError

from ..kinds import KINDS
from ..models import Category
from .documents import clean_query

MAX_PAGE = 10_000
TOO_LONG = "That search is too long. Try a few words, such as the name of a condition."


class SearchForm(forms.Form):
    q = forms.CharField(required=False, strip=False)
    kind = forms.CharField(required=False)
    category = forms.CharField(required=False)
    page = forms.IntegerField(required=False)

    def __init__(self, query_dict):
        # The first value of each parameter (QueryDict.get would take the last).
        super().__init__({name: query_dict.getlist(name)[0] for name in self.base_fields if query_dict.getlist(name)})

    def clean_q(self):
        query = clean_query(self.cleaned_data["q"] or "")
        if query is None:
            raise ValidationError(TOO_LONG)
        return query

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        return KINDS.get(kind)

    def clean_category(self):
        slug = self.cleaned_data["category"]
        # No slug holds a NUL (and PostgreSQL refuses one in a parameter): no filter.
        return Category.objects.filter(slug=slug).first() if slug and "\x00" not in slug else None

    def clean_page(self):
        return min(max(1, self.cleaned_data["page"] or 1), MAX_PAGE)

    def clean(self):
        cleaned = super().clean()
        # "?page=abc" is the first page; a category no slug can be (a NUL, say) is no filter.
        for name, default in (("page", 1), ("category", None), ("kind", None)):
            if name in self.errors:
                del self.errors[name]
                cleaned[name] = default
        return cleaned
