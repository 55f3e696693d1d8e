"""Strawberry types, queries, mutations and subscriptions. Thin: they check who
asks, call the domain, and shape the answer."""
