"""An instructor's hidden checks, as a test fixture: one passes, one fails with a secret."""

from labkit.grading.hidden import hidden


@hidden(points=2)
def hidden_sizeof(sub):
    """The sizeof answer, checked again"""
    assert sub.call("decode_panic.py", "sizeof_kstat_t") == 184, "SECRET-EXPECTED-184"


@hidden(points=3, title="A check that always fails")
def hidden_always_fails(sub):
    print("SECRET-PRINTED")
    assert False, "SECRET-ASSERTION"


@hidden(points=4)
def hidden_partial(sub, ctx):
    ctx.part(True, 1, good="SECRET-GOOD")
    ctx.part(False, 3, bad="SECRET-BAD")
