"""Real server processes for the tests: gunicorn under production settings, nginx running
the shipped ``deploy/nginx.conf``, and a small cookie-keeping HTTP client for them.

Each process gets free ports on 127.0.0.1, is waited for before use and is stopped by the
fixture that started it; its output goes to a log file that failing tests print.
"""

import getpass
import http.cookiejar
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "healthlib.settings.production",
    "SECRET_KEY": "k" * 20 + "-production-test-key-that-is-long-enough-0123456789",
    "ALLOWED_HOSTS": "health.example.org,127.0.0.1",
    "DATABASE_URL": "sqlite:////tmp/healthlib-production-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def manage(*args, env, timeout=120):
    # (The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment never would.)
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebClient:
    """A browser stand-in for one base URL: keeps cookies, posts forms with the CSRF token."""

    def __init__(self, url):
        self.url = url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path):
        try:
            with self.opener.open(self.url + path, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def post(self, path, data):
        token = next(c.value for c in self.cookies if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}, doseq=True).encode()
        request = urllib.request.Request(self.url + path, data=body, headers={"Referer": self.url + path})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def login(self, username, password):
        self.get("/admin/login/")
        status, body = self.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})
        assert status == 200 and "Log out" in body, body[:500]


class Server(WebClient):
    """gunicorn serving ``healthlib.wsgi`` on a free port of 127.0.0.1 (sync workers)."""

    def __init__(self, env, data_dir, *, workers=2, args=(), ready=(200,)):
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / f"gunicorn-{self.port}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "healthlib.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", *args],
                cwd=ROOT, env={**env, "HEALTHLIB_DATA_DIR": str(data_dir)}, stdout=subprocess.DEVNULL, stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.get("/healthz")[0] in ready:  # 503: up, with a dependency down
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not start: " + self.stop()[-2000:])

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log()


# -- nginx -----------------------------------------------------------------------------

NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def nginx_binary():
    return os.environ.get("HEALTHLIB_NGINX") or shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None)


def render(text, replacements):
    """``text`` with each ``old`` replaced by ``new``; every ``old`` must occur exactly once,
    so a change to the shipped file that the tests no longer match fails loudly."""
    for old, new in replacements.items():
        assert text.count(old) == 1, f"expected exactly one {old!r} in {NGINX_CONF}"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx running ``deploy/nginx.conf`` on a free port of 127.0.0.1, everything under ``directory``.

    ``replacements`` fill in the file's SITE lines (upstream, addresses, paths). The
    ``events``/``http`` wrapper stands in for Debian's /etc/nginx/nginx.conf, which
    includes the site file the same way; ``http_extra`` adds http-level directives.
    """

    def __init__(self, directory, replacements, *, http_extra=""):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = render(NGINX_CONF.read_text(), {"listen 80;": f"listen 127.0.0.1:{self.port};",
                                               "/var/cache/nginx/healthlib": str(self.directory / "cache"), **replacements})
        (self.directory / "healthlib.conf").write_text(site)
        (self.directory / "temp").mkdir(exist_ok=True)
        temp = "\n".join(f"    {kind}_temp_path {self.directory / 'temp' / kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        mime = ("    include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists()
                else "    types { text/css css; text/javascript js; image/webp webp; }")
        (self.directory / "nginx.conf").write_text(
            "worker_processes 1;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            f"{mime}\n    default_type application/octet-stream;\n    sendfile on;\n"
            f"    access_log {self.directory / 'access.log'};\n{temp}\n"
            f"{http_extra}\n"
            f"    include {self.directory / 'healthlib.conf'};\n"
            "}\n"
        )
        # Workers of a root-started nginx drop to "nobody", who cannot read pytest's temp dirs.
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        self.error_log = self.directory / "error.log"
        command = [nginx_binary(), "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"),
                   "-g", f"daemon off; pid {self.directory / 'nginx.pid'}; error_log {self.error_log} info; {user}"]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, f"nginx -t refused the rendered {NGINX_CONF}:\n{checked.stderr}"
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start: " + self.stop()[-2000:])

    def log(self):
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown, workers included
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log()
