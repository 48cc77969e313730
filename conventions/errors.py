"""Every API error is JSON with a `detail` (plus field errors for 400), whatever raised it: the one
error shape of the whole API (`ErrorSerializer` documents it in the OpenAPI schema)."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError) and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": _first_message(response.data), **response.data}
    elif isinstance(exc, ValidationError) and isinstance(response.data, list):
        response.data = {"detail": " ".join(str(m) for m in response.data)}
    return response


def _first_message(errors: dict) -> str:
    for field, messages in errors.items():
        text = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(text, dict):
            text = _first_message(text)
        return f"{field}: {text}" if field != "non_field_errors" else str(text)
    return "Invalid request."


def error_response(detail: str, http_status: int, **extra) -> Response:
    return Response({"detail": detail, **extra}, status=http_status)


def not_found(request, exception=None):
    """A URL under /api/ that matches nothing (an unknown action, an id that is not a number) is a
    JSON 404 like every other API error; pages keep Django's HTML one."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)


__all__ = ["ErrorSerializer", "error_response", "exception_handler", "not_found", "server_error", "status"]
