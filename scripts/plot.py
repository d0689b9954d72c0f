#!/usr/bin/env python3
"""Plots ipcbench results as PNG files.

    scripts/plot.py SIDE [SIDE ...] [-o FOLDER] [--ignore KEY]

A side is a results file, or several runs joined with commas (a1.csv,a2.csv,a3.csv), as for
`ipcbench compare`. With one side: for each file, one PNG per pattern it holds,
<stem>-<pattern>.png: the pattern's main metrics against payload size (log scales, a line per
transport, placement and parameter value, shaded by each case's interval), and for the patterns
with a parameter (async-request depth, fanout receivers, pairs pairs) also
<stem>-<pattern>-by-<parameter>.png: the main metric against the parameter at one payload, the
largest at which every transport and placement has a value (as `ipcbench pivot --rows parameter`).

With two or more sides: the same plots with every side on them, <name>-<pattern>.png where name is
each side's stems joined with + and the sides joined with -vs- (a1+a2-vs-b1+b2-latency.png): a
colour per transport, a line style per side, a legend naming the sides by what differs between
them (kernel, placement, knobs, else the file names), a band for each case's interval; and
<name>-change.png per new side: the change per case against the first side with its 95% interval,
green better, red worse, grey not significant (from `ipcbench compare --format json`). A side's
figure is the median of its trials (one run) or, as compare computes it, the geometric mean of its
runs' medians; its band the 95% interval of the median (one run: from the trials file, else the
case file's MiB/s interval) or the range of the runs' figures (several runs). Each PNG has a JSON sidecar (<png>.json) listing its series.

Cases run at an offered rate (`ipcbench run --rate`) are left out of those plots and drawn in
<name>-<pattern>-load.png instead: the latency against load curve, a line per side, transport,
placement, payload, parameter value and wait mode through its rates. Left, the rate achieved against the rate
offered (the diagonal is keeping up); right, where the pattern times its messages, the corrected
p50 (dashed) and p99 (solid) latency against the rate achieved. The first rate at which a line is
saturated is ringed: where it achieved less than 95% of what was offered, or its p99 is more than
10 times its p99 at its lowest rate.

The files are checked first, as compare and pivot read them (`ipcbench check`); bad input exits 2
with one line on stderr and writes nothing. An existing PNG (or a link with its name) is never
overwritten: exit 2, nothing written. Runs the ipcbench binary: $IPCBENCH, else .build/release/ipcbench.

    scripts/plot.py --series [--db DB] [filters] [--changes [--all]] -o OUT.png

One history series over time (`ipcbench history series --format json`, with the filters of
`history series`: --host, --kernel, --transport, --pattern, --size, --metric, --since, --until,
--key NAME=VALUE), which must leave one case and metric: each run's figure at its start time
(UTC) with its 95% interval as an error bar, a line per host (hosts are never mixed), each kernel
release named on the top axis where its runs start, and with --changes the change points of
`ipcbench history changes` (confirmed ones; --all: the others too) marked with their change, its
interval and q. OUT.png and its sidecar OUT.png.json (the points and change points drawn).

Needs matplotlib: `scripts/setup --test` installs it into the checkout's .venv (scripts/ipcbench puts
.venv/bin first on PATH; or run `.venv/bin/python3 scripts/plot.py`).
"""
import argparse, datetime, io, json, math, os, sys

import ipcbench_files
from ipcbench_files import check, fail, write_new

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import matplotlib.lines
    import matplotlib.dates
except ImportError:
    sys.exit("scripts/plot.py needs matplotlib: run scripts/setup --test, then .venv/bin/python3 scripts/plot.py")


class Run:
    """One results file, read through the binary (ipcbench_files.load): its ok rows, each with the
    figures the binary computed from its trials."""
    def __init__(self, path):
        results = ipcbench_files.load(path)
        self.path = path
        self.stem = results.stem
        ok = [r for r in results.cases if r["status"] == "ok"]
        # Cases at an offered rate have their own plot (plot_load); the others are closed-loop.
        self.rows = [r for r in ok if r.get("rate") is None]
        self.paced = [r for r in ok if r.get("rate") is not None]


class Side(list):
    """A side's runs, and for a side of several runs `centers`: (case, metric) -> (figure, lowest,
    highest run), the side's figure per case as compare computes it (its `cases` in --format json)."""
    centers = {}


def mode(row):
    """The placement mode a legend names (split, same, ...), from the cpu_placement column."""
    return row["cpu_placement"].split(":")[0]


# Axis labels and panel titles for the patterns' metrics, by pattern: [(case column, axis label, panel
# title)], the first panel the main metric (the one the parameter plot shows). Which patterns exist,
# their parameters, their metrics' trial columns and which way is better come from the binary
# (`ipcbench list --format csv`, read in main); a pattern missing here gets one panel, its main metric.
PANELS = {
    "throughput": [("mib_per_s_median", "MiB/s (median of trials)", "Throughput")],
    "latency": [("rtt_us_p50", "round-trip time, µs", "RTT p50"), ("rtt_us_p99", "", "RTT p99")],
    "sync-message": [("mib_per_s_median", "MiB/s (median of trials)", "sync-message MiB/s"),
                     ("rtt_us_p50", "send to acknowledgement, µs", "sync-message send-to-ack p50")],
    "async-request": [("msgs_per_s_median", "requests/s (median of trials)", "async-request requests/s")],
    "duplex": [("mib_per_s_median", "MiB/s, both directions (median of trials)", "duplex MiB/s")],
    "fanout": [("mib_per_s_median", "MiB/s, all receivers (median of trials)", "fanout MiB/s")],
    "pairs": [("mib_per_s_median", "MiB/s, all pairs (median of trials)", "pairs MiB/s")],
    "pubsub": [("mib_per_s_median", "MiB/s delivered, all subscribers (median of trials)", "pubsub delivered MiB/s"),
               ("delivery_us_p50_median", "publish to delivery, µs (median of trials)", "pubsub delivery p50")],
}
# Filled in main from the binary's table: pattern -> (its parameter columns, panels); case column ->
# trials column; (pattern, case column) -> the metric's name as compare writes it.
PATTERNS, TRIAL_COLUMN, METRIC_NAME = {}, {}, {}


