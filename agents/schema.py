"""Serializers that document the API's JSON shapes in the OpenAPI schema (agents/serialize.py
builds them; tests/test_api_fuzzing.py checks real responses against these). `ErrorSerializer` is the one error
shape of the whole API."""

from rest_framework import serializers

from agents.models import AgentStatus


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    status_changed_at = serializers.DateTimeField(allow_null=True)
    wrap_up_until = serializers.DateTimeField(allow_null=True)


class MeSerializer(AgentSerializer):
    is_supervisor = serializers.BooleanField()
