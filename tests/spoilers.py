"""The no-spoiler rule: no answer is visible before the learner has answered.

Shared by tests/test_no_spoilers.py (what a notebook shows before any cell is run) and the nbval
hook in the repository's conftest.py (what each cell prints when it is run).

What counts as "visible before question Q" (asked in cell q of notebook N):
- the markdown of the cells above q, and the shown source of every code cell up to q (a question
  cell says only `ask("qid")`: its prompt and answer live in labkit/widgets/questions.py);
- the markdown of the BELOW cells just under q (they share its screen: a learner reads them
  before answering). A summary further down may recall an answer;
- every output saved in N, above or below q (a saved output is on the page before anything
  runs), except Q's own widget, whose choices are the question;
- at run time, the output of every cell above q. Rather than run each notebook a second time,
  the nbval run (which executes every cell anyway) checks each cell's fresh output against the
  questions and exercises below it: see `run_time_problems`.
Reading order is per notebook: a later notebook may recall what an earlier one taught.

An exercise (a `check("name")` cell) is a question too: nothing above its check may show the
code or value it asks for. Its answer patterns are in EXERCISES. The two schedule exercises are
checked by meaning, not by text: any schedule string anywhere in a notebook (markdown, source,
saved or fresh output) that panics the buggy small kernel gives away `find_schedule`, and one
that panics the seed-scale kernel gives away `reconstruct`.

Matching is robust to formatting: text is compared without case, markdown quoting (backticks,
asterisks, quotes) or extra spaces; numbers are compared by value, so 0x1642, 5698 and mdb's
bare hex 1642 are the same answer. A pattern is a phrase (str) or a value (int). A value pattern
is used only where the number is not itself part of the data a question shows; otherwise the
table names the phrases that tell the answer ("header index 5698").
"""

import ast
import html
import json
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: Notebooks being rewritten to the rule on another branch: their static test is a strict xfail
#: (it fails loudly once the notebook passes, so the entry is then removed), and the nbval hook
#: leaves them alone meanwhile.
PENDING: dict[str, str] = {}

