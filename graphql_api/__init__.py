"""Scriptbox service: the HTTP face. The Starlette app, the GraphQL view and
its WebSocket protocols, REST, downloads and the web page."""
