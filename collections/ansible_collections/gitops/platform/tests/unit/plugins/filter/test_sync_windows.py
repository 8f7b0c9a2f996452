"""gitops.platform.active_sync_windows: which deny windows of an AppProject freeze an application, and until when."""

from __future__ import annotations

import datetime as dt

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gitops.platform.plugins.filter.sync_windows import FilterModule, parse_duration

active_sync_windows = FilterModule().filters()["active_sync_windows"]

APP, NAMESPACE = "demo-flask-app-production", "demo-production"


def deny(schedule: str = "0 22 * * *", duration: str = "1h", **fields) -> dict:
    return {"kind": "deny", "schedule": schedule, "duration": duration, "applications": ["*"], **fields}


def spans(windows: list, now, application: str = APP, namespace: str = NAMESPACE, **keywords) -> list:
    return [(w["start"], w["end"]) for w in active_sync_windows(windows, application, namespace, now, **keywords)]


# (window, now) -> [(start, end)] of the active freeze, [] when inactive
EDGES = [
    # The firing second itself is active (t <= now), the end is not (now < t + duration).
    (deny(), "2024-05-01T21:59:59Z", []),
    (deny(), "2024-05-01T22:00:00Z", [("2024-05-01T22:00:00+00:00", "2024-05-01T23:00:00+00:00")]),
    (deny(), "2024-05-01T22:59:59Z", [("2024-05-01T22:00:00+00:00", "2024-05-01T23:00:00+00:00")]),
    (deny(), "2024-05-01T23:00:00Z", []),
    # Across midnight: the firing of the day before.
    (deny(duration="4h"), "2024-05-02T01:30:00Z", [("2024-05-01T22:00:00+00:00", "2024-05-02T02:00:00+00:00")]),
    (deny(duration="30m"), "2024-05-01T22:29:59Z", [("2024-05-01T22:00:00+00:00", "2024-05-01T22:30:00+00:00")]),
    (deny(duration="30m"), "2024-05-01T22:30:00Z", []),
    (deny(duration="90m"), "2024-05-01T23:29:00Z", [("2024-05-01T22:00:00+00:00", "2024-05-01T23:30:00+00:00")]),
    (deny(duration="1h30m"), "2024-05-01T23:30:00Z", []),
    (deny(duration="1.5h"), "2024-05-01T23:29:59Z", [("2024-05-01T22:00:00+00:00", "2024-05-01T23:30:00+00:00")]),
    (deny(duration="0"), "2024-05-01T22:00:00Z", []),
    # Weekdays only: Wednesday 2024-05-01 yes, Saturday 2024-05-04 no.
    (deny("0 22 * * MON-FRI"), "2024-05-01T22:10:00Z",
     [("2024-05-01T22:00:00+00:00", "2024-05-01T23:00:00+00:00")]),
    (deny("0 22 * * 1-5"), "2024-05-04T22:10:00Z", []),
    # Descriptors.
    (deny("@daily", "2h"), "2024-05-01T01:59:00Z", [("2024-05-01T00:00:00+00:00", "2024-05-01T02:00:00+00:00")]),
    (deny("@hourly", "5m"), "2024-05-01T13:06:00Z", []),
    # Firings whose spans overlap or touch make one freeze: 09:00, 10:00 and 11:00 for 90 minutes each.
    (deny("0 9-11 * * *", "90m"), "2024-05-01T10:15:00Z",
     [("2024-05-01T09:00:00+00:00", "2024-05-01T12:30:00+00:00")]),
    (deny("0 9,10 * * *", "1h"), "2024-05-01T10:30:00Z",
     [("2024-05-01T09:00:00+00:00", "2024-05-01T11:00:00+00:00")]),
    (deny("0 9,11 * * *", "1h"), "2024-05-01T11:30:00Z",
     [("2024-05-01T11:00:00+00:00", "2024-05-01T12:00:00+00:00")]),
    # A time zone: 22:00 in Berlin (UTC+2 in May) is 20:00 UTC.
    (deny(timeZone="Europe/Berlin"), "2024-05-01T20:30:00Z",
     [("2024-05-01T22:00:00+02:00", "2024-05-01T23:00:00+02:00")]),
    (deny(timeZone="Europe/Berlin"), "2024-05-01T22:30:00Z", []),
    (deny(timeZone="America/New_York"), "2024-05-02T02:59:59Z",
     [("2024-05-01T22:00:00-04:00", "2024-05-01T23:00:00-04:00")]),
    # The duration is elapsed time: the night clocks go forward (Berlin, 2024-03-31 02:00 -> 03:00), a 3h window
    # from 01:00+01:00 (00:00 UTC) ends at 03:00 UTC, which is 05:00 local.
    (deny("0 1 * * *", "3h", timeZone="Europe/Berlin"), "2024-03-31T02:59:00Z",
     [("2024-03-31T01:00:00+01:00", "2024-03-31T05:00:00+02:00")]),
    (deny("0 1 * * *", "3h", timeZone="Europe/Berlin"), "2024-03-31T03:00:00Z", []),
    # `now` with an offset, and a naive datetime (UTC).
    (deny(), "2024-05-02T00:30:00+02:00", [("2024-05-01T22:00:00+00:00", "2024-05-01T23:00:00+00:00")]),
    (deny(), dt.datetime(2024, 5, 1, 22, 30), [("2024-05-01T22:00:00+00:00", "2024-05-01T23:00:00+00:00")]),
    (deny(), dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
     [("2024-05-01T22:00:00+00:00", "2024-05-01T23:00:00+00:00")]),
]


