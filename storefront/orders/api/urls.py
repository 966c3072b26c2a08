from django.urls import path

from storefront.orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="order-list"),
    path("orders/<uuid:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<uuid:pk>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<uuid:pk>/fulfil/", views.OrderFulfilView.as_view(), name="order-fulfil"),
]
