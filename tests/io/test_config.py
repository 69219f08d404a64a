"""mdc.toml: loading and checking, trading hours, credentials, expiry warnings, redaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import keyring
import pytest
from hypothesis import given
from hypothesis import strategies as st
from keyring.backend import KeyringBackend

from mdc.core.provider import Capability, CredentialSpec, ProviderInfo
from mdc.io.config import (
    CaptureFile,
    ConfigError,
    TradingHours,
    expiry_warnings,
    load,
    parse_hours,
    redactor,
    resolve_credentials,
)

NEW_YORK = ZoneInfo("America/New_York")
FULL = """\
[capture]
providers = ["alpaca", "polygon"]
symbols = ["SPY", "AAPL", "BTC/USD"]
backpressure = "drop-oldest"
queue = 1000
status_file = "capture-status.json"

[providers.alpaca]
feed = "iex"
url = "ws://127.0.0.1:8765/v2/iex"
key_id = "AKFILEKEYID"
secret_key = "file-secret-value"
credentials_expire = 2027-01-31

[providers.polygon]
max_retries = 3

[symbols.SPY]
depth_levels = 10
session = "09:30-16:00 America/New_York"

[symbols."BTC/USD"]
session = "always"
"""
ALPACA = ProviderInfo(
    name="alpaca",
    summary="Alpaca market data stream v2",
    capabilities=frozenset({Capability.REALTIME_TRADES}),
    needs_credentials=True,
    credentials=(
        CredentialSpec("key_id", env="APCA_API_KEY_ID"),
        CredentialSpec("secret_key", env="APCA_API_SECRET_KEY"),
    ),
)


def write(directory: Path, text: str, mode: int = 0o600) -> Path:
    path = directory / "mdc.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def ns(local: dt.datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (whole seconds)."""
    return int(local.timestamp()) * 1_000_000_000


