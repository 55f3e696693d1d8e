"""The processes Scriptbox runs as, each built with only what it needs: the
API process (`scriptbox serve`), the worker process (`scriptbox worker`) and
the admin commands (`migrate`, `create-user`, `export-schema`).
"""
