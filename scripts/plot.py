#!/usr/bin/env python3
"""Plots ipcbench results as PNG files.

    scripts/plot.py RESULTS.csv [MORE.csv ...] [-o FOLDER]

For each file, one PNG per pattern it holds, <stem>-<pattern>.png: the pattern's main metrics
against payload size (log scales, a line per transport, placement and parameter value), for example
<stem>-throughput.png (MiB/s) and <stem>-latency.png (RTT p50 and p99). For the patterns with a
parameter (async-request depth, fanout receivers, pairs pairs) also <stem>-<pattern>-by-<parameter>.png:
the main metric against the parameter at one payload, the largest at which every transport and
placement has a value (as `ipcbench pivot --rows parameter`). Given two or more sides, also <base stem>-vs-<new stem>-change.png: the change per case against the first side with
its 95% interval as an error bar, green better, red worse, grey not significant (from
`ipcbench compare --format csv`). A side is a file, or several runs joined with commas
(a1.csv,a2.csv,a3.csv), as for `ipcbench compare`.

The files are checked first, as compare and pivot read them (`ipcbench check`); bad input exits 2
with one line on stderr and writes nothing. An existing PNG (or a link with its name) is never
overwritten: exit 2, nothing written. Runs the ipcbench binary: $IPCBENCH, else .build/release/ipcbench.

Needs matplotlib: `python3 -m pip install matplotlib` (scripts/setup --test installs it).
"""
import argparse, csv, io, math, os, sys

from ipcbench_files import check, fail, ipcbench, write_new

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError:
    sys.exit("scripts/plot.py needs matplotlib: python3 -m pip install matplotlib")


def read(path):
    """The ok rows of a file that `ipcbench check` accepted."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return [r for r in csv.DictReader(f) if r["status"] == "ok"]


def mode(row):
    return row["cpu_placement"].split(":")[0]


# What each pattern is plotted by, mirroring Sources/IPCBench/Patterns/PatternRegistry.swift (each
# pattern's `metrics` and `parameter`): pattern -> (parameter column or None, [(case column, axis
# label, panel title)]); the first panel is the main metric, the one the parameter plot shows.
PATTERNS = {
    "throughput": (None, [("mib_per_s_median", "MiB/s (median of trials)", "Throughput")]),
    "latency": (None, [("rtt_us_p50", "round-trip time, µs", "RTT p50"), ("rtt_us_p99", "", "RTT p99")]),
    "sync-message": (None, [("mib_per_s_median", "MiB/s (median of trials)", "sync-message MiB/s"),
                            ("rtt_us_p50", "send to acknowledgement, µs", "sync-message send-to-ack p50")]),
    "async-request": ("depth", [("msgs_per_s_median", "requests/s (median of trials)", "async-request requests/s")]),
    "duplex": (None, [("mib_per_s_median", "MiB/s, both directions (median of trials)", "duplex MiB/s")]),
    "fanout": ("receivers", [("mib_per_s_median", "MiB/s, all receivers (median of trials)", "fanout MiB/s")]),
    "pairs": ("pairs", [("mib_per_s_median", "MiB/s, all pairs (median of trials)", "pairs MiB/s")]),
}
# Metric names as `ipcbench compare` writes them (Metric in Pattern.swift), by which way is better.
HIGHER_IS_BETTER = {"MiB/s": True, "msgs/s": True, "slowest MiB/s": True, "RTT p50 us": False, "RTT p99 us": False}


def higher_is_better(metric):
    # A name this table does not know: times (in us) are better lower, rates higher.
    return HIGHER_IS_BETTER.get(metric, not metric.endswith(" us"))


def positive(row, column):
    """The row has a value a log axis can show in the column."""
    return bool(row.get(column)) and float(row[column]) > 0


def series(rows, pattern, column, parameter=None):
    """{(transport, placement, parameter value): [(payload, value)]} for one pattern and column,
    sorted by payload; the parameter value is "" for a pattern without one."""
    out = {}
    for r in rows:
        if r["pattern"] == pattern and positive(r, column):
            key = (r["transport"], mode(r), r.get(parameter, "") if parameter else "")
            out.setdefault(key, []).append((int(r["payload_bytes"]), float(r[column])))
    return {k: sorted(v) for k, v in sorted(out.items(), key=order)}


def order(item):
    """Transports in the usual order, then placement, then the parameter as a number."""
    (transport, placement, value), _ = item
    rank = TRANSPORTS.index(transport) if transport in TRANSPORTS else len(TRANSPORTS)
    return (rank, transport, placement, int(value) if value.isdigit() else 0)


def size_label(n):
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def spaced_size(n):
    """`64 B`, `4 KiB`: as `ipcbench pivot` labels a payload."""
    label = size_label(n)
    return label[:-3] + " " + label[-3:] if label.endswith("iB") else label + " B"


def payload_axis(ax, payloads):
    ax.set_xscale("log", base=2)
    ticks = sorted(payloads)
    ax.set_xticks(ticks)
    ax.set_xticklabels([size_label(t) for t in ticks], rotation=45)
    ax.set_xlabel("payload per message")


TRANSPORTS = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp", "udp"]
LINESTYLES = {"split": "-", "same": "--", "none": ":", "pinned": "-."}


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def style(transport, placement, marker=0):
    """A color per transport, a line style per placement and a marker per parameter value, the
    same in every plot."""
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    index = TRANSPORTS.index(transport) if transport in TRANSPORTS else len(TRANSPORTS)
    return {"color": colors[index % len(colors)], "linestyle": LINESTYLES.get(placement, "-"),
            "marker": MARKERS[marker % len(MARKERS)]}


def draw(ax, data, payloads, ylabel, heading, parameter=None):
    """One line per (transport, placement, parameter value) on log-log axes against payload size."""
    values = sorted({v for (_, _, v) in data if v}, key=int)
    for (transport, placement, value), points in data.items():
        xs, ys = zip(*points)
        payloads.update(xs)
        label = f"{transport} ({placement})" + (f" {parameter} {value}" if value else "")
        ax.plot(xs, ys, markersize=4, label=label, **style(transport, placement, values.index(value) if value else 0))
    payload_axis(ax, payloads)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(heading, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


def label_log_axis(axes):
    """Enough labelled ticks on a log y axis to read values off: 1-9 within a decade or two,
    1, 2, 5 over a few decades, powers of ten beyond. Plain numbers, no exponents."""
    low, high = axes[0].get_ylim()
    decades = math.log10(high / low) if low > 0 and high > low else 1
    subs = (1, 2, 3, 4, 5, 6, 7, 8, 9) if decades < 1.5 else (1, 2, 5) if decades < 4 else (1,)
    for ax in axes:
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs, numticks=40))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f}" if v >= 1e5 else f"{v:g}"))
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(base=10, subs=range(1, 10), numticks=40))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def png(fig):
    """The figure as PNG bytes, written only once every plot is drawn."""
    fig.tight_layout()
    content = io.BytesIO()
    fig.savefig(content, format="png", dpi=110)
    plt.close(fig)
    return content.getvalue()


def save(fig, ax, path):
    ax.legend(fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return path, png(fig)


def title(rows, what):
    r = rows[0]
    return f"{what} — {r['hostname']}, Linux {r['kernel_release']}, {r['cpu_model']}"


def plot_pattern(rows, pattern, path):
    """The pattern's panels side by side, each its metric against payload; None without values."""
    parameter, panels = PATTERNS[pattern]
    data = [series(rows, pattern, column, parameter) for column, _, _ in panels]
    if not data[0]:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(12 if len(panels) == 1 else 15, 6), squeeze=False)
    axes = list(axes[0])
    for i, (ax, points, (_, ylabel, what)) in enumerate(zip(axes, data, panels)):
        draw(ax, points, set(), ylabel, title(rows, what) if i == 0 else what, parameter)
    if pattern == "latency":
        # Both panels on one scale, so that p99 reads against p50.
        low = min(ax.get_ylim()[0] for ax in axes)
        high = max(ax.get_ylim()[1] for ax in axes)
        for ax in axes:
            ax.set_ylim(low, high)
        label_log_axis(axes)
    else:
        for ax in axes:
            label_log_axis([ax])
    return save(fig, axes[-1], path)


