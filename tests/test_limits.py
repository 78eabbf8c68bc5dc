"""Search limits sized for a shared address, and repeat searches from the cache (issue 21,
points 3 and 5), against real gunicorn workers with the shipped defaults.

Patients of one hospital or one mobile carrier reach the site from one address: fifty of
them searching at once are not refused, while one client hammering (new searches, or the
same one over and over) is.
"""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote_plus

import pytest
from django.conf import settings

from .relevance_cases import CASES
from .servers import Server
from .test_front import fetch

CROWD, HAMMER, REPEATER = "127.0.0.2", "127.0.0.3", "127.0.0.4"  # three clients, each an address of its own
ROOT = settings.BASE_DIR
LIMITS = ("HEALTHLIB_SEARCH_RATE_LIMIT", "HEALTHLIB_SEARCH_REQUEST_RATE_LIMIT", "HEALTHLIB_SUGGEST_RATE_LIMIT",
          "HEALTHLIB_SEARCH_CONCURRENCY")


pytestmark = pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="the limits do not depend on the database: run once, in the SQLite run")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn (2 sync workers, as shipped) on an on-disk SQLite site with the shipped
    articles, a shared file cache, and the default limits (none set in the environment)."""
    data = tmp_path_factory.mktemp("limits")
    env = {key: value for key, value in os.environ.items() if key not in LIMITS and key != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="healthlib.settings.dev", HEALTHLIB_DATA_DIR=str(data))
    for command in (["migrate", "-v0"], ["import_content"], ["rebuild_index"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    server = Server({**env, "DJANGO_SETTINGS_MODULE": "healthlib.settings.dev"}, data, workers=2)
    yield server
    server.stop()


def window_start():
    """Wait, if needed, so the next requests fall in one fixed minute window of the limits."""
    left = 60 - time.time() % 60
    if left < 30:
        time.sleep(left + 0.1)


def test_fifty_people_behind_one_address_are_not_refused(server):
    queries = [query for query, _, _ in CASES][:150]
    assert len(set(queries)) >= 100
    window_start()

    def person(n):
        codes = []
        for query in queries[n * 3:(n + 1) * 3]:  # each types, pausing: suggestions, then the search
            for end in range(3, min(len(query), 18), 3):
                codes.append(fetch(server.port, f"/search/suggest/?q={quote_plus(query[:end])}", source=CROWD)[0])
            codes.append(fetch(server.port, f"/search/?q={quote_plus(query)}", source=CROWD)[0])
        return codes

    with ThreadPoolExecutor(50) as pool:  # all at once, from one address
        codes = [code for person_codes in pool.map(person, range(50)) for code in person_codes]
    assert len(codes) > 300 and set(codes) == {200}, {code: codes.count(code) for code in set(codes)}


def test_one_client_hammering_new_searches_is_refused(server):
    window_start()
    new = [fetch(server.port, f"/search/?q=bone+{n}", source=HAMMER)[0] for n in range(310)]
    assert new[:300] == [200] * 300 and new[300:] == [429] * 10, "refused past 300 searches that run a minute"


def test_one_client_hammering_one_search_is_refused(server):
    window_start()
    same = [fetch(server.port, "/search/?q=knee+pain", source=REPEATER) for _ in range(1210)]
    assert [status for status, _, _ in same[:1200]] == [200] * 1200, "repeats are cheap: the cache answers them"
    assert {headers["X-Cache"] for _, headers, _ in same[1:1200]} == {"hit"}
    assert [status for status, _, _ in same[1200:]] == [429] * 10, "refused past 1,200 searches a minute"
