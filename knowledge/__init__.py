"""Atelier knowledge: product search (dense FAISS + lexical) and the merchant's FAQ."""
