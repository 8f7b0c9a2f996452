# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Freezes: the Argo CD sync windows of kind deny that are active for an application at a given time.

Argo CD's semantics (pkg/apis/application/v1alpha1, SyncWindow.active and SyncWindows.Matches):

- A window has a 5-field cron `schedule`, a Go `duration` and an IANA `timeZone` (UTC when absent). It is
  active at `now` when its last firing time t <= now (in its time zone) satisfies now < t + duration.
- It applies to an application when one of its `applications` globs matches the application's name, or one of
  its `namespaces` globs matches the application's destination namespace, or one of its `clusters` globs
  matches the destination cluster; with `andOperator: true` every list that is given must match.
- An `allow` window is not a freeze and is left out.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from typing import Any

from ansible.errors import AnsibleFilterError

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python < 3.9
    ZoneInfo = None
    ZoneInfoNotFoundError = Exception

try:
    from croniter import CroniterError, croniter

    HAS_CRONITER = True
except ImportError:  # pragma: no cover - reported by the filter
    HAS_CRONITER = False
    CroniterError = ValueError

UTC = dt.timezone.utc
# How many overlapping firings are followed to find where a continuous freeze starts and ends.
MAX_CHAINED_FIRINGS = 1000

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(Z|z|[+-]\d\d:?\d\d)?")


def parse_duration(text: object) -> dt.timedelta:
    """A Go duration string (`1h`, `30m`, `1h30m`, `90m`, `1.5h`) as a timedelta; ValueError otherwise."""
    value = str(text).strip()
    if value == "0":
        return dt.timedelta(0)
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            break
        seconds += float(match[1]) * _UNIT_SECONDS[match[2]]
        position = match.end()
    if not value or position != len(value):
        raise ValueError(f"'{value}' is not a duration such as 1h, 30m or 1h30m")
    return dt.timedelta(seconds=seconds)


def _parse_now(now: Any) -> dt.datetime:
    if now is None or now == "":
        return dt.datetime.now(UTC)
    if isinstance(now, dt.datetime):
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    match = _TIMESTAMP.fullmatch(str(now).strip())
    if not match:
        raise AnsibleFilterError(f"active_sync_windows: now '{now}' is not an ISO 8601 timestamp")
    zone = match[2] or "+00:00"
    zone = "+00:00" if zone in ("Z", "z") else (zone if ":" in zone else zone[:3] + ":" + zone[3:])
    base = match[1].replace(" ", "T")
    if "." in base:
        head, fraction = base.split(".")
        base = f"{head}.{fraction[:6]}"
    return dt.datetime.fromisoformat(base + zone)


def _expand_braces(pattern: str) -> list[str]:
    """`{a,b}` alternatives, as Argo CD's globs have them, expanded for fnmatch."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    expanded = []
    for choice in match[1].split(","):
        expanded += _expand_braces(pattern[:match.start()] + choice + pattern[match.end():])
    return expanded


def glob_match(pattern: str, value: str) -> bool:
    """Argo CD's glob: `*` any characters (`/` included), `?` one, `[...]` a class, `{a,b}` alternatives."""
    if pattern == "*":
        return True
    return any(fnmatch.fnmatchcase(value, choice) for choice in _expand_braces(str(pattern)))


def _any_match(patterns: list, value: str) -> bool:
    return bool(value) and any(glob_match(pattern, value) for pattern in patterns)


def applies(window: dict, application: str, namespace: str, cluster: str = "") -> bool:
    """Whether `window` selects the application (name, destination namespace, destination cluster)."""
    selectors = [
        (list(window.get("applications") or []), application),
        (list(window.get("namespaces") or []), namespace),
        # An unknown cluster is matched only by "*", which matches every cluster.
        (list(window.get("clusters") or []), cluster or "*"),
    ]
    given = [(patterns, value) for patterns, value in selectors if patterns]
    if not given:
        return False
    if window.get("andOperator"):
        return all(_any_match(patterns, value) for patterns, value in given)
    return any(_any_match(patterns, value) for patterns, value in given)


