"""The bottom layer: what every other package needs and nothing of the project it needs.

Settings, client errors, ids and small shared helpers live here so that the
lower layers (models, storage, sandbox, engine) never have to import the
outermost package to read a setting or raise a client error. Nothing in
`core` imports another Scriptbox package; the layers contract in
pyproject.toml enforces it.
"""
