"""The pure core of mdc: events, the codec, validation, collectors and calculations.

Nothing here does I/O, reads a clock or draws random numbers; time and
randomness come in as arguments. Import what you need from here::

    from mdc.core import decode_line, validate_event, Policy, Trade
"""

from .codec import decode_line as decode_line
from .codec import decode_object as decode_object
from .codec import encode_event as encode_event
from .codec import encode_lines as encode_lines
from .codec import migrate as migrate
from .collectors import Collectors as Collectors
from .collectors import Outcome as Outcome
from .collectors import observe as observe
from .errors import RULES as RULES
from .errors import Violation as Violation
from .errors import Violations as Violations
from .events import EVENT_TYPES as EVENT_TYPES
from .events import INTEGRITY_KINDS as INTEGRITY_KINDS
from .events import SCHEMA_VERSION as SCHEMA_VERSION
from .events import Bar as Bar
from .events import Depth as Depth
from .events import Integrity as Integrity
from .events import Luld as Luld
from .events import MarketEvent as MarketEvent
from .events import Quote as Quote
from .events import Snapshot as Snapshot
from .events import Status as Status
from .events import Trade as Trade
from .events import TradeCancel as TradeCancel
from .events import TradeCorrection as TradeCorrection
from .pipeline import ValidatorState as ValidatorState
from .pipeline import validate_frames as validate_frames
from .pipeline import validate_line as validate_line
from .timestamps import Timestamp as Timestamp
from .timestamps import canonical as canonical_timestamp
from .timestamps import from_ns as from_ns
from .timestamps import to_ns as to_ns
from .validate import CrossedQuotes as CrossedQuotes
from .validate import Policy as Policy
from .validate import validate_event as validate_event

__all__ = [
    "EVENT_TYPES",
    "INTEGRITY_KINDS",
    "RULES",
    "SCHEMA_VERSION",
    "Bar",
    "Collectors",
    "CrossedQuotes",
    "Depth",
    "Integrity",
    "Luld",
    "MarketEvent",
    "Outcome",
    "Policy",
    "Quote",
    "Snapshot",
    "Status",
    "Timestamp",
    "Trade",
    "TradeCancel",
    "TradeCorrection",
    "ValidatorState",
    "Violation",
    "Violations",
    "canonical_timestamp",
    "decode_line",
    "decode_object",
    "encode_event",
    "encode_lines",
    "from_ns",
    "migrate",
    "observe",
    "to_ns",
    "validate_event",
    "validate_frames",
    "validate_line",
]
