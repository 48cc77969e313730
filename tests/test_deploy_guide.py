"""The operator's guides run as written (docs/deploy.md, docs/backup.md, docs/data.md): each command
below is quoted from them, checked to be there word for word, and run in bash against a throwaway
PostgreSQL and Redis, with only the guide's own placeholders filled in (paths, ports, `…`).
What a test cannot run (sudo, systemctl, useradd, nginx) is left out; the ExecStart lines of the
units and the cron line are run as the units would run them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import PostgresCluster, postgres_bindir
from tests.support.servers import ROOT, RedisServer, base_env, free_port, stop, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

GUIDES = "\n".join((ROOT / "docs" / name).read_text() for name in ("deploy.md", "backup.md", "data.md"))
BIN = Path(sys.executable).parent  # the project's .venv/bin in a checkout that ran `make test`
PHLO = '--phlo-id PHLO-GUIDE --node-id NODE-1 --auth-id MAGUIDE --auth-token guide-auth-token'

SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
SOURCE_ENV = "set -a; . /etc/contactcenter/env; set +a"
SET_UP = [
    ".venv/bin/python manage.py check --deploy --fail-level WARNING",
    ".venv/bin/python manage.py migrate --noinput",
    ".venv/bin/python manage.py collectstatic --noinput",
    '.venv/bin/python manage.py configure_phlo --name "Support line" --phlo-id … --node-id … \\\n'
    "    --auth-id … --auth-token … --default",
    ".venv/bin/python manage.py create_agent sam --password '…' --address +14155550199 --supervisor",
    ".venv/bin/python manage.py create_api_key crm-sync",
]
DAPHNE = ("/srv/contactcenter/.venv/bin/daphne -e tcp:port=%i:interface=127.0.0.1:backlog=1024 "
          "contactcenter.asgi:application")
READY = "curl -s http://127.0.0.1:8001/readyz"
PRUNE_UNIT = ["/srv/contactcenter/.venv/bin/python manage.py prune_history",
              "/srv/contactcenter/.venv/bin/python manage.py clearsessions"]
CRON = ("cd /srv/contactcenter && set -a && . /etc/contactcenter/env && set +a && "
        ".venv/bin/python manage.py prune_history")
DRY_RUN = ".venv/bin/python manage.py prune_history --older-than-days 365 --dry-run"
DUMP = 'pg_dump --format=custom --file=/var/backups/contactcenter/desk-$(date +%F).dump "$DATABASE_URL"'
RESTORE = 'pg_restore --no-owner --dbname="$DATABASE_URL" /var/backups/contactcenter/desk-2026-12-06.dump'


def test_every_quoted_command_is_in_the_guides_as_written():
    for command in [SECRET, SOURCE_ENV, *SET_UP, DAPHNE, READY, *PRUNE_UNIT, CRON, DRY_RUN, DUMP, RESTORE]:
        assert command in GUIDES, command


class Operator:
    """A shell in the checkout, as the guide's operator has one, with the guide's paths mapped."""

    def __init__(self, workdir: Path, env_file: Path, backups: Path):
        self.workdir, self.env_file, self.backups = workdir, env_file, backups
        self.env = {k: v for k, v in base_env().items()
                    if k not in ("DEBUG", "SECRET_KEY", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")}
        self.env["PATH"] = f"{postgres_bindir()}:{self.env.get('PATH', '/usr/bin:/bin')}"

    def filled(self, command: str, port: int = 8001) -> str:
        command = re.sub(r"(/srv/contactcenter/)?\.venv/bin/", f"{BIN}/", command)
        command = command.replace("/srv/contactcenter", str(ROOT)).replace("/etc/contactcenter/env", str(self.env_file))
        command = command.replace("/var/backups/contactcenter", str(self.backups))
        command = command.replace("--phlo-id … --node-id … \\\n    --auth-id … --auth-token …", PHLO)
        command = command.replace("'…'", "'a-guide-password-1'").replace("%i", str(port))
        return command.replace("127.0.0.1:8001", f"127.0.0.1:{port}")

    def run(self, command: str, *, source_env: bool = True, port: int = 8001) -> str:
        script = f"{self.filled(SOURCE_ENV)}\n{self.filled(command, port)}" if source_env else self.filled(command)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def serve(self, port: int) -> subprocess.Popen:
        log = open(self.workdir / f"daphne-{port}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(["bash", "-c", f"{self.filled(SOURCE_ENV)}\nexec {self.filled(DAPHNE, port)}"],
                                   cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, process=process, timeout=30)
        return process


def write_env_file(path: Path, *, secret: str, database_url: str, redis_url: str, static_root: Path) -> None:
    """.env.example with its values filled in, as the guide's operator does with sudoedit."""
    values = {"SECRET_KEY": secret, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "RETENTION_DAYS": "30"}
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values[name]}" if name in values and not line.startswith("#") else line)
    lines.append(f"STATIC_ROOT={static_root}")  # not into the checkout's own staticfiles/
    path.write_text("\n".join(lines) + "\n")