def load_metrics():
    table = ipcbench_files.metrics()
    for m in table:
        TRIAL_COLUMN[m["case_column"]] = m["trial_column"]
        METRIC_NAME[(m["pattern"], m["case_column"])] = m["metric"]
        if m["pattern"] not in PATTERNS:
            main = [(m["case_column"], f"{m['unit']} (median of trials)", f"{m['pattern']} {m['metric']}")]
            PATTERNS[m["pattern"]] = (m["parameter"].split(), PANELS.get(m["pattern"], main))


def positive(row, column):
    """The row has a value a log axis can show in the column."""
    return row.get(column) is not None and row[column] > 0


def run_point(row, column):
    """(figure, low, high) of one case in one run, as the binary computed them: the median of the
    trials and its 95% interval; without trials the case file's figure (MiB/s with its interval);
    low and high None where nothing bounds it."""
    figure = row["figures"].get(TRIAL_COLUMN.get(column))
    if figure and figure["median"] > 0:
        return figure["median"], figure["ci95_low"], figure["ci95_high"]
    if column == "mib_per_s_median" and row.get("mib_per_s_ci95_low") is not None and row.get("mib_per_s_ci95_high") is not None:
        return row[column], row["mib_per_s_ci95_low"], row["mib_per_s_ci95_high"]
    return row[column], None, None


def parameter_text(row, parameters):
    """The case's parameters as a legend names them: `receivers 4`, `subscribers 2 topology broker`,
    and its wait mode when one was chosen (`wait poll`): two wait modes are two lines, never one."""
    return " ".join([f"{p} {row[p]}" for p in parameters if row.get(p)] + ([f"wait {row['wait']}"] if row.get("wait") else []))


def split_parameters(sides, pattern, parameters):
    """The parameters whose value differs between the pattern's cases (a legend names them), and the
    ones that do not as text for the heading: `publishers 1, topics 4`."""
    rows = [r for side in sides for run in side for r in run.rows if r["pattern"] == pattern]
    varying = [p for p in parameters if len({r.get(p) for r in rows}) > 1]
    fixed = ", ".join(f"{p} {rows[0][p]}" for p in parameters if p not in varying and rows and rows[0].get(p))
    return varying, fixed


def natural(text):
    """A sort key that orders `subscribers 2` before `subscribers 10`."""
    return [(0, int(w), "") if w.isdigit() else (1, 0, w) for w in text.split()]


def series(side, pattern, column, parameters=(), key_of=None):
    """{(transport, placement, parameters): [(payload, figure, low, high)]} of one side for one
    pattern and column (`key_of(row)` makes another key), sorted by payload, for the cases every run of the side has. One run: the
    median of its trials and its 95% interval; several: the side's figure as compare computes it
    (`Side.centers`) and the range of the runs' figures (an interval over 2 or 3 runs is too wide to
    draw; compare gives the verdict)."""
    per = {}
    for run in side:
        for r in run.rows:
            if r["pattern"] == pattern and positive(r, column):
                key = key_of(r) if key_of else (r["transport"], mode(r), parameter_text(r, parameters))
                if key is None:
                    continue
                per.setdefault(key, {}).setdefault(r["payload_bytes"], []).append((r, run_point(r, column)))
    out = {}
    for key, payloads in per.items():
        points = []
        for payload, figures in payloads.items():
            if len(figures) < len(side):
                continue
            if len(figures) == 1:
                points.append((payload, *figures[0][1]))
                continue
            center = side.centers.get((figures[0][0]["case"], METRIC_NAME.get((pattern, column))))
            if center:
                points.append((payload, *center))
        if points:
            out[key] = sorted(points)
    return dict(sorted(out.items(), key=order))


def order(item):
    """Transports in the usual order, then placement, then the parameters as numbers."""
    (transport, placement, value), _ = item
    rank = TRANSPORTS.index(transport) if transport in TRANSPORTS else len(TRANSPORTS)
    return (rank, transport, placement, natural(value) if isinstance(value, str) else value)


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


SIDE_STYLES = ["-", "--", ":", "-."]