# ---- the answers, as the ways they could be written down --------------------------------------
#: qid -> the patterns that tell its answer. Every question a notebook asks must be here (a new
#: question without an entry fails the test), and each entry includes the answer itself where
#: that is distinctive.
SPOILERS = {
    "00-try": (5698,),
    "01-top-frame": ("died in bcopy", "panicked in bcopy", "was executing bcopy", "stopped in bcopy",
                     "in bcopy, copying", "top frame is bcopy"),
    "01-fd": (13, "file descriptor 13", "fd 13"),
    "01-ioctl-letter": ("ascii code of k", "k << #8", "kstat_ioc_read", "letter k"),
    "01-user-pointer": ("in the calling process (user space)", "user address", "user stack",
                        "user space", "user-space"),
    "01-major": ("major #2", "major number #2", "major number is #2", ">> #32 = #2", "(#2, #0)"),
    "01-model": ("datamodel_ilp32 (#32-bit)", "= datamodel_ilp32", "fread | datamodel_ilp32",
                 "#32-bit program", "#32-bit process", "#32-bit caller", "#32-bit agent",
                 "#32-bit x86 program"),
    "01-missing": ("called bcopy", "calls bcopy", "it called the header kstat s snapshot routine", "bcopy's caller", "header_kstat_snapshot was running",
                   "missing below it: header_kstat_snapshot", "hidden by frameless bcopy"),
    "01-lock": ("kstat_rele takes kstat_chain_lock", "kstat_rele() takes kstat_chain_lock",
                "takes kstat_chain_lock, clears the owner", "needs kstat_chain_lock",
                "spinning on kstat_chain_lock", "waiting for kstat_chain_lock",
                "spun on kstat_chain_lock"),
    # 184 itself is in the data shown before it (bcopy's length, %rdx = b8): phrases only
    "02-sizeof": ("sizeof (kstat_t) = ", "sizeof(kstat_t) = ", "#184 bytes", "= #184", "is #184"),
    "02-mapped": (0x100000, "#1 mib"),
    "02-index": ("header index #5698", "header #5698", "index #5698", "copying header #5698",
                 "kstat_t number #5698", "number #5698"),
    "02-reading": ("b: it is bcopy's %rsi; the fault was at kbuf+#1048576", "b fits", "reading b is",
                   "; consistent", "1 header too many", "one header too many", "inconsistent"),
    "02-owner": ("the panicking reader's", "owner is the panicking thread", "(the panicking thread)",
                 "owner is the reader", "held by the panicking", "the reader owns",
                 "as a thread structure (agent)", "ran holding kstat_chain_lock"),
    "02-spin": ("it was spinning, because the owner was running on a cpu", "it was spinning",
                "spins instead", "so it spun", "spinning on kstat_chain_lock", "a spinner does not set",
                "spun on the lock", "w spins"),
    "03-invalid-bit": ("kstat_flag_invalid #32", "invalid #32", "invalid = #32", "invalid (#32)",
                       "invalid is #32", "bit #32 invalid", "#32 invalid", "invalid is bit #32"),
    "03-install-lock": ("only the hold on the kstat (no mutex)", "nothing here holds kstat_chain_lock",
                        "holding only the per-kstat hold", "holding only a hold", "only the hold",
                        "holds no lock", "without the chain lock", "without kstat_chain_lock",
                        "not kstat_chain_lock", "does not lock the chain"),
    "03-data-size": (0xFFF70, "ks_data_size = #1048432"),
    "03-half-made": ("ndata=#3 kids=[#0, #1, #2]", "neither counted nor copied", "#3 headers, #3 records"),
    "03-why-4246": ("membership now depends on a flag written without kstat_chain_lock",
                    "membership now depends on a flag", "membership depend on a flag",
                    "cleared in kstat_install() without", "cleared in kstat_install() outside"),
    "04-order": ("r counts, w clears invalid, r copies", "w clears invalid between",
                 "between r's count and its copy", "the count, then w's clear, then the copy"),
    "04-rare": ("under #2%",),
    "04-recursive-mutex": ("recursive mutex_enter", "mutex_panic("),
    "04-where-w": ("spinning in mutex_enter() for kstat_chain_lock, called from kstat_rele()",
                   "spinning in mutex_enter", "w spins"),
    "04-pct": ("has depth #3", "depth #3", "will not find the panic"),
    "05-time": ("median time to first overflow",),   # its answer is the notebook's own measurement
    "05-fault-header": ("header index #65", "header #65 starts", "header #65 (", "header index: #65",
                        "copied when it faulted: #65"),
    "05-tsan": ("at ks_flags in", "fields: [ks_flags]", "write of #1 byte(s) at ks_flags"),
    "06-where-w-waits": ("at mutex_enter(&kstat_chain_lock), before clearing the flag",
                         "waits before the clear", "waits *before*", "wait before the clear",
                         "at the mutex_enter before its clear", "w waits, at the mutex_enter"),
    "06-drop-before-rele": ("kstat_rele() takes kstat_chain_lock itself", "kstat_rele takes kstat_chain_lock",
                            "kstat_rele() takes kstat_chain_lock", "recursive mutex_enter",
                            "already had to take the lock in kstat_rele"),
    "07-overflow": ("never more", "can no longer be too small", "cannot overflow", "no more overflow",
                    "no overflow", "as many headers as were counted, or fewer", "count >= copy",
                    "count ≥ copy"),
    "07-short-copy": ("ks_ndata #4, but #3 headers and one record of zeros", "zero_filled=#1",
                      "zero-filled record", "record of zeros", "more headers than it is given",
                      "fewer headers than they counted", "ndata=#4 kids=[#0, #1, #2]"),
    "09-owner": ("r, the reader whose copy faulted", "owner is r", "r owns kstat_chain_lock", "owner r,",
                 "(agent, panicking)"),
    "09-where-w": ("in kstat_rele(), after its clear, spinning on kstat_chain_lock",
                   "spinning in mutex_vector_enter", "spinning on kstat_chain_lock", "w spins"),
    "09-waiters": ("waiters bit clear", "the waiters bit is clear", "no waiters bit", "leaves it clear",
                   "a spinner does not set", "w spins"),
    "09-wrong-fix-end": ("it stops: no thread can run again", "no thread can run again",
                         "waits for a lock it holds", "waits for itself", "recursive mutex_enter"),
    "09-wrong-fix-lock": ("w owns it, and the waiters bit is set", "owner w, waiters bit 1", "w owns it",
                          "it waits for itself"),
    "08-restores": ("invalid is cleared under kstat_chain_lock on the install path", "on the install path",
                    "restores the invariant", "not every flag", "restores exactly"),
}

