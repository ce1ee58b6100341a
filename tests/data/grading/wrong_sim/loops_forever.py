"""Fix A, wrong: spins without end and never reaches a scheduling point."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    while True:
        pass