def draw(ax, sides, labels, payloads, ylabel, heading, column, sidecar):
    """A line per side and (transport, placement, parameter value) on log-log axes against payload
    size, each with a band for its interval; every series also goes into `sidecar`."""
    for s, data in enumerate(sides):
        values = sorted({v for (_, _, v) in data if v}, key=natural)
        for (transport, placement, value), points in data.items():
            xs = [p[0] for p in points]
            payloads.update(xs)
            # The placement once: where it is what tells the sides apart, the side's label says it.
            where = "" if len(sides) > 1 and labels[s].startswith("placement ") else f" ({placement})"
            label = f"{transport}{where}" + (f" {value}" if value else "") + (f", {labels[s]}" if len(sides) > 1 else "")
            look = style(transport, placement, values.index(value) if value else 0)
            if len(sides) > 1:
                look["linestyle"] = SIDE_STYLES[s % len(SIDE_STYLES)]
            ax.plot(xs, [p[1] for p in points], markersize=4, label=label, **look)
            band = [p for p in points if p[2] is not None]
            if band:
                ax.fill_between([p[0] for p in band], [p[2] for p in band], [p[3] for p in band], color=look["color"], alpha=0.12, linewidth=0)
            sidecar.append({"side": labels[s], "transport": transport, "placement": placement, "parameter": value,
                            "metric": column, "points": [list(p) for p in points]})
    payload_axis(ax, payloads)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(heading, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


def label_log_axis(axes):
    """Enough labelled ticks on a log y axis to read values off: 1-9 and steps
    between 1 and 2 within a decade or two (so that a line near the top of a decade has a label above it),
    1, 2, 5 over a few decades, powers of ten beyond. Plain numbers, no exponents."""
    low, high = axes[0].get_ylim()
    decades = math.log10(high / low) if low > 0 and high > low else 1
    subs = ((1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 4, 5, 6, 7, 8, 9) if decades < 1 else (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9)
            if decades < 1.5 else (1, 2, 5) if decades < 4 else (1,))
    for ax in axes:
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs, numticks=40))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f}" if v >= 1e5 else f"{v:g}"))
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(base=10, subs=range(1, 10), numticks=40))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def png(fig, rect=(0, 0, 1, 1)):
    """The figure as PNG bytes (its panels within `rect`; None: as the caller laid them out), written
    only once every plot is drawn."""
    if rect:
        fig.tight_layout(rect=rect)
    content = io.BytesIO()
    fig.savefig(content, format="png", dpi=110)
    plt.close(fig)
    return content.getvalue()


def save(fig, ax, path, sidecar, sides):
    """The PNG and its JSON sidecar (the sides and every series drawn), as (path, bytes) pairs."""
    ax.legend(fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.01, 0.5))
    about = {"png": os.path.basename(path), "sides": sides, "series": sidecar}
    return [(path, png(fig)), (path + ".json", (json.dumps(about, indent=1) + "\n").encode())]


def title(side, what):
    r = side[0].rows[0]
    return f"{what} — {r['hostname']}, Linux {r['kernel_release']}, {r['cpu_model']}"


def plot_pattern(sides, labels, pattern, path):
    """The pattern's panels side by side, each its metric against payload, each on its own scale;
    None without values."""
    parameters, fixed = split_parameters(sides, pattern, PATTERNS[pattern][0])
    panels = PATTERNS[pattern][1]
    data = [[series(side, pattern, column, parameters) for side in sides] for column, _, _ in panels]
    if not any(data[0]):
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(12 if len(panels) == 1 else 15, 6), squeeze=False)
    axes = list(axes[0])
    sidecar = []
    for i, (ax, points, (column, ylabel, what)) in enumerate(zip(axes, data, panels)):
        what = f"{what}, {fixed}" if fixed and i == 0 else what
        heading = (title(sides[0], what) if len(sides) == 1 else f"{what} — {', '.join(labels)}") if i == 0 else what
        draw(ax, points, labels, set(), ylabel or panels[0][1], heading, column, sidecar)
        label_log_axis([ax])
    return save(fig, axes[-1], path, sidecar, describe(sides, labels))


def describe(sides, labels):
    return [{"label": label, "files": [run.path for run in side]} for side, label in zip(sides, labels)]


def common_payload(data):
    """The largest payload at which every line has a value, else the largest payload."""
    payloads = sorted({p for points in data.values() for p, _ in points})
    every = [p for p in payloads if all(any(q == p for q, _ in points) for points in data.values())]
    return (every or payloads)[-1]


def x_parameter(sides, pattern):
    """The parameter a by-parameter plot puts on its x axis: the pattern's only one, else the
    numeric one with the most values in the files (the others stay fixed along each line)."""
    parameters = PATTERNS[pattern][0]
    rows = [r for side in sides for run in side for r in run.rows if r["pattern"] == pattern]
    numeric = [p for p in parameters if all(isinstance(r.get(p), int) for r in rows)] or parameters
    return max(numeric, key=lambda p: (len({r.get(p) for r in rows}), -numeric.index(p)))