def test_the_deploy_guide_and_a_backup_restored(tmp_path):
    cluster, redis, servers = PostgresCluster(), RedisServer(), []
    try:
        cluster.start()
        redis.start()
        env_file, backups = tmp_path / "env", tmp_path / "backups"
        backups.mkdir()
        operator = Operator(tmp_path, env_file, backups)
        secret = operator.run(SECRET, source_env=False).strip()
        assert len(secret) >= 50
        database_url = cluster.create_database("contactcenter")
        write_env_file(env_file, secret=secret, database_url=database_url, redis_url=redis.url,
                       static_root=tmp_path / "static")

        outputs = [operator.run(command) for command in SET_UP]
        assert "System check identified no issues" in outputs[0]
        assert (tmp_path / "static" / "pages" / "css" / "desk.css").is_file()
        key = outputs[-1].strip().splitlines()[-1]

        port = free_port()
        servers.append(operator.serve(port))
        ready = json.loads(operator.run(READY, port=port))
        assert ready["status"] == "ok" and ready["database"] == "ok" and ready["channel_layer"] == "ok"
        agents = operator.run(f"curl -s http://127.0.0.1:{port}/api/agents/ -H 'Authorization: Api-Key {key}'"
                              " -H 'Host: cc.example.com' -H 'X-Forwarded-Proto: https'")
        assert [a["username"] for a in json.loads(agents)] == ["sam"]

        # The retention unit's commands, the cron line, the dry run.
        for command in PRUNE_UNIT:
            operator.run(command)
        assert "older than 30 days" in operator.run(CRON, source_env=False)
        assert operator.run(DRY_RUN).startswith("Would delete")

        # docs/backup.md: dump while it serves, restore into an empty database, migrate, serve.
        operator.run(DUMP)
        [dump] = backups.glob("desk-*.dump")
        dump.rename(backups / "desk-2026-12-06.dump")
        restored_url = cluster.create_database("restored")
        write_env_file(env_file, secret=secret, database_url=restored_url, redis_url=redis.url,
                       static_root=tmp_path / "static")
        operator.run(RESTORE)
        operator.run(".venv/bin/python manage.py migrate --noinput")
        port = free_port()
        servers.append(operator.serve(port))
        restored = operator.run(f"curl -s http://127.0.0.1:{port}/api/agents/ -H 'Authorization: Api-Key {key}'"
                                " -H 'Host: cc.example.com' -H 'X-Forwarded-Proto: https'")
        assert [a["username"] for a in json.loads(restored)] == ["sam"]  # the key made before the dump works
        assert re.search(r'"database": ?"ok"', operator.run(READY, port=port))
    finally:
        for server in servers:
            stop(server)
        redis.stop()
        cluster.stop()
