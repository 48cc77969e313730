"""The product's URLs plus `/bench/bare/`: an async view that does nothing, behind the same middleware."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
async def bare(request, phlo_id: str):
    request.body  # noqa: B018 - read the body, as the callback view does
    return JsonResponse({"detail": "ok", "outcome": "bare"})


urlpatterns = [
    path("bench/bare/<str:phlo_id>/", bare),
    path("", include("contactcenter.urls")),
]
