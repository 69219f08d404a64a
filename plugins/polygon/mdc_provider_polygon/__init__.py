"""The Polygon.io (Massive) stocks WebSocket as an mdc provider: ``mdc-capture polygon SPY``."""
