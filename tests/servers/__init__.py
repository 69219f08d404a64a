"""Local servers that speak providers' wire protocols, and network faults, for tests and examples.

Each provider's server is runnable by hand from the repository root, e.g.
``python -m tests.servers.alpaca --port 8765``; :mod:`.proxy` puts faults
(a frozen or cut connection) between any client and server.
"""
