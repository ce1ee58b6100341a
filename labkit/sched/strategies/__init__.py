"""Scheduling strategies, the choosers only, one small file each: replay, manual stepping, random, PCT.
The drivers that run them (replay(), Stepper, the DPOR search, explore()) live one level up."""
