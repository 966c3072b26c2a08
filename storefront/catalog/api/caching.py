"""Cached catalog reads, ETag and conditional GET.

A read view mixes in `CachedReadMixin` and decorates its `get` with
`@cached_read`. Then, for a GET rendered as JSON:

* the key embeds the cache generations the response depends on (see
  catalog/cache.py), the API version, the audience (staff, who see inactive
  products, never share entries with the public), the scheme and host (the
  body holds absolute URLs), the path with its query string normalised (params
  sorted) and the accepted media type. It is hashed, so hostile query strings
  cannot make odd keys;
* a hit returns the stored bytes without touching the database (pinned by the
  tests: zero queries for an anonymous request);
* a miss renders, stores the body with its ETag and Last-Modified, and
  returns it. Only 200 responses of the JSON renderer are stored; the
  browsable API is never cached;
* every JSON 200 carries `ETag` (a hash of the body) and `Last-Modified` (when
  that body was built); `If-None-Match` with a matching tag answers 304;
* if the cache is unreachable, reads go to the database (the generations
  cannot be read, so nothing is looked up or stored);
* a public answer (200, JSON) is marked for replay: the ASGI layer records it
  with its final headers, and answers the same anonymous request from then on
  without Django, while the generations hold (core/replay.py).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import parse_etags, patch_vary_headers
from django.utils.http import http_date
from rest_framework.request import Request
from rest_framework.response import Response

from storefront.catalog.cache import generation_keys, read_generations
from storefront.core.replay import Replay, ReplayableRead, generations_read_before

RESPONSE_KEY_PREFIX = "catalog:resp:"
CACHE_CONTROL = "private, no-cache"  # clients may keep it, but revalidate (ETag)
VARY = ("Accept", "Authorization", "Cookie")


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:40]}"'


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = parse_etags(header)
    if "*" in tags:
        return True
    bare = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in tags)


def _finish(request: Request, response: HttpResponse, entry: dict[str, Any]) -> HttpResponse:
    if _not_modified(request, entry["etag"]):
        response = HttpResponseNotModified()
    response["ETag"] = entry["etag"]
    response["Last-Modified"] = entry["last_modified"]
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, VARY)
    return response


def cached_read(handler: Callable) -> Callable:
    """Serve `handler` (a view's get) from the cache when possible."""

    @functools.wraps(handler)
    def wrapper(self, request: Request, *args, **kwargs):
        key = self.read_cache_key(request)
        if key is not None:
            entry = cache.get(key)
            if entry is not None:
                response = HttpResponse(entry["body"], content_type=entry["content_type"])
                response["X-Cache"] = "hit"
                self._mark_for_replay(response)
                return _finish(request, response, entry)
        self._read_cache_key = key
        return handler(self, request, *args, **kwargs)

    return wrapper


class CachedReadMixin(ReplayableRead):
    """See the module docstring. `cache_product_kwarg` names the URL kwarg of a
    view scoped to one product (its detail, its reviews): such entries depend on
    that product's generation rather than on the whole catalog's."""

    cache_product_kwarg: str | None = None
    _read_cache_key: str | None = None
    _generations: tuple[int, ...] | None = None
    _public: bool = False

    @classmethod
    def replay_generation_keys(cls, url_kwargs: Mapping[str, Any]) -> list[str]:
        product_id = url_kwargs.get(cls.cache_product_kwarg) if cls.cache_product_kwarg else None
        return generation_keys(product_id)

    def _mark_for_replay(self, response: HttpResponse) -> None:
        # Only what anyone may be shown; the replay layer serves anonymous requests.
        if self._public and self._generations is not None:
            response.replay = Replay(
                generations=self._generations, timeout=settings.CATALOG_CACHE_TIMEOUT
            )

    def read_cache_key(self, request: Request) -> str | None:
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is None or renderer.format != "json":
            return None
        product_id = self.kwargs.get(self.cache_product_kwarg) if self.cache_product_kwarg else None
        generations = generations_read_before(
            request, generation_keys(product_id)
        ) or read_generations(product_id)
        if generations is None:
            return None
        user = request.user
        audience = "staff" if user and user.is_authenticated and user.is_staff else "public"
        self._generations, self._public = generations, audience == "public"
        query = urlencode(sorted(request.query_params.lists()), doseq=True)
        raw = "\n".join(
            [
                str(request.version),
                audience,
                request.scheme,
                request.get_host(),
                request.path,
                query,
                request.accepted_media_type,
                *map(str, generations),
            ]
        )
        return RESPONSE_KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            request.method not in ("GET", "HEAD")
            or response.status_code != 200
            or not isinstance(response, Response)
            or getattr(response, "accepted_renderer", None) is None
            or response.accepted_renderer.format != "json"
        ):
            return response
        response.render()
        entry = {
            "body": response.content,
            "content_type": response["Content-Type"],
            "etag": _etag(response.content),
            "last_modified": http_date(),
        }
        if self._read_cache_key is not None:
            cache.set(self._read_cache_key, entry, timeout=settings.CATALOG_CACHE_TIMEOUT)
            response["X-Cache"] = "miss"
            self._mark_for_replay(response)
        return _finish(request, response, entry)