@pytest.mark.parametrize(("window", "now", "expected"), EDGES)
def test_active_edges(window, now, expected):
    assert spans([window], now) == expected


# (selectors of the window, keyword arguments) -> whether it applies to APP in NAMESPACE
MATCHES = [
    ({"applications": ["demo-*"]}, {}, True),
    ({"applications": ["demo-flask-app-production"]}, {}, True),
    ({"applications": ["demo-flask-app-staging"]}, {}, False),
    ({"applications": ["other", "*-production"]}, {}, True),
    ({"applications": ["demo-flask-app-{staging,production}"]}, {}, True),
    ({"applications": ["demo-flask-app-{dev,staging}"]}, {}, False),
    ({"applications": ["demo-flask-app-?roduction"]}, {}, True),
    ({"applications": ["[a-c]*"]}, {}, False),
    ({"applications": [], "namespaces": ["*-production"]}, {}, True),
    ({"applications": [], "namespaces": ["demo-staging"]}, {}, False),
    # Clusters: only "*" matches an application whose cluster is not given.
    ({"applications": [], "clusters": ["*"]}, {}, True),
    ({"applications": [], "clusters": ["in-cluster"]}, {}, False),
    ({"applications": [], "clusters": ["in-cluster"]}, {"cluster": "in-cluster"}, True),
    ({"applications": [], "clusters": ["https://kubernetes.default.svc"]},
     {"cluster": "https://kubernetes.default.svc"}, True),
    # Any selector suffices (OR), unless andOperator asks for all of those given.
    ({"applications": ["other"], "namespaces": ["demo-*"]}, {}, True),
    ({"applications": ["other"], "namespaces": ["demo-*"], "andOperator": True}, {}, False),
    ({"applications": ["demo-*"], "namespaces": ["demo-*"], "andOperator": True}, {}, True),
    ({"applications": ["demo-*"], "clusters": ["prod"], "andOperator": True}, {}, False),
    ({"applications": ["demo-*"], "clusters": ["prod"], "andOperator": True}, {"cluster": "prod"}, True),
    # No selector at all: Argo CD refuses such a window; it applies to nothing.
    ({"applications": []}, {}, False),
]


@pytest.mark.parametrize(("selectors", "keywords", "applies"), MATCHES)
def test_glob_matching(selectors, keywords, applies):
    window = {**deny(), **selectors}
    assert bool(spans([window], "2024-05-01T22:30:00Z", **keywords)) is applies


