#!/usr/bin/env python3
"""Plots ipcbench results as PNG files.

    scripts/plot.py RESULTS.csv [MORE.csv ...] [-o FOLDER]

For each file: <stem>-throughput.png (MiB/s against payload size, log scales, a line per transport
and placement) and <stem>-latency.png (RTT p50 and p99 against payload size). Given two or more
files, also <base stem>-vs-<new stem>-change.png: the change per case against the first file, as
bars, with the changes that are not significant greyed (from `ipcbench compare --format csv`).

Needs matplotlib: `python3 -m pip install matplotlib` (scripts/setup --test installs it).
"""
import argparse, csv, io, os, subprocess, sys

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
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
    ax.set_ylabel(ylabel)
    ax.set_title(heading, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


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
    return save(fig, ax, path)


def plot_latency(rows, path):
    p50 = series(rows, "latency", "rtt_us_p50")
    p99 = series(rows, "latency", "rtt_us_p99")
    if not p50:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6), sharey=True)
    draw(left, p50, set(), "round-trip time, µs", title(rows, "RTT p50"))
    draw(right, p99, set(), "", "RTT p99")
    return save(fig, right, path)


def ipcbench_binary():
    built = os.path.join(ROOT, ".build", "release", "ipcbench")
    return os.environ.get("IPCBENCH", built)


def plot_change(base, new, path, ignore):
    cmd = [ipcbench_binary(), "compare", base, new, "--format", "csv"] + sum((["--ignore", k] for k in ignore), [])
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"ipcbench compare failed: {result.stderr.strip()}")
    changes = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["kind"] == "case"]
    if not changes:
        return None
    labels = [" ".join(x for x in (r["transport"], r["pattern"], size_label(int(r["payload_bytes"])) if r["payload_bytes"] else "",
                                   r["placement"], r["metric"]) if x) for r in changes]
    values = [float(r["change_pct"]) for r in changes]
    better = [(v > 0) == (r["metric"] == "MiB/s") for v, r in zip(values, changes)]
    colors = ["#bbbbbb" if r["significant"] != "1" else ("#2a9d3a" if b else "#d1495b") for r, b in zip(changes, better)]
    fig, ax = plt.subplots(figsize=(10, max(4, 0.28 * len(changes) + 1.5)))
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("change against the base, % (green better, red worse, grey not significant)")
    ax.set_title(f"{os.path.basename(new)} against {os.path.basename(base)}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description="Plot ipcbench results as PNG files.")
    parser.add_argument("files", nargs="+", help="ipcbench results files (<stem>.csv)")
    parser.add_argument("-o", "--output", help="folder for the PNG files (default: beside the first file)")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare (for example placement)")
    args = parser.parse_args()
    folder = args.output or os.path.dirname(os.path.abspath(args.files[0]))
    os.makedirs(folder, exist_ok=True)
    written = []
    stems = [os.path.splitext(os.path.basename(f))[0] for f in args.files]
    for path, stem in zip(args.files, stems):
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