def plot_by_parameter(sides, labels, pattern, parameter, path):
    """The main metric against one of the pattern's parameters at one payload: a line per side,
    transport, placement and value of its other parameters."""
    others, fixed = split_parameters(sides, pattern, [p for p in PATTERNS[pattern][0] if p != parameter])
    column, ylabel, what = PATTERNS[pattern][1][0]

    def key_of(r):
        value = r.get(parameter)
        return (r["transport"], mode(r), (value, parameter_text(r, others))) if isinstance(value, int) else None

    data = [series(side, pattern, column, key_of=key_of) for side in sides]
    if not any(data):
        return None
    payload = common_payload({(s, k): [(p[0], p[1]) for p in points] for s, d in enumerate(data) for k, points in d.items()})
    entries = []  # (side, transport, placement, the other parameters, points), in plotting order
    for s, d in enumerate(data):
        lines = {}
        for (transport, placement, (value, rest)), points in d.items():
            lines.setdefault((transport, placement, rest), []).extend((value, *p[1:]) for p in points if p[0] == payload)
        for (transport, placement, rest), line in sorted(lines.items(), key=lambda item: order((item[0], None))):
            if line:
                entries.append((s, transport, placement, rest, sorted(line)))
    rests = sorted({e[3] for e in entries}, key=natural)
    transports = list(dict.fromkeys(e[1] for e in entries))
    # Many lines (pubsub's combinations): a panel per transport, a colour per combination.
    split = len(entries) > 8 and len(transports) > 1
    groups = [[e for e in entries if e[1] == t] for t in transports] if split else [entries]
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 8) if split else (12, 6), squeeze=False, sharey=True)
    axes = list(axes[0])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    values, sidecar = set(), []
    for ax, group in zip(axes, groups):
        for s, transport, placement, rest, line in group:
            values.update(p[0] for p in line)
            look = style(transport, placement, rests.index(rest))
            if split:
                look["color"] = colors[rests.index(rest) % len(colors)]
            if len(sides) > 1:
                look["linestyle"] = SIDE_STYLES[s % len(SIDE_STYLES)]
            elif len(rests) > 1:
                look["linestyle"] = SIDE_STYLES[rests.index(rest) % len(SIDE_STYLES)]
            name = f"{rest} ({placement})" if split else f"{transport} ({placement})" + (f" {rest}" if rest else "")
            ax.plot([p[0] for p in line], [p[1] for p in line], markersize=5,
                    label=name + (f", {labels[s]}" if len(sides) > 1 else ""), **look)
            band = [p for p in line if p[2] is not None]
            if band:
                ax.fill_between([p[0] for p in band], [p[2] for p in band], [p[3] for p in band], color=look["color"], alpha=0.12, linewidth=0)
            sidecar.append({"side": labels[s], "transport": transport, "placement": placement, "parameters": rest,
                            "payload": payload, "metric": column, "points": [list(p) for p in line]})
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(values))
        ax.set_xticklabels([str(v) for v in sorted(values)])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(parameter)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    heading = f"{what} against {parameter}, {spaced_size(payload)} payload" + (f", {fixed}" if fixed else "")
    heading = title(sides[0], heading) if len(sides) == 1 else f"{heading} — {', '.join(labels)}"
    label_log_axis(axes)
    if not split:
        axes[0].set_title(heading, fontsize=10)
        return save(fig, axes[0], path, sidecar, describe(sides, labels))
    fig.suptitle(heading, fontsize=11)
    for ax, transport in zip(axes, transports):
        ax.set_title(transport, fontsize=10)
    # One legend for the panels: a combination has one colour and line in every panel.
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), fontsize=8, loc="lower center", ncol=min(4, len(handles)), frameon=False)
    about = {"png": os.path.basename(path), "sides": describe(sides, labels), "series": sidecar}
    rect = (0, 0.03 + 0.035 * math.ceil(len(handles) / 4), 1, 1)
    return [(path, png(fig, rect)), (path + ".json", (json.dumps(about, indent=1) + "\n").encode())]


# The environment columns that can tell sides apart, with the word a legend uses for each.
DIFFERING = [("kernel_release", "kernel"), ("kernel_cmdline", "cmdline"), ("kernel_cmdline_mitigations", "mitigations="),
             ("kernel_cmdline_preempt", "preempt="), ("mitigations", "mitigations"), ("smt", "smt"), ("clocksource", "clocksource"),
             ("cpu_governor", "governor"), ("virtualization", "virt"), ("hostname", "host"), ("cpu_model", "cpu")]


def side_labels(sides, arguments):
    """Each side named by what differs between the sides (kernel, environment, placement, options),
    else by its files."""
    def values(side, get):
        return sorted({get(r) for run in side for r in run.rows})
    parts = [[] for _ in sides]
    getters = [(word, (lambda c: lambda r: r.get(c) or "")(column)) for column, word in DIFFERING]
    getters += [("placement", mode), ("options", lambda r: r.get("options") or "")]
    for word, get in getters:
        found = [values(side, get) for side in sides]
        if any(f != found[0] for f in found):
            for i, f in enumerate(found):
                parts[i].append(f"{word} {'+'.join(v or '(none)' for v in f)}")
    labels = [", ".join(p) for p in parts]
    if any(not label for label in labels) or len(set(labels)) < len(labels):
        labels = [",".join(os.path.basename(f) for f in a.split(",")) for a in arguments]
    return labels


