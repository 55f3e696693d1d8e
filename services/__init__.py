"""The domain: one module (or small folder) per concept, holding its operations.

Resolvers, the REST path and the downloads are thin adapters over these;
they check who is asking, call a service and shape the answer. A service
reaches another concept only through that concept's service. Nothing here
knows GraphQL or HTTP.
"""
