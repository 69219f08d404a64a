"""mdc's Interactive Brokers provider: TWS or IB Gateway through ib_async, bridged to trio."""
