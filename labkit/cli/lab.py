"""`labkit lab`: start JupyterLab on the course, headless-friendly (no browser is opened)."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from labkit.errors import LabkitError


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("lab", help="start JupyterLab on the course notebooks (learners on their own)",
                              description="Start JupyterLab on the course, without opening a browser; "
                              "it prints the address to open. (On a JupyterHub, use the hub's JupyterLab "
                              "and `labkit course DIR` instead.) It takes no --json: it runs a server.")
    p.add_argument("--port", type=int, default=8888, help="the port to serve on (default 8888)")
    p.add_argument("--ip", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--dir", default=None, help="the course checkout (default: found from here)")
    p.set_defaults(run=_lab)


def _course_root(start: Path) -> Path:
    for d in [start, *start.parents]:
        if (d / "notebooks").is_dir() and (d / "exercises").is_dir():
            return d
    raise LabkitError("cannot find the course (a folder with notebooks/ and exercises/); "
                      "run this inside the checkout or pass --dir")


def _lab(args):
    root = _course_root(Path(args.dir or os.getcwd()).resolve())
    first = sorted((root / "notebooks").glob("*.ipynb"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ip={args.ip}",
           f"--port={args.port}", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    if first:
        cmd.append(str(first[0].relative_to(root)))
    print(f"labkit lab: starting JupyterLab in {root}; open the URL it prints below", flush=True)
    return subprocess.call(cmd, cwd=root, env={**os.environ, "LABKIT_EXERCISES": str(root / "exercises")})
