"""Plivo's side of the desk, in plain Python: no Django, no models, settings passed in.

- `addresses`: what a member address may look like, and how two are compared;
- `vocabulary`: Plivo's words (PHLO actions, participant roles);
- `http`: the upstream transport both APIs share (pooled client, timeouts, typed errors, logging);
- `phlo_api`: the PHLO API (https://www.plivo.com/docs/phlo/api/);
- `signatures`: X-Plivo-Signature-V3, with the official SDK's helpers;
- `events`: a callback's parameters turned into one `Event`.
"""
