"""A conformance suite for session stores: the same tests for every backend.

Use it from a test module of your own: import the tests and provide a
``session_store_factory`` fixture returning a :class:`StoreFactory` for a *fresh* database::

    from agentkit.testing.session_conformance import *  # noqa: F403
    from agentkit.testing.session_conformance import StoreFactory

    @pytest.fixture
    def session_store_factory(tmp_path):
        path = tmp_path / "s.db"
        return StoreFactory(
            name="sqlite",
            open=lambda: SQLiteStore(path),
            child_open=f"SQLiteStore({str(path)!r})",
            lose_lease=bump_token,
        )

The tests cover atomic turns, fencing, busy and wait, hundreds of concurrent sessions,
several processes on one database, a lease holder killed with SIGKILL, the journal and the
pause state, trimming, repair of stored histories, and old and unknown row formats.

Modules: ``support`` (``StoreFactory``, the ``store`` fixture, helpers), ``leases`` (append,
busy, wait, fencing), ``stored_state`` (journal, pause state, trimming, repair, row formats),
``loads`` (histories kept between loads stay exact), ``concurrency`` (async API, many
sessions and leases, several processes, a killed holder).
"""

from __future__ import annotations

from agentkit.testing.session_conformance.concurrency import (
    test_async_api,
    test_cancelled_write_still_lands_whole,
    test_hundreds_of_concurrent_sessions,
    test_killed_holder_frees_session_at_once,
    test_many_leases_on_one_session_never_interleave,
    test_processes_share_one_database,
)
from agentkit.testing.session_conformance.leases import (
    test_append_and_read_back,
    test_bad_session_ids_are_refused_alike,
    test_bad_writes_are_user_errors_and_change_nothing,
    test_incomplete_batch_is_refused,
    test_lost_lease_cannot_write,
    test_odd_session_ids_are_kept_apart_and_listed_sorted,
    test_second_lease_is_busy_at_once,
    test_wait_for_a_busy_session,
)
from agentkit.testing.session_conformance.loads import (
    test_a_changed_message_does_not_change_the_next_load,
    test_a_deleted_session_is_not_kept_in_memory,
    test_a_load_sees_what_its_own_lease_wrote,
    test_loads_follow_what_another_store_writes,
    test_loads_repair_what_follows_an_open_call,
    test_the_histories_a_store_keeps_are_bounded,
    test_the_last_turns_of_a_long_history_cost_only_what_they_hold,
)
from agentkit.testing.session_conformance.stored_state import (
    test_commit_turn_folds_journal_and_pause_atomically,
    test_every_message_field_round_trips,
    test_journal_survives_the_lease,
    test_pause_state_and_discard,
    test_stored_orphans_are_repaired_on_load,
    test_stored_rows_are_json_and_formats_are_checked,
    test_trimming_cuts_at_turn_boundaries,
    test_trimming_keeps_the_instructions_a_history_starts_with,
)
from agentkit.testing.session_conformance.support import StoreFactory, store

__all__ = [
    "StoreFactory",
    "store",
    "test_a_changed_message_does_not_change_the_next_load",
    "test_a_deleted_session_is_not_kept_in_memory",
    "test_a_load_sees_what_its_own_lease_wrote",
    "test_append_and_read_back",
    "test_async_api",
    "test_bad_session_ids_are_refused_alike",
    "test_bad_writes_are_user_errors_and_change_nothing",
    "test_cancelled_write_still_lands_whole",
    "test_commit_turn_folds_journal_and_pause_atomically",
    "test_every_message_field_round_trips",
    "test_hundreds_of_concurrent_sessions",
    "test_incomplete_batch_is_refused",
    "test_journal_survives_the_lease",
    "test_killed_holder_frees_session_at_once",
    "test_loads_follow_what_another_store_writes",
    "test_loads_repair_what_follows_an_open_call",
    "test_lost_lease_cannot_write",
    "test_many_leases_on_one_session_never_interleave",
    "test_odd_session_ids_are_kept_apart_and_listed_sorted",
    "test_pause_state_and_discard",
    "test_processes_share_one_database",
    "test_second_lease_is_busy_at_once",
    "test_stored_orphans_are_repaired_on_load",
    "test_stored_rows_are_json_and_formats_are_checked",
    "test_the_histories_a_store_keeps_are_bounded",
    "test_the_last_turns_of_a_long_history_cost_only_what_they_hold",
    "test_trimming_cuts_at_turn_boundaries",
    "test_trimming_keeps_the_instructions_a_history_starts_with",
    "test_wait_for_a_busy_session",
]