def _fire_times(schedule: str, zone: dt.tzinfo, moment: dt.datetime):
    """A croniter positioned at `moment` (in the window's zone)."""
    return croniter(schedule, moment.astimezone(zone))


def _validate_schedule(schedule: str, where: str) -> None:
    fields = schedule.split()
    if schedule.startswith("@"):
        if schedule.strip() not in _DESCRIPTORS:
            raise AnsibleFilterError(
                f"{where}: schedule '{schedule}' is not supported; use 5 cron fields or one of "
                + ", ".join(_DESCRIPTORS)
            )
    elif len(fields) != 5:
        raise AnsibleFilterError(
            f"{where}: schedule '{schedule}' has {len(fields)} fields; Argo CD takes standard cron with 5 "
            "(minute hour day-of-month month day-of-week), such as '0 22 * * *'"
        )


def active_span(window: dict, now: dt.datetime, where: str = "sync window") -> "tuple[dt.datetime, dt.datetime] | None":
    """(start, end) of the window's freeze that contains `now`, in the window's time zone; None when inactive.

    start and end follow firings whose spans overlap or touch, so they bound the continuous freeze."""
    schedule = str(window.get("schedule") or "").strip()
    zone_name = str(window.get("timeZone") or "UTC")
    _validate_schedule(schedule, where)
    try:
        duration = parse_duration(window.get("duration", ""))
    except ValueError as exc:
        raise AnsibleFilterError(f"{where}: duration {exc}") from None
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(f"{where}: timeZone '{zone_name}' is not an IANA time zone ({exc})") from None
    try:
        # A microsecond later, so that a firing exactly at `now` counts as the last one (t <= now).
        backward = _fire_times(schedule, zone, now + dt.timedelta(microseconds=1))
        last = backward.get_prev(dt.datetime).astimezone(UTC)
    except (CroniterError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(f"{where}: schedule '{schedule}' is not a valid cron expression: {exc}") from None
    if not now < last + duration:
        return None
    start = last
    for _firing in range(MAX_CHAINED_FIRINGS):
        previous = backward.get_prev(dt.datetime).astimezone(UTC)
        if previous + duration < start:
            break
        start = previous
    end = last + duration
    forward = _fire_times(schedule, zone, last)
    for _firing in range(MAX_CHAINED_FIRINGS):
        following = forward.get_next(dt.datetime).astimezone(UTC)
        if following > end:
            break
        end = max(end, following + duration)
    return start.astimezone(zone), end.astimezone(zone)


def active_sync_windows(windows: Any, application: str, namespace: str, now: Any = None, cluster: str = "") -> list:
    """The deny windows of an AppProject's spec.syncWindows that apply to the application and are active at `now`.

    Each is returned as given, with timeZone filled in (UTC) and `start` and `end` (ISO 8601, in the window's
    time zone) of the freeze it is in."""
    if not HAS_CRONITER:
        raise AnsibleFilterError("active_sync_windows needs the Python package croniter on the controller")
    if windows is None:
        return []
    if not isinstance(windows, list):
        raise AnsibleFilterError(
            f"active_sync_windows expects the AppProject's spec.syncWindows list, not {type(windows).__name__}"
        )
    moment = _parse_now(now)
    active = []
    for index, window in enumerate(windows):
        if not isinstance(window, dict):
            raise AnsibleFilterError(f"sync window {index + 1} is not a mapping: {window!r}")
        kind = window.get("kind")
        where = f"sync window {index + 1} ({kind} '{window.get('schedule', '')}')"
        if kind not in ("allow", "deny"):
            raise AnsibleFilterError(f"{where}: kind must be allow or deny")
        if kind != "deny" or not applies(window, application, namespace, cluster):
            continue
        span = active_span(window, moment, where)
        if span is None:
            continue
        entry = dict(window)
        entry["timeZone"] = window.get("timeZone") or "UTC"
        entry["start"], entry["end"] = (moment_.isoformat() for moment_ in span)
        if entry not in active:
            active.append(entry)
    return active


class FilterModule:
    def filters(self) -> dict:
        return {"active_sync_windows": active_sync_windows}