def test_allow_windows_are_not_freezes():
    windows = [{"kind": "allow", "schedule": "0 22 * * *", "duration": "1h", "applications": ["*"]}]
    assert active_sync_windows(windows, APP, NAMESPACE, "2024-05-01T22:30:00Z") == []


def test_a_window_is_returned_as_given_with_its_span():
    window = deny(manualSync=True, description="release freeze, ticket 123", namespaces=["demo-*"])
    window.pop("applications")
    windows = [{"kind": "allow", "schedule": "* * * * *", "duration": "1h", "applications": ["*"]}, window,
               deny("0 9 * * *")]
    assert active_sync_windows(windows, APP, NAMESPACE, "2024-05-01T22:30:00Z") == [{
        **window,
        "timeZone": "UTC",
        "start": "2024-05-01T22:00:00+00:00",
        "end": "2024-05-01T23:00:00+00:00",
    }]


def test_the_same_window_twice_is_returned_once():
    assert len(active_sync_windows([deny(), deny()], APP, NAMESPACE, "2024-05-01T22:30:00Z")) == 1


def test_no_windows():
    assert active_sync_windows(None, APP, NAMESPACE) == []
    assert active_sync_windows([], APP, NAMESPACE) == []


def test_now_defaults_to_the_clock():
    # Every minute for two minutes: always active, whenever the test runs.
    assert len(active_sync_windows([deny("* * * * *", "2m")], APP, NAMESPACE)) == 1


# (windows, now) -> words of the error
ERRORS = [
    ([deny("61 22 * * *")], None, "sync window 1 (deny '61 22 * * *'): schedule '61 22 * * *' is not a valid cron "
                                  "expression"),
    ([deny(), deny("0 22 * *")], None, "sync window 2 (deny '0 22 * *'): schedule '0 22 * *' has 4 fields; Argo CD "
                                       "takes standard cron with 5"),
    ([deny("0 0 22 * * *")], None, "schedule '0 0 22 * * *' has 6 fields"),
    ([deny("")], None, "schedule '' has 0 fields"),
    ([deny("@every 1h")], None, "schedule '@every 1h' is not supported; use 5 cron fields or one of @yearly"),
    ([deny("0 22 * * BOGUS")], None, "schedule '0 22 * * BOGUS' is not a valid cron expression"),
    ([deny(duration="1 hour")], None, "duration '1 hour' is not a duration such as 1h, 30m or 1h30m"),
    ([deny(duration="")], None, "duration '' is not a duration"),
    ([deny(duration="-1h")], None, "duration '-1h' is not a duration"),
    ([deny(timeZone="Mars/Olympus")], None, "timeZone 'Mars/Olympus' is not an IANA time zone"),
    ([{**deny(), "kind": "block"}], None, "sync window 1 (block '0 22 * * *'): kind must be allow or deny"),
    ([deny(), "0 22 * * *"], None, "sync window 2 is not a mapping"),
    ({"syncWindows": []}, None, "expects the AppProject's spec.syncWindows list, not dict"),
    ([deny()], "tonight", "now 'tonight' is not an ISO 8601 timestamp"),
]


@pytest.mark.parametrize(("windows", "now", "message"), ERRORS)
def test_bad_windows_fail_clearly(windows, now, message):
    with pytest.raises(AnsibleFilterError) as raised:
        active_sync_windows(windows, APP, NAMESPACE, now or "2024-05-01T22:30:00Z")
    assert message in str(raised.value)


def test_a_bad_window_for_another_application_does_not_fail_this_one():
    windows = [deny("61 * * * *", applications=["other"]), deny()]
    assert len(active_sync_windows(windows, APP, NAMESPACE, "2024-05-01T22:30:00Z")) == 1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h", 3600), ("30m", 1800), ("90m", 5400), ("24h", 86400), ("1h30m", 5400), ("1.5h", 5400), ("45s", 45),
     ("1h0m0s", 3600), ("500ms", 0.5), ("0", 0), ("2h45m30s", 9930)],
)
def test_go_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "1", "1d", "1 h", "1h 30m", "-1h", "+1h", "1H"])
def test_what_go_would_not_parse(text):
    with pytest.raises(ValueError):
        parse_duration(text)
