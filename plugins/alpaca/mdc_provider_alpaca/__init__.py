"""mdc's Alpaca provider: the market data stream v2 for stocks, turned into mdc events.

``parse`` turns the server's frames into events (pure), ``protocol`` is the
sans-I/O handshake and subscription state machine, ``options`` reads the
provider's options, and ``provider`` hands all of it to mdc's WebSocket runner.
"""
