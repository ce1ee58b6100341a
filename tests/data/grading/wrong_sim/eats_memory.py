"""Fix A, wrong: asks for 80 GB (the check's memory bound stops it; its line is named)."""
from labkit.kernel.api import *

def kstat_install(ksp):
    x = [0] * (10 ** 10)