def common_payload(data):
    """The largest payload at which every line has a value, else the largest payload."""
    payloads = sorted({p for points in data.values() for p, _ in points})
    every = [p for p in payloads if all(any(q == p for q, _ in points) for points in data.values())]
    return (every or payloads)[-1]


def plot_by_parameter(rows, pattern, path):
    """The main metric against the pattern's parameter at one payload: a line per transport and placement."""
    parameter, panels = PATTERNS[pattern]
    column, ylabel, what = panels[0]
    by_line = {}
    for r in rows:
        if r["pattern"] == pattern and positive(r, column) and r.get(parameter, "").isdigit():
            by_line.setdefault((r["transport"], mode(r), ""), []).append((int(r["payload_bytes"]), int(r[parameter]), float(r[column])))
    if not by_line:
        return None
    payload = common_payload({k: [(p, v) for p, _, v in points] for k, points in by_line.items()})
    fig, ax = plt.subplots(figsize=(12, 6))
    values = set()
    for (transport, placement, _), points in sorted(by_line.items(), key=lambda item: order((item[0], None))):
        line = sorted((n, v) for p, n, v in points if p == payload)
        if not line:
            continue
        xs, ys = zip(*line)
        values.update(xs)
        ax.plot(xs, ys, markersize=5, label=f"{transport} ({placement})", **style(transport, placement))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(values))
    ax.set_xticklabels([str(v) for v in sorted(values)])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel(parameter)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title(rows, f"{what} against {parameter}, {spaced_size(payload)} payload"), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    label_log_axis([ax])
    return save(fig, ax, path)