class MemoryKeyring(KeyringBackend):
    """A keyring backend holding passwords in a dict."""

    priority = -1  # never chosen by keyring on its own; tests install it with keyring.set_keyring

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.passwords[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory keyring installed for the test; the previous one is put back after."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


# ---------------------------------------------------------------- load


def test_load_reads_every_table(tmp_path: Path) -> None:
    """A full file comes back as capture settings, provider options and secrets, and per-symbol settings."""
    path = write(tmp_path, FULL)
    assert load(path) == CaptureFile(
        path=path,
        providers=("alpaca", "polygon"),
        symbols=("SPY", "AAPL", "BTC/USD"),
        backpressure="drop-oldest",
        queue=1000,
        status_file=Path("capture-status.json"),
        provider_options={
            "alpaca": {"feed": "iex", "url": "ws://127.0.0.1:8765/v2/iex"},
            "polygon": {"max-retries": "3"},
        },
        provider_secrets={"alpaca": {"key_id": "AKFILEKEYID", "secret_key": "file-secret-value"}},
        expiry={"alpaca": dt.date(2027, 1, 31)},
        sessions={"SPY": TradingHours(), "BTC/USD": TradingHours(always=True)},
        depth_levels={"SPY": 10},
    )


def test_an_empty_file_says_nothing(tmp_path: Path) -> None:
    """Every setting is optional: an empty file leaves them all to the command line."""
    path = write(tmp_path, "")
    assert load(path) == CaptureFile(path=path)


def test_an_expiry_written_as_a_date_time_is_a_date(tmp_path: Path) -> None:
    """credentials_expire given as a TOML date-time is read as its date."""
    path = write(tmp_path, "[providers.alpaca]\ncredentials_expire = 2027-01-31T12:00:00\n")
    assert load(path).expiry == {"alpaca": dt.date(2027, 1, 31)}


def test_an_expiry_written_as_a_string_is_a_date(tmp_path: Path) -> None:
    """credentials_expire given as an ISO string is read as a date."""
    path = write(tmp_path, '[providers.alpaca]\ncredentials_expire = "2027-01-31"\n')
    assert load(path).expiry == {"alpaca": dt.date(2027, 1, 31)}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[capture\nsymbols = []\n", "line 1"),
        ('[capture]\nbackpressure = "fast"\n', "capture.backpressure"),
        ("[capture]\nqueue = 0\n", "capture.queue"),
        ("[capture]\nqueue = -5\n", "capture.queue"),
        ('[capture]\nqueue = "big"\n', "capture.queue"),
        ("[capture]\nqueue = true\n", "capture.queue"),
        ('[capture]\nsymbols = ["SPY", "../etc"]\n', "capture.symbols"),
        ('[capture]\nsymbols = "SPY"\n', "capture.symbols"),
        ('[capture]\nproviders = "alpaca"\n', "capture.providers"),
        ("capture = 1\n", "[capture]"),
        ('[symbols.SPY]\nsession = "9:30 to 4pm"\n', "symbols.SPY"),
        ('[symbols.SPY]\nsession = "09:30-16:00 Mars/Olympus_Mons"\n', "symbols.SPY"),
        ('[symbols.SPY]\nsession = "09:30-16:00 America"\n', "symbols.SPY"),
        ('[symbols.SPY]\nsession = "09:75-16:00 America/New_York"\n', "symbols.SPY"),
        ('[symbols.SPY]\nsession = "09:30-25:00 America/New_York"\n', "symbols.SPY"),
        ("[symbols.SPY]\ndepth_levels = 0\n", "symbols.SPY.depth_levels"),
        ('[symbols.SPY]\ndepth_levels = "ten"\n', "symbols.SPY.depth_levels"),
        ("[symbols.SPY]\ndepth_levels = true\n", "symbols.SPY.depth_levels"),
        ("[symbols]\nSPY = 3\n", "[symbols.SPY]"),
        ("[providers]\nalpaca = 3\n", "[providers.alpaca]"),
        ('[providers.alpaca]\ncredentials_expire = "soon"\n', "providers.alpaca.credentials_expire"),
        ("[providers.alpaca]\ncredentials_expire = 12:00:00\n", "providers.alpaca.credentials_expire"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str) -> None:
    """A wrong file raises ConfigError naming the file and where in it."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert key in str(caught.value)


def test_a_bad_session_error_says_what_was_wrong(tmp_path: Path) -> None:
    """The session error quotes the text and the zone it could not find."""
    path = write(tmp_path, '[symbols.SPY]\nsession = "09:30-16:00 Mars/Olympus_Mons"\n')
    with pytest.raises(ConfigError, match=r"symbols\.SPY: session .*unknown time zone 'Mars/Olympus_Mons'"):
        load(path)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    """A file that cannot be read raises ConfigError naming it."""
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match=rf"^{path}: "):
        load(path)


# ---------------------------------------------------------------- trading hours


def test_parse_hours_reads_times_and_zone() -> None:
    """`HH:MM-HH:MM Zone` gives the open and close minutes and the zone."""
    assert parse_hours(" 08:15-17:45  Europe/London ") == TradingHours(
        always=False, open_minute=8 * 60 + 15, close_minute=17 * 60 + 45, zone="Europe/London"
    )


def test_parse_hours_reads_always() -> None:
    """`always` means open all the time."""
    assert parse_hours("always") == TradingHours(always=True)


@pytest.mark.parametrize("text", ["", "sometimes", "9:30-16:00 America/New_York", "09:30-16:00", "09:30 America/X"])
def test_parse_hours_refuses_other_forms(text: str) -> None:
    """Text in neither form raises ConfigError."""
    with pytest.raises(ConfigError, match="is not 'always'"):
        parse_hours(text)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2024, 1, 8, 9, 29, tzinfo=NEW_YORK), False),  # Monday, EST
        (dt.datetime(2024, 1, 8, 9, 30, tzinfo=NEW_YORK), True),
        (dt.datetime(2024, 1, 8, 15, 59, tzinfo=NEW_YORK), True),
        (dt.datetime(2024, 1, 8, 16, 0, tzinfo=NEW_YORK), False),
        (dt.datetime(2024, 7, 8, 9, 29, tzinfo=NEW_YORK), False),  # Monday, EDT
        (dt.datetime(2024, 7, 8, 9, 30, tzinfo=NEW_YORK), True),
        (dt.datetime(2024, 7, 8, 15, 59, tzinfo=NEW_YORK), True),
        (dt.datetime(2024, 7, 8, 16, 0, tzinfo=NEW_YORK), False),
        (dt.datetime(2024, 3, 11, 9, 30, tzinfo=NEW_YORK), True),  # the Monday after clocks went forward
        (dt.datetime(2024, 11, 4, 9, 30, tzinfo=NEW_YORK), True),  # the Monday after clocks went back
        (dt.datetime(2024, 1, 13, 12, 0, tzinfo=NEW_YORK), False),  # Saturday
        (dt.datetime(2024, 1, 14, 12, 0, tzinfo=NEW_YORK), False),  # Sunday
    ],
)
def test_us_equity_hours_follow_new_york_time(local: dt.datetime, expected: bool) -> None:
    """The default hours are 09:30-16:00 New York time on weekdays, in winter and summer alike."""
    assert TradingHours().is_open(ns(local)) is expected


def test_the_same_utc_instant_is_open_in_summer_but_not_in_winter() -> None:
    """13:30 UTC is 09:30 in New York under daylight saving time and 08:30 without it."""
    summer = dt.datetime(2024, 7, 8, 13, 30, tzinfo=dt.UTC)
    winter = dt.datetime(2024, 1, 8, 13, 30, tzinfo=dt.UTC)
    assert (TradingHours().is_open(ns(summer)), TradingHours().is_open(ns(winter))) == (True, False)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(0, 24 * 60 - 1))
def test_open_exactly_on_weekdays_between_open_and_close(day: dt.date, minute: int) -> None:
    """At a New York wall-clock minute, hours 09:30-16:00 are open iff it is a weekday inside them."""
    local = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=NEW_YORK)
    expected = day.weekday() < 5 and 9 * 60 + 30 <= minute < 16 * 60
    assert parse_hours("09:30-16:00 America/New_York").is_open(ns(local)) is expected


@given(st.integers(min_value=0, max_value=4_102_444_800 * 1_000_000_000))
def test_always_is_always_open(now_ns: int) -> None:
    """`always` hours are open at every instant, weekends included."""
    assert parse_hours("always").is_open(now_ns)


def test_hours_in_another_zone_use_its_clock() -> None:
    """Hours given in Tokyo time are judged on Tokyo's clock."""
    hours = parse_hours("09:00-15:00 Asia/Tokyo")
    monday_morning_tokyo = dt.datetime(2024, 1, 8, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert (hours.is_open(ns(monday_morning_tokyo)), TradingHours().is_open(ns(monday_morning_tokyo))) == (True, False)


# ---------------------------------------------------------------- credentials


def config_with_secrets(path: Path | None) -> CaptureFile:
    return CaptureFile(path=path, provider_secrets={"alpaca": {"key_id": "FILE-KEY", "secret_key": "FILE-SECRET"}})


def test_credentials_come_from_the_environment_first(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """A value in the environment wins over the keyring and the file."""
    memory_keyring.set_password("mdc", "alpaca:key_id", "RING-KEY")
    environ = {"APCA_API_KEY_ID": "ENV-KEY", "APCA_API_SECRET_KEY": "ENV-SECRET"}
    found = resolve_credentials(ALPACA, config_with_secrets(write(tmp_path, "")), environ, print)
    assert found == {"key_id": "ENV-KEY", "secret_key": "ENV-SECRET"}


def test_credentials_come_from_the_keyring_second(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """Without an environment variable, the keyring (service mdc, user provider:name) wins over the file."""
    memory_keyring.set_password("mdc", "alpaca:key_id", "RING-KEY")
    found = resolve_credentials(ALPACA, config_with_secrets(write(tmp_path, "")), {}, print)
    assert found == {"key_id": "RING-KEY", "secret_key": "FILE-SECRET"}


def test_credentials_come_from_the_file_last(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """With neither environment nor keyring, the file's values are used."""
    found = resolve_credentials(ALPACA, config_with_secrets(write(tmp_path, "")), {}, print)
    assert found == {"key_id": "FILE-KEY", "secret_key": "FILE-SECRET"}


def test_missing_credentials_are_left_out(memory_keyring: MemoryKeyring) -> None:
    """A credential found nowhere is absent from the result (the provider says what it lacks)."""
    found = resolve_credentials(ALPACA, CaptureFile(), {"APCA_API_KEY_ID": "ENV-KEY"}, print)
    assert found == {"key_id": "ENV-KEY"}


def test_credentials_of_other_providers_are_not_used(memory_keyring: MemoryKeyring) -> None:
    """Secrets in the file under another provider's table are not this provider's."""
    config = CaptureFile(provider_secrets={"polygon": {"key_id": "POLYGON-KEY"}})
    memory_keyring.set_password("mdc", "polygon:secret_key", "POLYGON-SECRET")
    assert resolve_credentials(ALPACA, config, {}, print) == {}


def test_a_failing_keyring_is_skipped(tmp_path: Path) -> None:
    """A keyring that raises counts as empty: the file's value is used."""

    class BrokenKeyring(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.KeyringLocked(username)

    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        found = resolve_credentials(ALPACA, config_with_secrets(write(tmp_path, "")), {}, print)
    finally:
        keyring.set_keyring(previous)
    assert found == {"key_id": "FILE-KEY", "secret_key": "FILE-SECRET"}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_secret_in_a_file_others_can_read_is_warned_about(
    tmp_path: Path, memory_keyring: MemoryKeyring, mode: int
) -> None:
    """Each secret taken from a group- or world-readable file gives a warning naming the file and the variable."""
    path = write(tmp_path, FULL, mode)
    warnings: list[str] = []
    resolve_credentials(ALPACA, load(path), {}, warnings.append)
    assert len(warnings) == 2
    assert all(str(path) in warning and "chmod 600" in warning for warning in warnings)
    assert "APCA_API_SECRET_KEY" in warnings[1]


def test_a_secret_in_a_private_file_is_not_warned_about(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """A 600 file holding secrets gives no warning."""
    warnings: list[str] = []
    found = resolve_credentials(ALPACA, load(write(tmp_path, FULL, 0o600)), {}, warnings.append)
    assert (found["secret_key"], warnings) == ("file-secret-value", [])


def test_a_readable_file_is_not_warned_about_when_the_secret_came_from_elsewhere(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """The warning is about secrets actually taken from the file."""
    environ = {"APCA_API_KEY_ID": "ENV-KEY", "APCA_API_SECRET_KEY": "ENV-SECRET"}
    warnings: list[str] = []
    resolve_credentials(ALPACA, load(write(tmp_path, FULL, 0o644)), environ, warnings.append)
    assert warnings == []


def test_warnings_never_contain_a_secret(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """Neither the readable-file warnings nor the expiry warnings show a secret value."""
    config = load(write(tmp_path, FULL, 0o644))
    warnings: list[str] = []
    resolve_credentials(ALPACA, config, {}, warnings.append)
    warnings += expiry_warnings(config, dt.date(2027, 1, 30))
    assert len(warnings) == 3
    assert not any("AKFILEKEYID" in warning or "file-secret-value" in warning for warning in warnings)


# ---------------------------------------------------------------- expiry


def expiring(date: dt.date) -> CaptureFile:
    return CaptureFile(expiry={"alpaca": date})


def test_credentials_expiring_within_14_days_are_warned_about() -> None:
    """14 days ahead warns, with the date and the days left."""
    assert expiry_warnings(expiring(dt.date(2027, 1, 31)), dt.date(2027, 1, 17)) == [
        "alpaca's credentials expire on 2027-01-31, in 14 days"
    ]


def test_credentials_expiring_tomorrow_say_one_day() -> None:
    """One day left is said in the singular."""
    assert expiry_warnings(expiring(dt.date(2027, 1, 31)), dt.date(2027, 1, 30)) == [
        "alpaca's credentials expire on 2027-01-31, in 1 day"
    ]


def test_credentials_expiring_in_15_days_are_not_warned_about() -> None:
    """More than 14 days ahead gives no warning."""
    assert expiry_warnings(expiring(dt.date(2027, 1, 31)), dt.date(2027, 1, 16)) == []


def test_credentials_far_in_the_future_are_not_warned_about() -> None:
    """A date years away gives no warning."""
    assert expiry_warnings(expiring(dt.date(2040, 1, 1)), dt.date(2027, 1, 1)) == []


def test_expired_credentials_are_warned_about() -> None:
    """A date in the past says the credentials expired."""
    assert expiry_warnings(expiring(dt.date(2027, 1, 31)), dt.date(2027, 2, 1)) == [
        "alpaca's credentials expired on 2027-01-31 (the config file says so)"
    ]


def test_expiry_warnings_come_in_provider_order() -> None:
    """Several providers' warnings are sorted by provider name."""
    config = CaptureFile(expiry={"polygon": dt.date(2027, 1, 1), "alpaca": dt.date(2026, 1, 1)})
    assert [warning.split("'")[0] for warning in expiry_warnings(config, dt.date(2027, 1, 1))] == ["alpaca", "polygon"]


# ---------------------------------------------------------------- redaction


def test_redactor_replaces_every_secret() -> None:
    """Every known secret value, of any provider, becomes ***, every time it occurs."""
    redact = redactor({"alpaca": {"key_id": "AKID1234", "secret_key": "s3cr3t!"}, "polygon": {"api_key": "PK+9"}})
    assert redact("id=AKID1234 key=s3cr3t! again AKID1234 poly=PK+9") == "id=*** key=*** again *** poly=***"


def test_redactor_replaces_the_longest_secret_first() -> None:
    """A secret containing another is replaced whole, leaving no tail of it."""
    redact = redactor({"a": {"key_id": "abcd"}, "b": {"secret_key": "abcdefgh"}})
    assert redact("x abcdefgh y abcd") == "x *** y ***"


def test_redactor_leaves_values_shorter_than_four_alone() -> None:
    """Values under four characters are too common to scrub (they would mangle ordinary text)."""
    redact = redactor({"a": {"token": "abc"}, "b": {"secret": "WXYZ"}})
    assert redact("abc WXYZ") == "abc ***"


def test_redactor_without_secrets_changes_nothing() -> None:
    """With no secrets known, text passes through."""
    assert redactor({})("key=AKID1234") == "key=AKID1234"


@given(st.text(alphabet="abcdefghij -=", max_size=60))
def test_redactor_leaves_text_without_secrets_unchanged(text: str) -> None:
    """Text that contains no secret comes out as it went in."""
    assert redactor({"alpaca": {"key_id": "XQZ-9999", "secret_key": "K(.*)+"}})(text) == text


no_stars = st.characters(exclude_characters="*")


@given(st.text(no_stars, min_size=4, max_size=20), st.text(no_stars, max_size=30), st.text(no_stars, max_size=30))
def test_a_redacted_text_never_holds_the_secret(secret: str, before: str, after: str) -> None:
    """Whatever surrounds it, a secret of four or more characters does not survive redaction."""
    assert secret not in redactor({"p": {"secret": secret}})(before + secret + after)