#: Questions whose answer is a name the notebook must show before asking (the learner picks which
#: of the names shown it is): their patterns are the phrases that tell, not the name itself.
NAMED_IN_DATA = {"01-lock", "01-missing", "01-top-frame", "05-tsan"}

#: Exercise (check name) -> the patterns of its answer that must not be shown above its check.
EXERCISES = {
    "decode_panic": (),    # its answers are what notebooks 1 and 2 derive with the learner
    "find_schedule": (),   # by meaning: see schedule_spoilers
    "reconstruct": (),     # by meaning: see schedule_spoilers
    "fix_a_sim": ("mutex_enter(kstat_chain_lock) ksp.ks_flags &= ~kstat_flag_invalid",
                  "mutex_enter(&kstat_chain_lock) ksp.ks_flags &= ~kstat_flag_invalid"),
    "fix_a_c": ("mutex_enter(&kstat_chain_lock); ksp->ks_flags &= ~kstat_flag_invalid",
                "mutex_enter(&kstat_chain_lock) and mutex_exit(&kstat_chain_lock) around",
                "the same three lines"),
    "fix_b_sim": ("if kstat_zone_find(ksp, zoneid): nkstats += #1",),
    "fix_b_c": ("if (kstat_zone_find(ksp, zoneid)) nkstats++",),
    "why_fix_b_races": ("a data race that never goes away", "more headers than it is given",
                        "zero-filled tail", "without kstat_chain_lock, while the reader tests"),
}

# ---- formatting-blind matching -------------------------------------------------------------
_NUM = re.compile(r"(?<![\w#])(0x[0-9a-f]+|[0-9a-f]*[0-9][0-9a-f]*)(?![\w])")
_DROP = str.maketrans({c: " " for c in "`*\"“”‘’"})


def _token_values(tok: str) -> set[int]:
    """Every value a number token may denote: 0x... is hex; bare digits are decimal and, from four
    digits on, also hex (mdb prints hex without 0x); digits with a-f letters are hex."""
    if tok.startswith("0x"):
        return {int(tok, 16)}
    if tok.isdigit():
        return {int(tok)} | ({int(tok, 16)} if len(tok) >= 4 else set())
    return {int(tok, 16)}


def _canon(tok: str) -> str:
    if tok.startswith("0x"):
        return f"#{int(tok, 16)}"
    return f"#{int(tok)}" if tok.isdigit() else f"#{int(tok, 16)}"


def normalize(text: str) -> str:
    """Case, quoting and spacing dropped; every number written as #<decimal value>."""
    text = text.casefold().translate(_DROP).replace("'", " ").replace("\\", " ")
    text = " ".join(text.split())
    return _NUM.sub(lambda m: _canon(m.group(1)), text)


def values_in(text: str) -> set[int]:
    values: set[int] = set()
    for m in _NUM.finditer(text.casefold()):
        values |= _token_values(m.group(1))
    return values


def found(text: str, patterns) -> list:
    """The patterns that occur in text."""
    norm = None
    hits = []
    for p in patterns:
        if isinstance(p, int):
            if p in values_in(text):
                hits.append(p)
        else:
            norm = normalize(text) if norm is None else norm
            if normalize(p.replace("'", " ")) in norm:
                hits.append(p)
    return hits


# ---- schedules: an exercise answer recognised by what it does -------------------------------
_SCHEDULE = re.compile(r"(?<![\w-])([RW]\d*(?:[ ,]*[RW]\d*)+)(?![\w-])")
_schedule_cache: dict[str, list[str]] = {}


def schedule_spoilers(text: str) -> list[str]:
    """The schedule strings in text that panic the buggy kernel (find_schedule's answer at the
    small scale, reconstruct's at the seed's)."""
    from labkit.errors import LabkitError
    from labkit.kernel import Scenario
    from labkit.sched import replay

    hits = []
    for m in _SCHEDULE.finditer(text):
        s = m.group(1)
        if s not in _schedule_cache:
            what = []
            for name, make in (("find_schedule", Scenario.small), ("reconstruct", Scenario.seed)):
                try:
                    if replay(make(fix="none"), s).kind == "panic":
                        what.append(name)
                except LabkitError:
                    pass
            _schedule_cache[s] = what
        hits += [f"{name}: the panicking schedule {s!r}" for name in _schedule_cache[s]]
    return hits


