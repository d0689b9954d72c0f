#!/usr/bin/env python3
"""Plots ipcbench results as PNG files.

    scripts/plot.py RESULTS.csv [MORE.csv ...] [-o FOLDER]

For each file: <stem>-throughput.png (MiB/s against payload size, log scales, a line per transport
and placement) and <stem>-latency.png (RTT p50 and p99 against payload size). Given two or more
sides, also <base stem>-vs-<new stem>-change.png: the change per case against the first side with
its 95% interval as an error bar, green better, red worse, grey not significant (from
`ipcbench compare --format csv`). A side is a file, or several runs joined with commas
(a1.csv,a2.csv,a3.csv), as for `ipcbench compare`.

Needs matplotlib: `python3 -m pip install matplotlib` (scripts/setup --test installs it).
"""
import argparse, csv, io, math, os, subprocess, sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError:
    sys.exit("scripts/plot.py needs matplotlib: python3 -m pip install matplotlib")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "transport" not in rows[0]:
        sys.exit(f"{path}: not an ipcbench results file")
    return [r for r in rows if r["status"] == "ok"]


def mode(row):
    return row["cpu_placement"].split(":")[0]


def series(rows, pattern, column):
    """{(transport, placement): [(payload, value)]} for one pattern and column, sorted by payload."""
    out = {}
    for r in rows:
        if r["pattern"] == pattern and r[column]:
            out.setdefault((r["transport"], mode(r)), []).append((int(r["payload_bytes"]), float(r[column])))
    return {k: sorted(v) for k, v in sorted(out.items())}


def size_label(n):
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def payload_axis(ax, payloads):
    ax.set_xscale("log", base=2)
    ticks = sorted(payloads)
    ax.set_xticks(ticks)
    ax.set_xticklabels([size_label(t) for t in ticks], rotation=45)
    ax.set_xlabel("payload per message")


TRANSPORTS = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp", "udp"]
LINESTYLES = {"split": "-", "same": "--", "none": ":", "pinned": "-."}


def style(transport, placement):
    """A color per transport and a line style per placement, the same in every plot."""
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    index = TRANSPORTS.index(transport) if transport in TRANSPORTS else len(TRANSPORTS)
    return {"color": colors[index % len(colors)], "linestyle": LINESTYLES.get(placement, "-")}


def draw(ax, data, payloads, ylabel, heading):
    """One line per (transport, placement) on log-log axes against payload size."""
    for (transport, placement), points in data.items():
        xs, ys = zip(*points)
        payloads.update(xs)
        ax.plot(xs, ys, marker="o", markersize=4, label=f"{transport} ({placement})", **style(transport, placement))
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
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(base=10, subs=range(1, 10), numticks=40))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def save(fig, ax, path):
    ax.legend(fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def title(rows, what):
    r = rows[0]
    return f"{what} — {r['hostname']}, Linux {r['kernel_release']}, {r['cpu_model']}"


def plot_throughput(rows, path):
    data = series(rows, "throughput", "mib_per_s_median")
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(12, 6))
    draw(ax, data, set(), "MiB/s (median of trials)", title(rows, "Throughput"))
    label_log_axis([ax])
    return save(fig, ax, path)


def plot_latency(rows, path):
    p50 = series(rows, "latency", "rtt_us_p50")
    p99 = series(rows, "latency", "rtt_us_p99")
    if not p50:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6), sharey=True)
    draw(left, p50, set(), "round-trip time, µs", title(rows, "RTT p50"))
    draw(right, p99, set(), "", "RTT p99")
    right.yaxis.set_tick_params(labelleft=True)
    label_log_axis([left, right])
    return save(fig, right, path)


def ipcbench_binary():
    built = os.path.join(ROOT, ".build", "release", "ipcbench")
    return os.environ.get("IPCBENCH", built)


def plot_change(base, new, path, ignore):
    cmd = [ipcbench_binary(), "compare", base, new, "--format", "csv"] + sum((["--ignore", k] for k in ignore), [])
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"ipcbench compare failed: {result.stderr.strip()}")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    if not any(r["kind"] == "case" for r in rows):
        return None
    def label(r):
        if r["kind"] == "geomean":
            return f"geomean {r['metric']}"
        payload = size_label(int(r["payload_bytes"])) if r["payload_bytes"] else ""
        return " ".join(x for x in (r["transport"], r["pattern"], payload, r["placement"], r["metric"]) if x)
    # Ratios on a log axis, labelled as changes in %: -50% and +100% sit at the same distance from 0.
    fig, ax = plt.subplots(figsize=(10, max(4, 0.28 * len(rows) + 1.5)))
    ratio = lambda pct: max(1e-3, 1 + pct / 100)
    ends = []
    for y, r in enumerate(rows):
        value = float(r["change_pct"])
        better = (value > 0) == (r["metric"] == "MiB/s")
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description="Plot ipcbench results as PNG files.")
    parser.add_argument("files", nargs="+", help="ipcbench results files (<stem>.csv); several runs of a side joined with commas")
    parser.add_argument("-o", "--output", help="folder for the PNG files (default: beside the first file)")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare (for example placement)")
    args = parser.parse_args()
    folder = args.output or os.path.dirname(os.path.abspath(args.files[0].split(",")[0]))
    os.makedirs(folder, exist_ok=True)
    written = []
    stem_of = lambda path: os.path.splitext(os.path.basename(path))[0]
    stems = [stem_of(side.split(",")[0]) for side in args.files]
    for path in [f for side in args.files for f in side.split(",")]:
        stem = stem_of(path)
        rows = read(path)
        if not rows:
            print(f"{path}: no ok rows to plot", file=sys.stderr)
            continue
        written.append(plot_throughput(rows, os.path.join(folder, stem + "-throughput.png")))
        written.append(plot_latency(rows, os.path.join(folder, stem + "-latency.png")))
    for path, stem in zip(args.files[1:], stems[1:]):
        written.append(plot_change(args.files[0], path, os.path.join(folder, f"{stems[0]}-vs-{stem}-change.png"), args.ignore))
    for w in filter(None, written):
        print(w)


if __name__ == "__main__":
    main()
