from actions.clients.commerce import (
    Address,
    Cart,
    CartLine,
    CommerceClient,
    CommerceError,
    CommerceUnavailable,
    Interpretation,
    Order,
    Payment,
    Product,
    ProductNotFound,
    Quote,
    SearchHit,
    SearchPage,
    SearchQuery,
)

__all__ = ["Address", "Cart", "CartLine", "CommerceClient", "CommerceError",
           "CommerceUnavailable", "Interpretation", "Order", "Payment", "Product",
           "ProductNotFound", "Quote", "SearchHit", "SearchPage", "SearchQuery"]
