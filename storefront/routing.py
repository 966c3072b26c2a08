"""WebSocket routes (Channels consumers), served beside HTTP by asgi.py."""

websocket_urlpatterns: list = []
