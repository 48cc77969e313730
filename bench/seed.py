"""Seed a benchmark database: one PHLO app, N agents and M supervisors sharing one password.

Run by `bench.run` as `python -m bench.seed …` with DATABASE_URL set; bulk inserts, because
`create_agent` once per agent would take minutes for hundreds of agents.
"""

import argparse
import os


def agent_address(n: int) -> str:
    return f"+1415{n:07d}"


def supervisor_address(n: int) -> str:
    return f"+1416{n:07d}"


def _line(phlo_id: str, name: str, node_id: str, auth_token: str, *, default: bool, routing: bool) -> None:
    from calls.models import PhloApp

    PhloApp.objects.update_or_create(
        phlo_id=phlo_id,
        defaults={"name": name, "node_id": node_id, "auth_id": "MABENCH", "auth_token": auth_token,
                  "is_default": default, "routing": routing},
    )


def seed(
    *, agents: int, supervisors: int, password: str, phlo_id: str, auth_token: str, routing_phlo_id: str = ""
) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from agents.models import Agent
    from phlo.addresses import address_key

    User = get_user_model()
    hashed = make_password(password)
    people = [(f"agent{n}", agent_address(n), False) for n in range(agents)]
    people += [(f"super{n}", supervisor_address(n), True) for n in range(supervisors)]
    with transaction.atomic():
        # The scripted calls bring their agents in themselves; the router has its own phase.
        _line(phlo_id, "Bench line", "bench-node", auth_token, default=True, routing=False)
        if routing_phlo_id:
            # The routing step's line: calls wait in its queue and the desk offers them to agents.
            _line(routing_phlo_id, "Bench queue", "bench-queue-node", auth_token, default=False, routing=True)
        User.objects.bulk_create([User(username=name, password=hashed) for name, _, _ in people], ignore_conflicts=True)
        users = dict(User.objects.filter(username__in=[p[0] for p in people]).values_list("username", "pk"))
        Agent.objects.bulk_create(
            [
                Agent(
                    user_id=users[name],
                    name=name,
                    address=address,
                    address_key=address_key(address),
                    is_supervisor=sup,
                    status="available",
                )
                for name, address, sup in people
            ],
            ignore_conflicts=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--supervisors", type=int, required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--phlo-id", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--routing-phlo-id", default="")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    seed(
        agents=args.agents,
        supervisors=args.supervisors,
        password=args.password,
        phlo_id=args.phlo_id,
        auth_token=args.auth_token,
        routing_phlo_id=args.routing_phlo_id,
    )


if __name__ == "__main__":
    main()
