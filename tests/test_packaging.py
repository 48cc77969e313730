"""The install an operator gets: a wheel that carries the templates and static files and serves
from anywhere (not only from a checkout), and lock files the Makefile installs from, again
whenever they change."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import PYTHON, ROOT, free_port, stop, wait_for_port

LOCKS = ("requirements/run.txt", "requirements/test.txt", "requirements/bench.txt")


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def checkout_copy(destination: Path) -> Path:
    """The files git would commit (tracked, or new and not ignored), as a fresh clone has them."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_wheel_carries_templates_and_static_files_and_serves_them(tmp_path):
    source = checkout_copy(tmp_path / "source")
    run(PYTHON, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
        str(source))
    [wheel] = (tmp_path / "dist").glob("plivo_agent_desk-*.whl")
    target, workdir = tmp_path / "site", tmp_path / "run"
    workdir.mkdir()
    run(PYTHON, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel))
    assert (target / "contactcenter" / "templates" / "pages" / "login.html").is_file()
    assert (target / "contactcenter" / "static" / "pages" / "css" / "desk.css").is_file()

    # Run from outside any checkout, importing the project from the installed wheel only.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(PYTHONPATH=str(target), DJANGO_SETTINGS_MODULE="contactcenter.settings", DEBUG="false",
               SECRET_KEY="wheel-test-secret-key-0123456789-abcdefghijklmnop", ALLOWED_HOSTS="127.0.0.1")
    where = run(PYTHON, "-c", "import contactcenter; print(contactcenter.__file__)", cwd=workdir, env=env).stdout
    assert where.strip().startswith(str(target))
    run(PYTHON, "-m", "django", "migrate", "--noinput", "-v0", cwd=workdir, env=env)
    run(PYTHON, "-m", "django", "collectstatic", "--noinput", "-v0", cwd=workdir, env=env)
    assert (workdir / "db.sqlite3").is_file() and (workdir / "staticfiles" / "pages" / "css" / "desk.css").is_file()
    assert not (target / "db.sqlite3").exists()  # nothing written into the installed package

    port = free_port()
    daphne = subprocess.Popen([PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "contactcenter.asgi:application"], cwd=workdir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process=daphne, timeout=30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            login = http.get("/login/")
            assert login.status_code == 200 and 'name="password"' in login.text
            stylesheet = re.search(r'href="(/static/[^"]+\.css)"', login.text).group(1)
            css = http.get(stylesheet)
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
            icon = http.get("/static/pages/img/favicon.svg")
            assert icon.content == (ROOT / "static" / "pages" / "img" / "favicon.svg").read_bytes()
    finally:
        stop(daphne)


def test_every_lock_pins_every_package_with_hashes():
    for lock in LOCKS:
        text = (ROOT / lock).read_text()
        entries = re.split(r"\n(?=[a-z0-9])", text.split("\n", 1)[1].strip())
        requirements = [e for e in entries if not e.startswith("#")]
        assert requirements, lock
        for entry in requirements:
            name = entry.split()[0]
            assert re.match(r"^[a-z0-9._-]+==[^\s;]+$", name), f"{lock}: {name} is not pinned"
            assert "--hash=sha256:" in entry, f"{lock}: {name} has no hash"
    run_lock, test_lock = ((ROOT / lock).read_text() for lock in LOCKS[:2])
    assert "\nredis==" in run_lock and "\nruff==" not in run_lock and "\nruff==" in test_lock


def test_pyproject_bounds_every_dependency():
    text = (ROOT / "pyproject.toml").read_text()
    block = text[text.index("dependencies = ["):text.index("[tool.setuptools]")]
    for requirement in re.findall(r'^\s+"([^"]+)"', block, re.MULTILINE):
        assert "<" in requirement, f"{requirement} has no upper bound"


def test_the_install_runs_again_when_a_lock_changes(tmp_path):
    """`make test` installs from the lock once, then not again until the lock is newer than its stamp."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch(mode=0o755)
    stamp = venv / ".installed-test"
    stamp.touch()

    def planned() -> str:
        return run("make", "-n", "-C", str(ROOT), f"VENV={venv}", str(stamp)).stdout

    assert "--require-hashes -r requirements/test.txt" not in planned()
    long_ago = time.time() - 10 * 365 * 24 * 3600
    os.utime(stamp, (long_ago, long_ago))  # as if requirements/test.txt changed since the install
    assert "--require-hashes -r requirements/test.txt" in planned()
    assert "--no-deps -e ." in planned()
