"""ASGI entry point: HTTP to Django, WebSocket to Channels consumers."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from storefront.core.asgi import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from storefront.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
