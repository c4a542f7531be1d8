"""Reviews: a shopper rates what they received; the merchant moderates; products show it."""
