from labkit.grading.base import CheckSet

CHECKS = CheckSet()