# ---- reading a notebook --------------------------------------------------------------------
def _call_name(node) -> str | None:
    f = node.func
    return getattr(f, "id", None) or getattr(f, "attr", None)


def asked_in(cell) -> list[tuple[str, str]]:
    """[("question", qid) | ("exercise", name)] for each ask/Question/check call in a code cell,
    and the question of each LevelWidget(N)."""
    if cell.cell_type != "code":
        return []
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    found_ = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = _call_name(node)
            if name in ("ask", "Question"):
                found_.append(("question", node.args[0].value))
            elif name == "LevelWidget":       # a level asks its question once its goal is reached
                from labkit.widgets.levels import find_level
                qid = find_level(node.args[0].value).question
                if qid:
                    found_.append(("question", qid))
            elif name == "check":
                found_.append(("exercise", node.args[0].value))
    return found_


def output_text(outputs) -> str:
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o:
            for mime in ("text/plain", "text/markdown", "text/html"):
                if mime in o["data"]:
                    t = o["data"][mime]
                    t = "".join(t) if isinstance(t, list) else t
                    parts.append(html.unescape(re.sub(r"<[^>]+>", " ", t)))
        elif o.get("output_type") == "error":
            parts.append("\n".join(o.get("traceback", [])))
    return "\n".join(parts)


def patterns_for(kind: str, name: str):
    table = SPOILERS if kind == "question" else EXERCISES
    return table.get(name)


#: How many cells under a question share its screen (their markdown is read before answering).
BELOW = 3


def static_problems(path: Path) -> list[str]:
    """Every answer a notebook shows, as saved, before its question is answered."""
    nb = nbformat.read(str(path), as_version=4)
    problems = []
    saved = [output_text(c.get("outputs", [])) if c.cell_type == "code" else "" for c in nb.cells]
    # Saved widget state (what JupyterLab can redraw widgets from before anything runs) is a
    # saved output too: it is checked as one more, index -1.
    saved_widgets = json.dumps(nb.metadata.get("widgets", {}))
    for q, cell in enumerate(nb.cells):
        for kind, name in asked_in(cell):
            patterns = patterns_for(kind, name)
            if patterns is None:
                problems.append(f"{path.name} cell {q}: {kind} {name!r} has no entry in "
                                f"tests/spoilers.py ({'SPOILERS' if kind == 'question' else 'EXERCISES'})")
                continue
            for i, c in enumerate(nb.cells[:q + 1]):
                shown = c.source if (i < q or c.cell_type == "code") else ""
                for hit in found(shown, patterns):
                    problems.append(f"{path.name}: {kind} {name!r} (cell {q}) is answered by the "
                                    f"{c.cell_type} of cell {i} above it: {hit!r}")
            for i in range(q + 1, min(q + 1 + BELOW, len(nb.cells))):
                if nb.cells[i].cell_type == "markdown":
                    for hit in found(nb.cells[i].source, patterns):
                        problems.append(f"{path.name}: {kind} {name!r} (cell {q}) is answered by the "
                                        f"markdown of cell {i}, just below it: {hit!r}")
            for i, text in [*enumerate(saved), (-1, saved_widgets)]:
                if i == q:
                    continue
                for hit in found(text, patterns):
                    problems.append(f"{path.name}: {kind} {name!r} (cell {q}) is answered by the "
                                    f"saved output of cell {i}: {hit!r}")
    for i, c in enumerate(nb.cells):
        for text, where in ((c.source, c.cell_type), (saved[i], "saved output")):
            for hit in schedule_spoilers(text):
                problems.append(f"{path.name}: the {where} of cell {i} gives away {hit}")
    return problems


def run_time_problems(nb, index: int, outputs) -> list[str]:
    """What cell `index` printed when run that answers a question or exercise below it."""
    text = output_text(outputs)
    problems = [f"cell {index}'s output gives away {hit}" for hit in schedule_spoilers(text)]
    for q in range(index + 1, len(nb.cells)):
        for kind, name in asked_in(nb.cells[q]):
            for hit in found(text, patterns_for(kind, name) or ()):
                problems.append(f"cell {index}'s output answers {kind} {name!r} (cell {q}): {hit!r}")
    return problems
