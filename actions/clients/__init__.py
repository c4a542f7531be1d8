from actions.clients.commerce import (
    Address,
    Cart,
    CartLine,
    CommerceClient,
    CommerceError,
    CommerceUnavailable,
    Order,
    Payment,
    Product,
    ProductNotFound,
    Quote,
    SearchHit,
    SearchQuery,
)

__all__ = ["Address", "Cart", "CartLine", "CommerceClient", "CommerceError",
           "CommerceUnavailable", "Order", "Payment", "Product", "ProductNotFound", "Quote",
           "SearchHit", "SearchQuery"]
