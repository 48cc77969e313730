from django.urls import path

from calls.intake.views import plivo_callback

urlpatterns = [path("plivo/<str:phlo_id>/", plivo_callback, name="plivo-callback")]