def plot_change(base, new, path, ignore, heading):
    rows = ipcbench_files.compare([base, new], ignore)["rows"]
    if not any(r["kind"] == "case" for r in rows):
        names = lambda side: ",".join(os.path.basename(f) for f in side.split(","))
        print(f"scripts/plot.py: no case of {names(new)} is in every file of {names(base)}, so there is no change plot; "
              "if they differ in placement, options or parameter on purpose, give --ignore placement (or options, parameter)", file=sys.stderr)
        return None
    def label(r):
        return f"{r['case']} {r['metric']}"
    # Ratios on a log axis, labelled as changes in %: -50% and +100% sit at the same distance from 0.
    fig, ax = plt.subplots(figsize=(10, max(4, 0.28 * len(rows) + 1.5)))
    ratio = lambda pct: max(1e-3, 1 + pct / 100)
    ends = []
    for y, r in enumerate(rows):
        value = r["change_pct"]
        better = (value > 0) == r["higher_is_better"]
        color = "#999999" if not r["significant"] else ("#2a9d3a" if better else "#d1495b")
        ends.append(ratio(value))
        if r["change_ci95_low_pct"] is not None and r["change_ci95_high_pct"] is not None:
            low, high = ratio(r["change_ci95_low_pct"]), ratio(r["change_ci95_high_pct"])
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
    # The first case on top, and no empty band above or below the rows.
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xlabel("change against the base, % with its 95% interval, log scale")
    ax.set_title(heading, fontsize=10, pad=16)
    ax.grid(True, axis="x", alpha=0.3)
    handles = [matplotlib.lines.Line2D([], [], color=c, marker="o", linestyle="", label=t) for c, t in
               (("#2a9d3a", "better (q < 0.05)"), ("#d1495b", "worse (q < 0.05)"), ("#999999", "not significant, or within-run (one run a side)"))]
    # Anchored at the axes' right end, so that long case names (a narrow axes) never push it off the figure.
    ax.legend(handles=handles, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False,
              borderaxespad=0.1)
    # Wide enough for the longest case name (pubsub's name five parameters) beside a 5-inch axis:
    # measured, since tight_layout alone cut the longest names off at the left.
    fig.set_dpi(110)  # as png() saves it: small text is wider at 110 dpi than at 100
    fig.canvas.draw()
    names = max(t.get_window_extent().width for t in ax.get_yticklabels()) / fig.dpi + 0.2
    width, height = max(10, names + 5.2), fig.get_size_inches()[1]
    fig.set_size_inches(width, height)
    fig.subplots_adjust(left=names / width, right=1 - 0.2 / width, top=1 - 0.75 / height, bottom=0.8 / height)
    return [(path, png(fig, None))]


# The columns of a series row that are not its case key (docs/history.md).
SERIES_COLUMNS = ("timestamp_utc", "hostname", "kernel_release", "boot_id", "run_id", "metric", "value", "ci95_low", "ci95_high")
CHANGE_COLUMNS = ("metric", "hostname", "before_timestamp_utc", "before_run_id", "before_kernel", "after_timestamp_utc",
                  "after_run_id", "after_kernel", "change_pct", "otava_p", "q", "change_ci95_low_pct", "change_ci95_high_pct", "verdict")


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def case_key(row, skip):
    """A row's case key, as (column, value) pairs in the binary's column order."""
    return tuple((name, value) for name, value in row.items() if name not in skip and value not in (None, ""))


def key_text(key):
    """A case key as a kernel engineer reads it: pipe throughput 64 B, placement split, options=a."""
    named = dict(key)
    head = " ".join(str(v) for v in (named.get("transport"), named.get("pattern")) if v)
    if named.get("payload_bytes") is not None:
        head += f" {named['payload_bytes']} B"
    rest = [f"placement {v}" if n == "cpu_placement" else f"{n}={v}" for n, v in key
            if n not in ("transport", "pattern", "payload_bytes")]
    return ", ".join([head] + rest)


