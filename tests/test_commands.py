"""configure_phlo and create_agent (README "Management commands"): idempotent, clear errors, non-zero exit."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from agents.models import Agent
from calls.models import PhloApp

pytestmark = pytest.mark.django_db

PHLO = ["--name", "Support", "--phlo-id", "phlo-abc", "--node-id", "node-1", "--auth-id", "MAID",
        "--auth-token", "tok-secret"]


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_configure_phlo_creates_and_prints_the_callback_path():
    output = run("configure_phlo", *PHLO, "--default")
    app = PhloApp.objects.get()
    assert (app.phlo_id, app.node_id, app.auth_id, app.auth_token, app.is_default) == (
        "phlo-abc", "node-1", "MAID", "tok-secret", True)
    assert "/callbacks/plivo/phlo-abc/" in output
    assert "tok-secret" not in output


def test_configure_phlo_twice_updates():
    run("configure_phlo", *PHLO)
    run("configure_phlo", *PHLO[:-1], "new-token")
    assert PhloApp.objects.count() == 1
    assert PhloApp.objects.get().auth_token == "new-token"


def test_only_one_phlo_app_is_the_default():
    run("configure_phlo", *PHLO, "--default")
    run("configure_phlo", "--name", "Sales", "--phlo-id", "phlo-two", "--node-id", "n2", "--auth-id", "MAID",
        "--auth-token", "t2", "--default")
    assert list(PhloApp.objects.filter(is_default=True).values_list("phlo_id", flat=True)) == ["phlo-two"]


@pytest.mark.parametrize("bad", [["--phlo-id", "../x"], ["--node-id", "a b"], ["--auth-id", ""]])
def test_configure_phlo_refuses_unsafe_ids(bad):
    args = list(PHLO)
    index = args.index(bad[0])
    args[index + 1] = bad[1]
    with pytest.raises(CommandError):
        run("configure_phlo", *args)
    assert not PhloApp.objects.exists()


def test_create_agent_creates_a_login_and_an_agent():
    output = run("create_agent", "alice", "--password", "s3cret-pass", "--address", "+14155550101", "--name",
                 "Alice Agent")
    agent = Agent.objects.get()
    assert (agent.name, agent.address, agent.is_supervisor) == ("Alice Agent", "+14155550101", False)
    assert authenticate(username="alice", password="s3cret-pass") == agent.user
    assert "s3cret-pass" not in output


def test_create_agent_twice_updates():
    run("create_agent", "alice", "--password", "s3cret-pass", "--address", "+14155550101")
    run("create_agent", "alice", "--password", "new-pass-99", "--address", "sip:alice@example.com", "--supervisor")
    assert get_user_model().objects.count() == 1
    agent = Agent.objects.get()
    assert (agent.address, agent.is_supervisor) == ("sip:alice@example.com", True)
    assert authenticate(username="alice", password="new-pass-99") == agent.user


@pytest.mark.parametrize("address", ["12 34", "../../etc", "sip:nobody", "+1"])
def test_create_agent_refuses_a_bad_address(address):
    with pytest.raises(CommandError, match=r"E\.164"):
        run("create_agent", "alice", "--password", "s3cret-pass", "--address", address)
    assert not Agent.objects.exists() and not get_user_model().objects.exists()


def test_create_agent_refuses_an_address_taken_by_another_agent():
    run("create_agent", "alice", "--password", "s3cret-pass", "--address", "+14155550101")
    with pytest.raises(CommandError, match="already belongs to agent alice"):
        run("create_agent", "bob", "--password", "s3cret-pass", "--address", "14155550101")


def test_create_agent_refuses_a_short_password():
    with pytest.raises(CommandError, match="at least 8"):
        run("create_agent", "alice", "--password", "short", "--address", "+14155550101")


def test_commands_exit_non_zero_from_the_shell():
    import subprocess
    import sys

    from tests.support.servers import ROOT, base_env

    result = subprocess.run([sys.executable, "manage.py", "create_agent", "x", "--password", "longenough",
                             "--address", "nope"], cwd=ROOT, env=base_env(DATABASE_URL="sqlite:///:memory:"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "E.164" in result.stderr