def plot_change(base, new, path, ignore):
    output = ipcbench("compare", base, new, "--format", "csv", *sum((["--ignore", k] for k in ignore), []))
    rows = list(csv.DictReader(io.StringIO(output)))
    if not any(r["kind"] == "case" for r in rows):
        return None
    def label(r):
        if r["kind"] == "geomean":
            return f"geomean {r['metric']}"
        payload = size_label(int(r["payload_bytes"])) if r["payload_bytes"] else ""
        # The parameter columns, where this version of compare writes them.
        values = [f"{k} {r[k]}" for k in ("depth", "receivers", "pairs") if r.get(k)]
        return " ".join(x for x in (r["transport"], r["pattern"], *values, payload, r["placement"], r["metric"]) if x)
    # Ratios on a log axis, labelled as changes in %: -50% and +100% sit at the same distance from 0.
    fig, ax = plt.subplots(figsize=(10, max(4, 0.28 * len(rows) + 1.5)))
    ratio = lambda pct: max(1e-3, 1 + pct / 100)
    ends = []
    for y, r in enumerate(rows):
        value = float(r["change_pct"])
        better = (value > 0) == higher_is_better(r["metric"])
        color = "#999999" if r["significant"] != "1" else ("#2a9d3a" if better else "#d1495b")
        ends.append(ratio(value))
        if r["change_ci95_low_pct"] and r["change_ci95_high_pct"]:
            low, high = ratio(float(r["change_ci95_low_pct"])), ratio(float(r["change_ci95_high_pct"]))
            ends += [low, high]
            ax.errorbar([ratio(value)], [y], xerr=[[max(0, ratio(value) - low)], [max(0, high - ratio(value))]], fmt="o",
                        color=color, markersize=4, capsize=3, elinewidth=1.5)
        else:
            ax.plot([ratio(value)], [y], "o", color=color, markersize=4, fillstyle="none")
    ax.set_xscale("log")
    span = max(max(ends) / min(ends), 1.02)
    ax.set_xlim(min(min(ends), 1) / span ** 0.05, max(max(ends), 1) * span ** 0.05)
    low, high = ax.get_xlim()
    steps = [-99, -90, -75, -50, -30, -20, -10, -5, -2, -1, -0.5, 0, 0.5, 1, 2, 5, 10, 20, 30, 50, 100, 200, 300, 500,
             1000, 2000, 5000, 10000, 20000, 50000, 100000]
    # From 0 outwards, a tick only where it does not crowd the last one.
    gap = math.log(high / low) / 9
    ticks = [0]
    for side in ([p for p in steps if p > 0], [p for p in reversed(steps) if p < 0]):
        last = 1.0
        for p in side:
            if low <= ratio(p) <= high and abs(math.log(ratio(p) / last)) >= gap:
                ticks.append(p)
                last = ratio(p)
    ticks.sort()
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator([ratio(p) for p in ticks]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{p:+g}%" if p else "0" for p in ticks]))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([label(r) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xlabel("change against the base, % with its 95% interval, log scale (green better, red worse, grey not significant)")
    names = lambda side: ",".join(os.path.basename(f) for f in side.split(","))
    ax.set_title(f"{names(new)} against {names(base)}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return path, png(fig)


def main():
    parser = argparse.ArgumentParser(description="Plot ipcbench results as PNG files.")
    parser.add_argument("files", nargs="+", help="ipcbench results files (<stem>.csv); several runs of a side joined with commas")
    parser.add_argument("-o", "--output", help="folder for the PNG files (default: beside the first file)")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare (for example placement)")
    args = parser.parse_args()
    folder = args.output or os.path.dirname(os.path.abspath(args.files[0].split(",")[0]))
    paths = list(dict.fromkeys(f for side in args.files for f in side.split(",")))
    check(paths)
    written = []
    stem_of = lambda path: os.path.splitext(os.path.basename(path))[0]
    stems = [stem_of(side.split(",")[0]) for side in args.files]
    for path in paths:
        stem = stem_of(path)
        rows = read(path)
        if not rows:
            print(f"{path}: no ok rows to plot", file=sys.stderr)
            continue
        present = []
        for r in rows:
            if r["pattern"] in PATTERNS and r["pattern"] not in present:
                present.append(r["pattern"])
        for pattern in sorted(present, key=list(PATTERNS).index):
            written.append(plot_pattern(rows, pattern, os.path.join(folder, f"{stem}-{pattern}.png")))
            if PATTERNS[pattern][0]:
                by = os.path.join(folder, f"{stem}-{pattern}-by-{PATTERNS[pattern][0]}.png")
                written.append(plot_by_parameter(rows, pattern, by))
    for path, stem in zip(args.files[1:], stems[1:]):
        written.append(plot_change(args.files[0], path, os.path.join(folder, f"{stems[0]}-vs-{stem}-change.png"), args.ignore))
    outputs = [w for w in written if w]
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        fail(f"cannot make the folder {folder}: {e.strerror}")
    write_new(outputs)
    for path, _ in outputs:
        print(path)


if __name__ == "__main__":
    main()
