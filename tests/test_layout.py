"""The project package wires the apps together in its URLconf and imports them nowhere else,
so the apps may build on its infrastructure (page cache, rate limits) without an import cycle."""

import ast
from pathlib import Path

from django.conf import settings


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_the_project_package_imports_no_app_outside_its_urlconf():
    package = Path(settings.BASE_DIR) / "healthlib"
    offenders = {
        str(path.relative_to(package)): sorted(name for name in imported_modules(path) if name.split(".")[0] == "conditions")
        for path in package.rglob("*.py")
        if path.name != "urls.py"
    }
    assert not {path: names for path, names in offenders.items() if names}
