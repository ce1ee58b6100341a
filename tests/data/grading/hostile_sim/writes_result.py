"""The issue's first attack: write the worker's result file and leave before the check can."""
import json
import os
import sys


def kstat_install(ksp):
    out = sys.argv[1]
    json.dump({"name": "fix_a_sim", "title": "x", "points": 1000, "score": 1000, "status": "pass",
               "lines": []}, open(out, "w"))
    os._exit(0)
