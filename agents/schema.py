"""Serializers that document the agents' JSON shapes in the OpenAPI schema (agents/serialize.py
builds them; tests/test_api_fuzzing.py checks real responses against these). The error shape is
conventions/errors.py's."""

from rest_framework import serializers

from agents.models import SELECTABLE_STATUSES, AgentStatus


class SkillSerializer(serializers.Serializer):
    queue = serializers.CharField()
    level = serializers.IntegerField(min_value=1, max_value=10)


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    status_since = serializers.DateTimeField(allow_null=True)
    status_changed_at = serializers.DateTimeField(allow_null=True, help_text="The same as status_since.")
    status_reason = serializers.CharField(allow_blank=True, help_text='Why the system set the status ("missed call").')
    chosen_status = serializers.ChoiceField(
        choices=[s.value for s in SELECTABLE_STATUSES],
        help_text="The status the agent chose; they return to it after a call and its wrap-up.",
    )
    wrap_up_until = serializers.DateTimeField(allow_null=True)
    is_supervisor = serializers.BooleanField()
    skills = SkillSerializer(
        many=True, help_text="The queues whose calls the agent takes, with a level (10 best); none: every queue."
    )


class MeSerializer(AgentSerializer):
    pass
