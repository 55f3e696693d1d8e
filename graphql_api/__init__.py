"""Scriptbox service: app factory, settings, auth, GraphQL view, errors, CLI."""
