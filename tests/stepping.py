"""Helpers for tests that step a SchedulerWidget until a thread's next access is the one a lesson
is about (so a change in how many scheduling points the kernel has does not break them)."""


def view(sw, name):
    return next(v for v in sw.stepper.threads() if v.name == name)


def step_until(sw, name, pred, limit=500):
    for _ in range(limit):
        if pred(view(sw, name)):
            return
        sw.step(name)
        assert not sw.message, sw.message
    raise AssertionError(f"{name} never reached the condition")
