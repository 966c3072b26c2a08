"""WebSocket routes (Channels consumers), served beside HTTP by asgi.py."""

from storefront.notifications.routing import websocket_urlpatterns as notifications

websocket_urlpatterns: list = [*notifications]