def plot_series(argv):
    """`--series`: one series over time from `ipcbench history series` (and its change points from
    `ipcbench history changes` with --changes): a line per host, each run's 95% interval as an error
    bar, each kernel release named on the top axis where it starts; one PNG and its JSON sidecar."""
    parser = argparse.ArgumentParser(prog="scripts/plot.py --series",
                                     description="Plot one history series over time (ipcbench history series) as a PNG.")
    parser.add_argument("--series", action="store_true", required=True)
    parser.add_argument("-o", "--output", required=True, help="the PNG to write (a new file; its sidecar is <png>.json)")
    parser.add_argument("--db", help="the database, as for ipcbench history (default: $IPCBENCH_DB, else results/history.sqlite)")
    for name in ("host", "kernel", "transport", "pattern", "size", "metric", "since", "until"):
        parser.add_argument(f"--{name}", help="passed to ipcbench history series")
    parser.add_argument("--key", action="append", default=[], metavar="NAME=VALUE", help="passed to ipcbench history series (repeatable)")
    parser.add_argument("--changes", action="store_true", help="mark the change points of ipcbench history changes (needs Apache Otava)")
    parser.add_argument("--all", action="store_true", help="with --changes: the change points not confirmed too (history changes --all)")
    args = parser.parse_args(argv)
    if args.all and not args.changes:
        fail("--all marks unconfirmed change points: give it with --changes")
    if not args.output.endswith(".png"):
        fail(f"-o {args.output}: name the PNG to write, ending in .png")
    filters = [a for name in ("db", "host", "kernel", "transport", "pattern", "size", "metric", "since", "until")
               if getattr(args, name) is not None for a in (f"--{name}", getattr(args, name))]
    filters += [a for k in args.key for a in ("--key", k)]
    rows = ipcbench_files.history("series", *filters)
    if not rows:
        fail("no runs match these filters; list what there is with ipcbench history series")
    series = {}
    for row in rows:
        series.setdefault((case_key(row, SERIES_COLUMNS), row["metric"]), []).append(row)
    if len(series) > 1:
        names = [f"{key_text(key)} {metric}" for key, metric in series]
        fail(f"the filters leave {len(series)} series ({'; '.join(names[:3])}{'; …' if len(names) > 3 else ''}): "
             "choose one with --metric, --transport, --pattern, --size or --key NAME=VALUE")
    (key, metric), rows = next(iter(series.items()))
    changes = []
    if args.changes:
        for change in ipcbench_files.history("changes", *filters, *(["--all"] if args.all else [])):
            if case_key(change, CHANGE_COLUMNS) == key and change["metric"] == metric:
                changes.append(change)
    pattern = dict(key).get("pattern")
    described = next((m for m in ipcbench_files.metrics() if m["pattern"] == pattern and m["trial_column"] == metric), None)
    unit = described["unit"] if described else ""
    better = "" if not described else "; higher is better" if described["higher_is_better"] else "; lower is better"

    hosts = list(dict.fromkeys(row["hostname"] for row in rows))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(12, 6))
    sidecar, releases = [], []
    for i, host in enumerate(hosts):
        mine = [row for row in rows if row["hostname"] == host]
        colour = colours[i % len(colours)]
        x = [when(row["timestamp_utc"]) for row in mine]
        y = [row["value"] for row in mine]
        # A run without an interval (one trial) gets no bar.
        low = [row["value"] - row["ci95_low"] if row.get("ci95_low") is not None else 0 for row in mine]
        high = [row["ci95_high"] - row["value"] if row.get("ci95_high") is not None else 0 for row in mine]
        ax.errorbar(x, y, yerr=[low, high], color=colour, marker="o", markersize=4, linewidth=1.2, capsize=3,
                    elinewidth=1, label=f"{host}: median of trials, bar: its 95% interval")
        previous = None
        for when_, row in zip(x, mine):
            if row["kernel_release"] != previous:
                releases.append((when_, row["kernel_release"], host))
                previous = row["kernel_release"]
        sidecar.append({"hostname": host, "points": [[row["timestamp_utc"], row["kernel_release"], row["run_id"], row["value"],
                                                       row.get("ci95_low"), row.get("ci95_high")] for row in mine]})
    for change in changes:
        before, after = when(change["before_timestamp_utc"]), when(change["after_timestamp_utc"])
        middle = before + (after - before) / 2
        confirmed = change["verdict"] == "confirmed"
        ax.axvline(middle, color="tab:red" if confirmed else "grey", linestyle="--", linewidth=1.2)
        q = f"q {change['q']:.4f}" if change["q"] >= 0.0001 else "q < 0.0001"
        ax.annotate(f"{change['change_pct']:+.1f}% [{change['change_ci95_low_pct']:+.1f}, {change['change_ci95_high_pct']:+.1f}]\n"
                    f"{q}, {change['verdict']}" + (f"\n{change['hostname']}" if len(hosts) > 1 else ""),
                    xy=(middle, 1), xycoords=("data", "axes fraction"), xytext=(4, -4), textcoords="offset points",
                    va="top", fontsize=8, color="tab:red" if confirmed else "dimgrey")
    if changes:
        ax.plot([], [], color="tab:red", linestyle="--", label="change point (history changes): change % [95% interval], q")
    # The kernel releases on the top axis, each where its runs start.
    # Hosts that start the same release close together (within 2% of the time shown) share a label.
    span = max(when(row["timestamp_utc"]) for row in rows) - min(when(row["timestamp_utc"]) for row in rows)
    ticks = []
    for start, release, host in sorted(releases):
        near = next((t for t in ticks if t[1] == release and start - t[0] <= span * 0.02), None)
        if near:
            near[2].append(host)
        else:
            ticks.append((start, release, [host]))
    top = ax.secondary_xaxis("top")
    top.set_xticks([t[0] for t in ticks])
    top.set_xticklabels([release + (f" ({', '.join(names)})" if len(hosts) > 1 else "") for _, release, names in ticks],
                        rotation=60, ha="left", fontsize=8)
    for start, _, _ in ticks:
        ax.axvline(start, color="lightgrey", linewidth=0.8, zorder=0)
    top.set_xlabel("kernel release (where it starts)", fontsize=9)
    locator = matplotlib.dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))
    ax.set_xlabel("run start (UTC)")
    name = described["name"] if described and described["name"] == unit else f"{described['name']}, {unit}" if described else metric
    ax.set_ylabel(f"{name} (median of trials){better}")
    ax.set_title(f"{key_text(key)} — {metric} over time, {len(rows)} runs of {len(hosts)} host{'s' if len(hosts) > 1 else ''}",
                 fontsize=10, loc="left")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    about = {"png": os.path.basename(args.output), "case": dict(key), "metric": metric, "series": sidecar,
             "changes": [{name: change[name] for name in CHANGE_COLUMNS if name in change} for change in changes]}
    outputs = [(args.output, png(fig)), (args.output + ".json", (json.dumps(about, indent=1) + "\n").encode())]
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        fail(f"-o {args.output}: the folder {folder} does not exist")
    write_new(outputs)
    print(args.output)


# The latency a pattern's load plot draws against the rate achieved: (p50 column, p99 column, what it times).
LOAD_LATENCY = {
    "latency": ("rtt_us_p50", "rtt_us_p99", "round trip"),
    "sync-message": ("rtt_us_p50", "rtt_us_p99", "send to acknowledgement"),
    "async-request": ("rtt_us_p50", "rtt_us_p99", "request to reply"),
    "pubsub": ("delivery_us_p50_median", "delivery_us_p99_median", "publish to delivery"),
}
# Saturated: less than this share of the offered rate achieved, or the p99 this many times its p99 at the lowest rate.
KEEPS_UP, P99_GROWTH = 0.95, 10


def rate_label(n):
    """10000 -> `10k`, 1500000 -> `1.5M`: an offered rate beside its point."""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:g}{unit}"
    return f"{n:g}"


