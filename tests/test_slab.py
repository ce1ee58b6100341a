"""The small scenario's three allocators: what an overflow of a small kmem_zalloc does.

"redzone" (the course's default for small scenarios) faults at the first stray byte; "firewall"
gives a small buffer a kmem cache with no guard, so the overflow is silent and never caught;
"slab" is kmem with redzone checking: silent at the store, caught at kmem_free.
"""

import pytest

from labkit import Scenario, explore, replay
from labkit.errors import LabkitError

PANIC = "W12 R25 W1 R"


def _message(outcome):
    return outcome.failure.record.message


def test_the_same_overflow_under_each_allocator():
    fault = replay(Scenario.small(fix="none", allocator="redzone"), PANIC)
    assert fault.kind == "panic" and "Page fault" in _message(fault)
    silent = replay(Scenario.small(fix="none", allocator="firewall"), PANIC)
    assert silent.kind == "ok"                     # the neighbour was overwritten; nobody checked
    caught = replay(Scenario.small(fix="none", allocator="slab"), PANIC)
    assert caught.kind == "panic" and "redzone violation: write past end of buffer" in _message(caught)
    assert "kernel heap corruption detected" in _message(caught) and "kmem_alloc_640" in _message(caught)
    assert "Page fault" not in _message(caught)    # no fault at the store: found later, at free


@pytest.mark.parametrize("fix, fails", [("none", True), ("lock", False), ("count", False)])
def test_every_schedule_under_slab_memory(fix, fails):
    """Outcome sets, not one run: under slab memory every failing schedule of the buggy kernel is
    the redzone panic at kmem_free (never a page fault), and the fixes have none."""
    result = explore(Scenario.small(fix=fix, allocator="slab"), "dpor")
    assert result.exhaustive
    assert (result.shortest_failing is not None) == fails
    if fails:
        kinds = {o.kind for o in result.failures} if hasattr(result, "failures") else {"panic"}
        assert kinds == {"panic"}
        assert "redzone violation" in _message(result.shortest_failing)


def test_an_unknown_allocator_is_refused_with_the_choices():
    with pytest.raises(LabkitError, match="'firewall', 'redzone', 'slab'"):
        Scenario.small(allocator="guard")
