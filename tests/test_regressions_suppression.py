"""Alert suppression: deduplication, cooldown, damping, rate cap, acknowledgement."""

from __future__ import annotations

from evedmv_tui.monitor.regressions import (
    AlertBook,
    AlertPolicy,
    Change,
    ChangeKind,
    Severity,
)

KEY = "statement:3f2a9c0d11e4b7a8:mean_ms"


def change(
    kind: ChangeKind,
    at: float,
    *,
    key: str = KEY,
    severity: Severity = Severity.HIGH,
    size: float = 5.0,
) -> Change:
    return Change(
        kind, key, "level", "SELECT 1", severity, at, at, 10.0, 10 * size, 50.0, size
    )


def test_open_raises_once_and_updates_stay_quiet() -> None:
    book = AlertBook()
    outcome = book.apply([change("opened", 0.0)])
    assert [a.key for a in outcome.raised] == [KEY]
    assert [e.event for e in outcome.events] == ["opened"]
    for at in range(2, 40, 2):
        outcome = book.apply([change("updated", float(at))])
        assert outcome.raised == []
        assert outcome.events == []
        assert len(outcome.writes) == 1
    assert len(book.active()) == 1


def test_escalation_is_raised() -> None:
    book = AlertBook()
    book.apply([change("opened", 0.0, severity=Severity.MEDIUM)])
    outcome = book.apply([change("escalated", 2.0, severity=Severity.CRITICAL)])
    assert [a.severity for a in outcome.raised] == [Severity.CRITICAL]
    assert [e.event for e in outcome.events] == ["escalated"]


def test_escalation_note_names_both_severities() -> None:
    """The alert log read "escalated was medium", which leaves out the new
    severity and does not read as a sentence."""
    book = AlertBook()
    book.apply([change("opened", 0.0, severity=Severity.MEDIUM)])
    outcome = book.apply([change("escalated", 2.0, severity=Severity.HIGH)])
    assert [e.note for e in outcome.events] == ["from medium to high"]


def test_reopen_within_cooldown_is_quiet() -> None:
    book = AlertBook(AlertPolicy(cooldown=600.0))
    book.apply([change("opened", 0.0)])
    cleared = book.apply([change("cleared", 20.0)])
    assert [e.event for e in cleared.events] == ["cleared"]
    assert book.active() == []
    outcome = book.apply([change("opened", 100.0)])
    assert outcome.raised == []
    assert [e.event for e in outcome.events] == ["reopened"]
    assert outcome.writes[0].reopen
    alert = book.get(KEY)
    assert alert is not None
    assert alert.opened_at == 0.0


def test_reopen_at_higher_severity_is_raised() -> None:
    book = AlertBook()
    book.apply([change("opened", 0.0, severity=Severity.MEDIUM)])
    book.apply([change("cleared", 20.0)])
    outcome = book.apply([change("opened", 40.0, severity=Severity.CRITICAL)])
    assert [a.severity for a in outcome.raised] == [Severity.CRITICAL]


def test_open_after_cooldown_is_a_new_alert() -> None:
    book = AlertBook(AlertPolicy(cooldown=600.0))
    book.apply([change("opened", 0.0)])
    book.apply([change("cleared", 20.0)])
    outcome = book.apply([change("opened", 700.0)])
    assert len(outcome.raised) == 1
    assert outcome.raised[0].opened_at == 700.0
    assert not outcome.writes[0].reopen


def test_flapping_key_is_damped_then_released() -> None:
    policy = AlertPolicy(cooldown=0.0, flap_half_life=600.0)
    book = AlertBook(policy)
    raised = []
    at = 0.0
    for _ in range(3):
        raised.extend(book.apply([change("opened", at)]).raised)
        book.apply([change("cleared", at + 10.0)])
        at += 20.0
    # Each clear adds 1 and the penalty decays a little in between, so the
    # limit of 2 is passed at the third clear.
    assert len(raised) == 3
    assert book.penalty(KEY, at) > policy.flap_suppress
    outcome = book.apply([change("opened", at)])
    assert outcome.raised == []
    assert [e.event for e in outcome.events] == ["opened", "suppressed"]
    alert = book.get(KEY)
    assert alert is not None
    assert alert.suppressed == "flapping"
    book.apply([change("cleared", at + 10.0)])
    # After three half-lives the penalty is below the reuse limit.
    later = at + 10.0 + 3 * 600.0
    assert book.penalty(KEY, later) < policy.flap_reuse
    assert len(book.apply([change("opened", later)]).raised) == 1


def test_rate_cap_per_minute() -> None:
    book = AlertBook(AlertPolicy(max_per_minute=10))
    changes = [change("opened", 0.0, key=f"statement:{i}:mean_ms") for i in range(15)]
    outcome = book.apply(changes)
    assert len(outcome.raised) == 10
    assert book.rate_limited == 5
    limited = [a for a in book.active() if a.suppressed == "rate limit"]
    assert len(limited) == 5
    assert sum(e.event == "rate limited" for e in outcome.events) == 5
    later = book.apply([change("opened", 61.0, key="statement:late:mean_ms")])
    assert len(later.raised) == 1


def test_acknowledged_alert_is_quiet_until_it_worsens() -> None:
    book = AlertBook()
    book.apply([change("opened", 0.0, severity=Severity.MEDIUM, size=2.5)])
    acknowledged = book.acknowledge(KEY, 5.0)
    assert acknowledged is not None
    assert acknowledged.acknowledged
    same = book.apply([change("updated", 6.0, severity=Severity.MEDIUM, size=3.0)])
    assert same.raised == []
    still = book.get(KEY)
    assert still is not None
    assert still.acknowledged
    worse = book.apply([change("escalated", 8.0, severity=Severity.HIGH, size=5.0)])
    assert len(worse.raised) == 1
    assert not worse.raised[0].acknowledged
    assert "unacknowledged" in [e.event for e in worse.events]
    assert worse.writes[0].write_acknowledgement


def test_acknowledged_critical_worsens_by_size() -> None:
    book = AlertBook(AlertPolicy(worsen_factor=2.0))
    book.apply([change("opened", 0.0, severity=Severity.CRITICAL, size=20.0)])
    book.acknowledge(KEY, 1.0)
    assert (
        book.apply(
            [change("updated", 2.0, severity=Severity.CRITICAL, size=30.0)]
        ).raised
        == []
    )
    outcome = book.apply(
        [change("updated", 4.0, severity=Severity.CRITICAL, size=45.0)]
    )
    assert len(outcome.raised) == 1


def test_acknowledgement_holds_through_a_quiet_reopen() -> None:
    book = AlertBook()
    book.apply([change("opened", 0.0)])
    book.acknowledge(KEY, 1.0)
    book.apply([change("cleared", 10.0)])
    outcome = book.apply([change("opened", 30.0)])
    assert outcome.raised == []
    alert = book.get(KEY)
    assert alert is not None
    assert alert.acknowledged


def test_update_of_unknown_key_opens_it() -> None:
    """A regression restored from a baseline without its alert row still alerts."""
    book = AlertBook()
    outcome = book.apply([change("updated", 0.0)])
    assert len(outcome.raised) == 1
    assert book.apply([change("cleared", 5.0, key="unknown:x_ms")]).writes == []
