"""The outbox: ids made once, one batch in flight, retries with backoff, bounded memory."""

from rapport.client_py.schema import MAX_SIGNALS_PER_BATCH
from rapport.client_py.sender import BACKOFF_START_MS, MAX_ATTEMPTS, MAX_QUEUED, Outbox

SIGNAL = {"kind": "scroll", "depth": 0.5}


def outbox() -> Outbox:
    return Outbox("pk_abcdefgh", "k" * 43, "s" * 22, interval_ms=1_000)


def test_queued_signals_go_out_in_a_batch_with_an_id() -> None:
    box = outbox()
    box.add([SIGNAL])
    batch = box.next_batch(0)
    assert batch is not None and len(batch.id) >= 16
    assert batch.body("pk_abcdefgh", "k" * 43, "s" * 22)["signals"] == [SIGNAL]


def test_signals_the_schema_does_not_allow_never_enter_the_queue() -> None:
    box = outbox()
    box.add([{"kind": "text", "value": "hello"}])
    assert box.queue == [] and box.dropped == 1


def test_only_one_batch_is_in_flight() -> None:
    box = outbox()
    box.add([SIGNAL])
    assert box.next_batch(0) is not None
    box.add([SIGNAL])
    assert box.next_batch(5_000) is None


def test_batches_are_paced_by_the_interval() -> None:
    box = outbox()
    box.add([SIGNAL])
    first = box.next_batch(0)
    assert first is not None
    box.acknowledge(first.id, 200, 10)
    box.add([SIGNAL])
    assert box.next_batch(500) is None
    assert box.next_batch(1_000) is not None


def test_a_failed_batch_is_retried_with_the_same_id_after_a_backoff() -> None:
    box = outbox()
    box.add([SIGNAL])
    batch = box.next_batch(0)
    assert batch is not None
    box.acknowledge(batch.id, 503, 100)
    assert box.next_batch(100 + BACKOFF_START_MS - 1) is None
    retry = box.next_batch(100 + BACKOFF_START_MS)
    assert retry is not None and retry.id == batch.id and retry.attempts == 2


def test_backoff_doubles_between_retries() -> None:
    box = outbox()
    box.add([SIGNAL])
    batch = box.next_batch(0)
    assert batch is not None
    box.acknowledge(batch.id, 0, 0)
    box.next_batch(BACKOFF_START_MS)
    box.acknowledge(batch.id, 0, BACKOFF_START_MS)
    assert batch.not_before == BACKOFF_START_MS + 2 * BACKOFF_START_MS


def test_a_rejected_batch_is_not_retried() -> None:
    box = outbox()
    box.add([SIGNAL])
    batch = box.next_batch(0)
    assert batch is not None
    box.acknowledge(batch.id, 422, 0)
    assert box.in_flight is None and box.dropped == 1


def test_a_batch_is_given_up_after_the_last_attempt() -> None:
    box = outbox()
    box.add([SIGNAL])
    now = 0.0
    batch = box.next_batch(now)
    while batch is not None and batch.attempts < MAX_ATTEMPTS:
        box.acknowledge(batch.id, 0, now)
        now = batch.not_before
        batch = box.next_batch(now)
    assert batch is not None
    box.acknowledge(batch.id, 0, now)
    assert box.in_flight is None


def test_a_batch_holds_at_most_the_schema_limit_of_signals() -> None:
    box = outbox()
    box.add([SIGNAL] * (MAX_SIGNALS_PER_BATCH + 5))
    batch = box.next_batch(0)
    assert batch is not None and len(batch.signals) == MAX_SIGNALS_PER_BATCH
    assert len(box.queue) == 5


def test_the_final_batch_takes_everything_queued_even_with_one_in_flight() -> None:
    box = outbox()
    box.add([SIGNAL])
    box.next_batch(0)
    box.add([SIGNAL, SIGNAL])
    final = box.final_batch()
    assert final is not None and len(final.signals) == 2 and box.queue == []


def test_the_queue_is_bounded_and_drops_the_oldest() -> None:
    box = outbox()
    box.add([{"kind": "clicks", "count": i} for i in range(MAX_QUEUED + 10)])
    assert len(box.queue) == MAX_QUEUED
    assert box.queue[0] == {"kind": "clicks", "count": 10}


def test_send_soon_skips_the_pacing_once() -> None:
    box = outbox()
    box.add([SIGNAL])
    first = box.next_batch(0)
    assert first is not None
    box.acknowledge(first.id, 200, 10)
    box.add([SIGNAL])
    assert box.next_batch(20) is None  # paced: 1 s between batches
    box.send_soon()
    urgent = box.next_batch(30)
    assert urgent is not None and urgent.id != first.id
    box.acknowledge(urgent.id, 200, 40)
    box.add([SIGNAL])
    assert box.next_batch(50) is None  # once: the pacing is back
    assert box.next_batch(1_030) is not None


def test_send_soon_still_waits_for_the_batch_in_flight_and_keeps_its_id() -> None:
    box = outbox()
    box.add([SIGNAL])
    first = box.next_batch(0)
    assert first is not None
    box.add([SIGNAL])
    box.send_soon()
    assert box.next_batch(10) is None  # one in flight
    box.acknowledge(first.id, 503, 20)
    assert box.next_batch(30) is None  # a retry's backoff is not skipped either
    retry = box.next_batch(20 + BACKOFF_START_MS)
    assert retry is not None and retry.id == first.id  # still idempotent
    box.acknowledge(retry.id, 200, 1_100)
    urgent = box.next_batch(1_110)  # the request outlived the round trip: goes at once
    assert urgent is not None and urgent.id != first.id


def test_send_soon_with_nothing_queued_lapses() -> None:
    box = outbox()
    box.add([SIGNAL])
    first = box.next_batch(0)
    assert first is not None
    box.acknowledge(first.id, 200, 10)
    box.send_soon()
    assert box.next_batch(20) is None and not box.urgent
    box.add([SIGNAL])
    assert box.next_batch(30) is None  # a later, ordinary change waits for the interval
