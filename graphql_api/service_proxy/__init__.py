"""HTTP through Scriptbox to a user's service: `/services/{id}/{path}`.

`route.py` decides who may reach which service and answers errors;
`forward.py` passes one request over the service's unix socket and its
response back, within `limits.py`'s caps; `websocket_relay.py` relays a
WebSocket; `headers.py` says which headers cross; `address_rate.py` limits
anonymous callers per client address.
"""

from graphql_api.service_proxy.route import PREFIX, routes

__all__ = ["PREFIX", "routes"]
