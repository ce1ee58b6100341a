"""An example of an instructor's hidden checks: `labkit grade --hidden examples/hidden` (or
`labkit autograder build --hidden examples/hidden`). Copy this folder somewhere private, keep it
out of the student release, and change the checks (INSTRUCTORS.md, "Writing hidden checks").

Each check is a function marked @hidden(points=...). With one argument (`sub`, the learner's
submission) it passes unless it raises or returns False; with two (`sub, ctx`) it scores itself in
parts. The learner sees a hidden check's title, points and verdict, never its messages.
"""

from labkit.grading.hidden import hidden


@hidden(points=2, timeout=120)
def fix_a_sim_at_four_kstats(sub):
    """Fix A in the simulator holds at another scale"""
    from labkit.kernel import Scenario
    from labkit.sched import explore
    result = explore(Scenario(4, str(sub.file("fix_a_sim.py"))), "dpor")
    outcomes = result.to_json()["outcomes"]     # e.g. {"ok": 56}, {"panic": 4, "ok": 43}
    assert set(outcomes) == {"ok"}, f"at 4 kstats the schedules end as {outcomes}"


@hidden(points=2)
def decode_panic_again(sub, ctx):
    """Two numbers of the panic, asked again"""
    ctx.part(str(sub.call("decode_panic.py", "file_descriptor")) in ("13", "0xd"), 1,
             good="the file descriptor", bad="the file descriptor is not 13")
    ctx.part(sub.call("decode_panic.py", "headers_counted") in (5698, "5698", "0x1642"), 1,
             good="the headers counted", bad="the headers counted are not 5698")
