"""What the scripts share with the binary: the one loader of results (the binary's JSON form, from
`ipcbench convert FILE -o -`, which validates the file on the way), the binary's own description of
its patterns, metrics and columns (`ipcbench list --format json`), one-line errors with exit status
2 before anything is written, and output files that are created new, never overwritten and never
written through a symbolic link. No script reads a results file, keeps a column table, or computes
an interval, a geometric mean or a case key of its own: the binary's JSON carries them."""
import functools, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The binary: a checkout's release build, or the package's /usr/bin/ipcbench beside /usr/share/ipcbench/scripts.
BINARY = (os.path.normpath(os.path.join(ROOT, "..", "..", "bin", "ipcbench"))
          if ROOT.endswith(os.sep + os.path.join("share", "ipcbench")) else os.path.join(ROOT, ".build", "release", "ipcbench"))


def fail(message, status=2):
    print(f"scripts/{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(status)


def ipcbench(*args, messages=None):
    """Runs the binary ($IPCBENCH, else .build/release/ipcbench, or the package's); returns stdout, or fails with its one-line error.
    Its stderr lines (compare's notes and warnings) are added to `messages` when one is given."""
    binary = os.environ.get("IPCBENCH", BINARY)
    if not os.access(binary, os.X_OK):
        fail(f"{binary} not found: build it with scripts/ipcbench --version, or set $IPCBENCH")
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode not in (0, 1):
        # Its own status where a database failed (3); else the input was wrong (2).
        fail(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"ipcbench {args[0]} failed",
             3 if result.returncode == 3 else 2)
    if messages is not None:
        messages += [line for line in result.stderr.splitlines() if line.strip()]
    return result.stdout


def check(files):
    """Fails unless every file (and its trials file) is a results file as compare and pivot read it."""
    ipcbench("check", *files)


@functools.lru_cache(maxsize=None)
def described():
    """`ipcbench list --format json`: the transports, the patterns with their parameters and metrics,
    this machine's limits, and the results' columns (name, version, unit, kind, place in the JSON)."""
    return json.loads(ipcbench("list", "--format", "json"))


def metrics():
    """Each pattern's metrics as the binary defines them, a dict per pattern and metric, each
    pattern's main metric first: the one table the scripts plot and colour by."""
    return [{"pattern": p["name"], "parameter": " ".join(p["parameters"]), **m, "metric": m["name"]}
            for p in described()["patterns"] for m in p["metrics"]]


def higher_is_better(table):
    """Metric name (as compare writes it) -> True where a higher value is better."""
    return {m["metric"]: m["higher_is_better"] for m in table}


class Results:
    """One results file as the binary reads it: `cases`, a dict per case row by column name (typed:
    numbers are numbers, an empty cell is None), each with `case` (its name, compare's case key)
    and `figures` (per metric by its trials column: the median of the trials and its 95% interval,
    as the binary computes them; empty without trials); `columns`, the binary's description of each
    column; `record`, the JSON itself."""
    def __init__(self, path, record):
        self.path = path
        self.stem = os.path.splitext(os.path.basename(path))[0]
        self.record = record
        self.columns = described()["results_format"]["case_columns"]
        environment = record.get("environment", {})
        self.cases = [self._row(case, environment) for case in record["cases"]]

    def _row(self, case, environment):
        merged = dict(case, environment={**environment, **case.get("environment", {})})
        row = {}
        for column in self.columns:
            node = merged
            for name in column["path"]:
                node = node.get(name) if isinstance(node, dict) else None
            row[column["name"]] = node
        derived = case.get("derived", {})
        row["case"], row["figures"] = derived.get("case", ""), derived.get("figures", {})
        return row


def load(path):
    """A results file (a <stem>.csv with its trials file beside it, or a .json) through the binary:
    fails with its one-line error (exit 2) when it is not one ipcbench writes."""
    return Results(path, json.loads(ipcbench("convert", path, "-o", "-")))


def history(command, *arguments):
    """`ipcbench history COMMAND ARGUMENTS --format json` (series or changes, with their filters and
    --db): its rows, a dict per row by column name, numbers as numbers, in the binary's order."""
    return json.loads(ipcbench("history", command, *arguments, "--format", "json"))


def compare(sides, ignore=(), messages=None):
    """`ipcbench compare --format json` of the sides (each a results file, or several joined with
    commas), with --ignore for each key in `ignore`: its `rows` (each with its `case` name, compare's
    case key, and typed figures) and each side's `cases` (the side's center per case and metric, and
    its runs' range). Compare's notes and warnings (stderr) go into `messages` when given."""
    return json.loads(ipcbench("compare", *sides, "--format", "json", *(a for k in ignore for a in ("--ignore", k)), messages=messages))


def centers(sides):
    """Each side's figure per case as compare computes it (its `cases` in --format json, no --ignore:
    every case by its own key): a dict per side, (case, metric) -> (center, lowest run, highest run).
    One side is compared with itself, since compare needs two."""
    found = compare(sides if len(sides) > 1 else sides * 2)["sides"][:len(sides)]
    return [{(c["case"], c["metric"]): (c["center"], c["lowest_run"], c["highest_run"]) for c in side["cases"]} for side in found]


# Cases at an offered rate (`ipcbench run --rate`), as the workbook and the report lay them out: the
# latency each pattern times per message (p50, p99, p99.9 from the intended send, p99.9 from the
# actual send) and what it times; the patterns missing here time no message.
LOAD_LATENCY = {
    "latency": (("rtt_us_p50", "rtt_us_p99", "rtt_us_p999", "rtt_us_p999_uncorrected"), "round trip"),
    "sync-message": (("rtt_us_p50", "rtt_us_p99", "rtt_us_p999", "rtt_us_p999_uncorrected"), "send to acknowledgement"),
    "async-request": (("rtt_us_p50", "rtt_us_p99", "rtt_us_p999", "rtt_us_p999_uncorrected"), "request to reply"),
    "pubsub": (("delivery_us_p50_median", "delivery_us_p99_median", "delivery_us_p999_median", "delivery_us_p999_uncorrected_median"),
               "publish to delivery"),
}
LOAD_COLUMNS = ["offered_msgs_per_s", "achieved_msgs_per_s_median", "late_share", "pacing_overshoot_us_p99"]
# Saturated (as scripts/plot.py rings it): less than this share of the offered rate achieved, or the
# p99 this many times the line's p99 at its lowest rate.
KEEPS_UP, P99_GROWTH = 0.95, 10
TRANSPORT_ORDER = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp", "udp"]


def payload_text(size):
    """`64 B`, `4 KiB`: as `ipcbench pivot` labels a payload."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def rate_text(rate):
    """10000 -> `10k/s`, 1500000 -> `1.5M/s`: a rate offered as a label names it."""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if rate >= size:
            return f"{rate / size:g}{unit}/s"
    return f"{rate:g}/s"


def load_lines(sides, pattern):
    """A pattern's ok cases at a rate as lines through their rates. `sides` is [(name, [Results])];
    a line per side, transport, placement, payload, wait mode and value of the pattern's parameters
    (those that differ between the lines are named), ordered by transport: [(label, [(offered,
    {column: value}, saturated)])], the points by the rate offered, each with the LOAD_COLUMNS and
    the pattern's LOAD_LATENCY columns (a side of several runs: the median of its runs' figures),
    and whether it is saturated. The label names the side when there are several."""
    latency = LOAD_LATENCY.get(pattern, ((), ""))[0]
    parameters = next((p["parameters"] for p in described()["patterns"] if p["name"] == pattern), [])
    rows = [(s, row) for s, (_, runs) in enumerate(sides) for run in runs for row in run.cases
            if row["pattern"] == pattern and row["status"] == "ok" and row.get("offered_msgs_per_s")]
    varying = [p for p in parameters if len({row.get(p) for _, row in rows}) > 1]
    per = {}
    for s, row in rows:
        key = (s, row["transport"], (row["cpu_placement"] or "").split(":")[0], row["payload_bytes"], row.get("wait") or "auto",
               tuple(row.get(p) for p in varying))
        per.setdefault(key, {}).setdefault(row["offered_msgs_per_s"], []).append(row)
    several = len(sides) > 1 or any(len(runs) > 1 for _, runs in sides)

    def median(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None

    def order(k):
        return (TRANSPORT_ORDER.index(k[1]) if k[1] in TRANSPORT_ORDER else len(TRANSPORT_ORDER), k[1], k[2], k[3], k[4], str(k[5]), k[0])

    lines = []
    for key in sorted(per, key=order):
        s, transport, placement, payload, wait, values = key
        label = " ".join([transport, placement, payload_text(payload)] + [f"{p} {v}" for p, v in zip(varying, values)]
                         + [f"wait {wait}"] + ([f"({sides[s][0]})"] if several else []))
        points = [(offered, {c: median(r.get(c) for r in found) for c in LOAD_COLUMNS + list(latency)})
                  for offered, found in sorted(per[key].items())]
        base = next((f[latency[1]] for _, f in points if latency and f.get(latency[1])), None)
        lines.append((label, [(offered, f, bool(f["achieved_msgs_per_s_median"] is not None and f["achieved_msgs_per_s_median"] < KEEPS_UP * offered
                                                or (base and f.get(latency[1]) and f[latency[1]] > P99_GROWTH * base)))
                              for offered, f in points]))
    return lines


def write_new(outputs):
    """Writes each (path, bytes) to a new file; fails before writing any when one exists (a link
    counts), and removes the ones written when a write fails (exit 3)."""
    for path, _ in outputs:
        if os.path.lexists(path):
            fail(f"{path} already exists; choose another -o (nothing is overwritten)")
    written = []
    for path, data in outputs:
        try:
            with open(path, "xb") as f:
                written.append(path)
                f.write(data)
        except OSError as e:
            for done in written:
                os.remove(done)
            if isinstance(e, FileExistsError):
                fail(f"{path} already exists; choose another -o (nothing is overwritten)")
            fail(f"cannot write {path}: {e.strerror}; nothing was left", 3)
