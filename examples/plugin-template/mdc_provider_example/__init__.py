"""An example mdc provider plugin: a small WebSocket feed of trades and quotes.

Copy this package to start a provider of your own. It has the three parts
every WebSocket provider has:

* :mod:`.parse` turns the server's messages into mdc events (pure);
* :mod:`.protocol` is the connection's state machine: authenticate,
  subscribe, report errors (pure, "sans-I/O");
* :mod:`.provider` declares what the provider can do and hands the
  protocol to mdc's WebSocket runner, which does the networking,
  reconnects, heartbeats, stale-symbol checks and failover.

:mod:`.server` is a reference server for the protocol, for tests and demos.
"""