def saturation(points):
    """The index of the first saturated point of a line's [(offered, achieved, p50, p99)], or None."""
    base = next((p[3] for p in points if p[3]), None)
    for i, (offered, achieved, _, p99) in enumerate(points):
        if achieved < KEEPS_UP * offered or (base and p99 and p99 > P99_GROWTH * base):
            return i
    return None


def load_lines(side, pattern):
    """{(transport, placement, payload, parameters): [(offered, achieved, p50, p99)]} of one side's
    cases at a rate, sorted by the rate offered; several runs: the median of their figures."""
    latency = LOAD_LATENCY.get(pattern)
    rows = [r for run in side for r in run.paced if r["pattern"] == pattern]
    # Only the parameters whose value differs between the lines name them.
    parameters = [p for p in PATTERNS[pattern][0] if len({r.get(p) for r in rows}) > 1]
    per = {}
    for run in side:
        for r in run.paced:
            if r["pattern"] != pattern or not r.get("offered_msgs_per_s") or r.get("achieved_msgs_per_s_median") is None:
                continue
            key = (r["transport"], mode(r), r["payload_bytes"], parameter_text(r, parameters))
            p50, p99 = (r.get(latency[0]), r.get(latency[1])) if latency else (None, None)
            per.setdefault(key, {}).setdefault(r["offered_msgs_per_s"], []).append((r["achieved_msgs_per_s_median"], p50, p99))
    def middle(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None
    out = {}
    for key, rates in per.items():
        out[key] = [(offered, middle([f[0] for f in fs]), middle([f[1] for f in fs]), middle([f[2] for f in fs]))
                    for offered, fs in sorted(rates.items())]
    return dict(sorted(out.items(), key=lambda item: (TRANSPORTS.index(item[0][0]) if item[0][0] in TRANSPORTS else len(TRANSPORTS),
                                                      item[0][0], item[0][1], item[0][2], natural(item[0][3]))))


def plot_load(sides, labels, pattern, path):
    """Latency against load for one pattern's cases at a rate: achieved against offered, and the
    corrected p50 and p99 against achieved, with each line's saturation ringed."""
    latency = LOAD_LATENCY.get(pattern)
    data = [load_lines(side, pattern) for side in sides]
    if not any(data):
        return None
    panels = 2 if latency else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 5), squeeze=False)
    axes = axes[0]
    sidecar, handles = [], []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    keys = sorted({k for lines in data for k in lines}, key=lambda k: (TRANSPORTS.index(k[0]) if k[0] in TRANSPORTS else len(TRANSPORTS), k))
    rates = [p[0] for lines in data for points in lines.values() for p in points]
    # A marker per rate offered, the same in both panels: the lines run in that order, even where achieved falls back.
    offered_rates = sorted(set(rates))
    marker = lambda rate: MARKERS[offered_rates.index(rate) % len(MARKERS)]
    for s, lines in enumerate(data):
        for key, points in lines.items():
            transport, placement, payload, rest = key
            color = colors[keys.index(key) % len(colors)] if len(keys) > len(set(k[0] for k in keys)) else style(transport, placement)["color"]
            name = " ".join(x for x in (transport, spaced_size(payload), rest, placement if len({k[1] for k in keys}) > 1 else "",
                                         labels[s] if len(sides) > 1 else "") if x)
            offered = [p[0] for p in points]
            achieved = [p[1] for p in points]
            linestyle = SIDE_STYLES[s % len(SIDE_STYLES)]
            axes[0].plot(offered, achieved, color=color, linestyle=linestyle, label=name)
            for x, y in zip(offered, achieved):
                axes[0].plot([x], [y], marker(x), color=color, markersize=6)
            handles.append(matplotlib.lines.Line2D([], [], color=color, linestyle=linestyle, label=name))
            at = saturation(points)
            if at is not None:
                axes[0].plot([offered[at]], [achieved[at]], "o", markersize=14, markerfacecolor="none", markeredgecolor="#d1495b", markeredgewidth=2)
            if latency:
                shown = [(p[1], p[2], p[3]) for p in points if p[1] and p[2] and p[3]]
                if shown:
                    axes[1].plot([x for x, _, _ in shown], [y for _, _, y in shown], color=color, linestyle=linestyle)
                    axes[1].plot([x for x, _, _ in shown], [y for _, y, _ in shown], color=color, linestyle=":", alpha=0.8)
                    for p in points:
                        if p[1] and p[2] and p[3]:
                            axes[1].plot([p[1]], [p[3]], marker(p[0]), color=color, markersize=6)
                            axes[1].plot([p[1]], [p[2]], marker(p[0]), color=color, markersize=4, alpha=0.6)
                    if at is not None and points[at][3]:
                        axes[1].plot([points[at][1]], [points[at][3]], "o", markersize=14, markerfacecolor="none",
                                     markeredgecolor="#d1495b", markeredgewidth=2)
            sidecar.append({"side": labels[s], "transport": transport, "placement": placement, "payload_bytes": payload,
                            "parameters": rest, "saturated_at_offered": offered[at] if at is not None else None,
                            "points": [{"offered": p[0], "achieved": p[1], "p50_us": p[2], "p99_us": p[3]} for p in points]})
    low, high = min(rates), max(rates)
    axes[0].plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    # Plain labels at 1, 2 and 5 of each decade: rates as 2k or 1M, latencies as plain µs.
    def ticks(axis, text):
        axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5), numticks=40))
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: text(v)))
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    rate_text = lambda v: rate_label(v) if v >= 1 else f"{v:g}"
    ticks(axes[0].xaxis, rate_text)
    ticks(axes[0].yaxis, rate_text)
    if latency:
        ticks(axes[1].xaxis, rate_text)
        ticks(axes[1].yaxis, lambda v: f"{v:.0f}" if v >= 1 else f"{v:g}")
    axes[0].set_xlabel("offered, messages/s (all senders)")
    axes[0].set_ylabel("achieved, messages/s (median of trials)")
    axes[0].set_title("Rate achieved against rate offered\n(on the dashed diagonal: keeping up)", fontsize=10)
    if latency:
        axes[1].set_xlabel("achieved, messages/s")
        axes[1].set_ylabel(f"{latency[2]}, µs, from the intended send")
        axes[1].set_title(f"Latency against load, corrected for coordinated omission\n(solid p99, dotted p50)", fontsize=10)
    for rate in offered_rates:
        handles.append(matplotlib.lines.Line2D([], [], marker=marker(rate), color="#555555", linestyle="",
                                               label=f"{rate_label(rate)} msgs/s offered"))
    handles.append(matplotlib.lines.Line2D([], [], marker="o", markersize=10, markerfacecolor="none", markeredgecolor="#d1495b",
                                           markeredgewidth=2, linestyle="", label=f"saturated: below {KEEPS_UP:.0%} of offered, or p99 over {P99_GROWTH}× its lowest-rate p99"))
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=3, frameon=False)
    first = next(r for side in sides for run in side for r in run.paced)
    fig.suptitle(f"{pattern} under an offered rate (ipcbench run --rate)\n{first['hostname']}, Linux {first['kernel_release']}", fontsize=10)
    rows = math.ceil(len(handles) / 3)
    bottom = min(0.45, 0.02 + 0.04 * rows)
    fig.tight_layout(rect=(0, bottom, 1, 0.93))
    about = {"png": os.path.basename(path), "sides": labels, "series": sidecar}
    return [(path, png(fig, None)), (path + ".json", (json.dumps(about, indent=1) + "\n").encode())]


