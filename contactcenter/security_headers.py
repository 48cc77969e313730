"""The site's own security headers, set by middleware that runs inline on the event loop
(fastpath/middleware.py, `InlineHooks`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.deprecation import MiddlewareMixin

from fastpath.middleware import InlineHooks


class ContentSecurityPolicyMiddleware(InlineHooks, MiddlewareMixin):
    """`Content-Security-Policy` on every response that has none (settings.CONTENT_SECURITY_POLICY):
    scripts only from the site's own files. The API docs page also loads Swagger UI from where
    drf-spectacular is told to (SWAGGER_UI_DIST: a CDN, or the site itself) and carries an inline
    <style>; that page alone allows those."""

    DOCS_PATH = "/api/docs/"

    def __init__(self, get_response):
        super().__init__(get_response)
        self.policy = settings.CONTENT_SECURITY_POLICY
        self.docs_policy = _docs_policy(self.policy)

    def process_response(self, request, response):
        if "Content-Security-Policy" not in response:
            docs = request.path.startswith(self.DOCS_PATH)
            response["Content-Security-Policy"] = self.docs_policy if docs else self.policy
        return response


def _docs_policy(policy: str) -> str:
    from drf_spectacular.settings import spectacular_settings

    origins = sorted({
        f"{parts.scheme}://{parts.netloc}"
        for parts in map(urlsplit, (spectacular_settings.SWAGGER_UI_DIST, spectacular_settings.SWAGGER_UI_FAVICON_HREF))
        if parts.scheme in ("http", "https")
    })
    extra = {"script-src": origins, "style-src": ["'unsafe-inline'", *origins], "img-src": origins}
    directives = []
    for directive in filter(str.strip, policy.split(";")):
        name, *sources = directive.split()
        directives.append(" ".join([name, *sources, *extra.get(name, [])]))
    return "; ".join(directives)
