import factory
from django.contrib.auth import get_user_model

from agents.models import Agent
from calls.models import Call, Member, PhloApp
from phlo.addresses import address_key


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-1")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    name = factory.Faker("name")
    address = factory.Sequence(lambda n: f"+1415555{n:04d}")
    status = "available"
    # What they chose: the status itself when it is one a person picks.
    chosen_status = factory.LazyAttribute(
        lambda o: o.status if o.status in ("available", "away", "offline") else "available"
    )
    is_supervisor = False


class PhloAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhloApp
        django_get_or_create = ("phlo_id",)

    name = "Support line"
    phlo_id = "phlo-test-1"
    node_id = "node-test-1"
    auth_id = "MATESTAUTHID"
    auth_token = "test-auth-token-do-not-leak"
    is_default = True


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    phlo_app = factory.SubFactory(PhloAppFactory)
    mpc_uuid = factory.Sequence(lambda n: f"mpc-{n}")
    status = "active"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    call = factory.SubFactory(CallFactory)
    member_id = factory.Sequence(lambda n: f"member-{n}")
    address = factory.Sequence(lambda n: f"+1202555{n:04d}")
    address_key = factory.LazyAttribute(lambda member: address_key(member.address))  # as the store sets it
    role = "customer"
    state = "connected"


# The agent admin's skills inline (agents/admin.py: SkillInline) posts its formset's counts with the form.
NO_SKILLS_INLINE = {"skills-TOTAL_FORMS": "0", "skills-INITIAL_FORMS": "0"}