def main():
    if "--series" in sys.argv[1:]:
        return plot_series(sys.argv[1:])
    parser = argparse.ArgumentParser(description="Plot ipcbench results as PNG files.")
    parser.add_argument("files", nargs="+", help="ipcbench results files (<stem>.csv); several runs of a side joined with commas")
    parser.add_argument("-o", "--output", help="folder for the PNG files (default: beside the first file)")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare (for example placement)")
    args = parser.parse_args()
    folder = args.output or os.path.dirname(os.path.abspath(args.files[0].split(",")[0]))
    check(list(dict.fromkeys(f for side in args.files for f in side.split(","))))
    load_metrics()
    sides = [Side(Run(p) for p in dict.fromkeys(side.split(","))) for side in args.files]
    if any(len(side) > 1 for side in sides):
        # The figures of a side of several runs as compare computes them (no --ignore: every case by its own key).
        for side, centers in zip(sides, ipcbench_files.centers(args.files)):
            side.centers = centers
    written = []

    def patterns(side_list):
        present = {r["pattern"] for side in side_list for run in side for r in run.rows if r["pattern"] in PATTERNS}
        return sorted(present, key=list(PATTERNS).index)

    def paced_patterns(side_list):
        present = {r["pattern"] for side in side_list for run in side for r in run.paced if r["pattern"] in PATTERNS}
        return sorted(present, key=list(PATTERNS).index)

    def plots(side_list, labels, name):
        for pattern in patterns(side_list):
            payloads = {r["payload_bytes"] for side in side_list for run in side for r in run.rows if r["pattern"] == pattern}
            # Against payload only where there is more than one, or nothing else to plot against.
            if len(payloads) > 1 or not PATTERNS[pattern][0]:
                written.append(plot_pattern(side_list, labels, pattern, os.path.join(folder, f"{name}-{pattern}.png")))
            if PATTERNS[pattern][0]:
                x = x_parameter(side_list, pattern)
                by = os.path.join(folder, f"{name}-{pattern}-by-{x}.png")
                written.append(plot_by_parameter(side_list, labels, pattern, x, by))
        for pattern in paced_patterns(side_list):
            written.append(plot_load(side_list, labels, pattern, os.path.join(folder, f"{name}-{pattern}-load.png")))

    if len(sides) == 1:
        for run in dict((run.path, run) for run in sides[0]).values():
            if not run.rows and not run.paced:
                print(f"{run.path}: no ok rows to plot", file=sys.stderr)
                continue
            plots([[run]], [run.stem], run.stem)
    else:
        labels = side_labels(sides, args.files)
        name = "-vs-".join("+".join(run.stem for run in side) for side in sides)
        plots(sides, labels, name)
        for k in range(1, len(sides)):
            pair = "-vs-".join("+".join(run.stem for run in side) for side in (sides[0], sides[k]))
            written.append(plot_change(args.files[0], args.files[k], os.path.join(folder, f"{pair}-change.png"), args.ignore,
                                       f"{labels[k]} against {labels[0]}"))
    outputs = [item for w in written if w for item in w]
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        fail(f"cannot make the folder {folder}: {e.strerror}")
    write_new(outputs)
    for path, _ in outputs:
        if path.endswith(".png"):
            print(path)


if __name__ == "__main__":
    main()
