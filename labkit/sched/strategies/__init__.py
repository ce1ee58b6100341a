"""Scheduling strategies, one small file each: replay, manual stepping, random, PCT, DPOR."""
