from actions.clients.commerce import (
    CommerceClient,
    CommerceError,
    CommerceUnavailable,
    Product,
    ProductNotFound,
    SearchHit,
    SearchQuery,
)

__all__ = ["CommerceClient", "CommerceError", "CommerceUnavailable", "Product",
           "ProductNotFound", "SearchHit", "SearchQuery"]
