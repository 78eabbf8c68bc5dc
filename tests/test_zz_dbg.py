import pytest
pytestmark = pytest.mark.django_db
import os
Q = os.environ.get("Q", "how long does an mri scan take").split("|")
def test_dbg(backend):
    for q in Q:
        r = backend.search(q)
        print("\n", q, r.total, r.complete, r.suggestion, r.fuzzy)
        for h in r[:8]:
            print("   ", h.slug, h.complete)
