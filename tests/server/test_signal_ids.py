"""Issue 19: the PostgreSQL writer cuts signal ids from blocks of the sequence
(``server/storage/signal_ids.py``) — each batch's ids consecutive, the sequence asked only
when a block runs out."""

from __future__ import annotations

import pytest

from rapport.server.storage.signal_ids import SignalIds


def test_the_first_group_asks_for_one_block_and_its_batches_get_consecutive_ids() -> None:
    ids = SignalIds(block=100)
    assert ids.blocks_needed([3, 0, 2]) == 1
    assert ids.take([3, 0, 2], [1000]) == [[1000, 1001, 1002], [], [1003, 1004]]


def test_later_groups_use_the_rest_of_the_block_without_asking() -> None:
    ids = SignalIds(block=100)
    ids.take([10], [500])
    assert ids.blocks_needed([20, 30]) == 0
    assert ids.take([20, 30], []) == [list(range(510, 530)), list(range(530, 560))]


def test_a_batch_that_does_not_fit_the_rest_starts_a_fresh_block_instead_of_straddling() -> None:
    ids = SignalIds(block=10)
    ids.take([8], [0])
    assert ids.blocks_needed([3, 1]) == 1
    # Two ids of the old block stay unused; the next batch still fits the new block's rest.
    assert ids.take([3, 1], [40]) == [[40, 41, 42], [43]]


def test_a_batch_larger_than_a_block_takes_several_in_the_order_given() -> None:
    ids = SignalIds(block=4)
    assert ids.blocks_needed([6]) == 2
    assert ids.take([6], [8, 20]) == [[8, 9, 10, 11, 20, 21]]


def test_counting_changes_nothing_and_a_wrong_number_of_blocks_is_refused() -> None:
    ids = SignalIds(block=10)
    assert ids.blocks_needed([5]) == ids.blocks_needed([5]) == 1
    with pytest.raises(ValueError, match="expected 1 new block"):
        ids.take([5], [])
    assert ids.take([5], [70]) == [[70, 71, 72, 73, 74]]


def test_a_block_holds_at_least_one_id() -> None:
    with pytest.raises(ValueError):
        SignalIds(block=0)
