#!/usr/bin/env python3
"""One HTML page that compares ipcbench results: the overlay plots, the change plot and the table.

    scripts/report.py BASE NEW [NEW2 ...] [--ignore KEY] [-o FILE.html]

Each side is a results file or several runs joined with commas, as for `ipcbench compare`. The page
is one self-contained file (the plots are embedded), made from `scripts/plot.py` and
`ipcbench compare --format json`; open it in a browser. It never overwrites a file (exit 2).
Where the files hold cases at an offered rate (`ipcbench run --rate`), a table per pattern lays out
latency against load: a row per side, transport, placement, payload, wait mode and rate offered,
with the rate achieved, the late share, the corrected percentiles, the uncorrected p99.9 and
whether the path is saturated there (as scripts/plot.py rings it).
"""
import argparse, base64, html, os, subprocess, sys, tempfile

import ipcbench_files
from ipcbench_files import check, fail, ipcbench, write_new


def compare(sides, ignore):
    """The rows of `ipcbench compare --format json`, and its notes and warnings."""
    messages = []
    return ipcbench_files.compare(sides, ignore, messages=messages)["rows"], messages


def plots(sides, ignore, folder):
    """The PNG files scripts/plot.py writes for the sides, in the order it wrote them."""
    command = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.py"), *sides, "-o", folder]
    result = subprocess.run(command + sum((["--ignore", k] for k in ignore), []), capture_output=True, text=True)
    if result.returncode != 0:
        fail(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "scripts/plot.py failed")
    pngs = [f for f in os.listdir(folder) if f.endswith(".png")]
    # The change plots last: the overlays first show what was measured.
    return sorted(pngs, key=lambda f: (f.endswith("-change.png"), f))


def figure(v):
    """A base or new figure as compare's table writes it: one decimal from 100 up, three below."""
    return "" if v is None else f"{v:.1f}" if v >= 100 else f"{v:.3f}"


def percent(v):
    return "" if v is None else f"{v:+.1f}%"


def side_names(sides):
    return ["base" if i == 0 else "new" + (str(i) if len(sides) > 2 else "") for i in range(len(sides))]


def under_load(sides):
    """Each pattern's cases at a rate, [(pattern, what it times, its latency columns, lines)], from
    the sides' files read through the binary (ipcbench_files.load_lines)."""
    runs = {path: ipcbench_files.load(path) for side in sides for path in dict.fromkeys(side.split(","))}
    named = [(name, [runs[path] for path in dict.fromkeys(side.split(","))]) for name, side in zip(side_names(sides), sides)]
    patterns = dict.fromkeys(row["pattern"] for run in runs.values() for row in run.cases if row.get("offered_msgs_per_s"))
    out = []
    for pattern in patterns:
        latency, what = ipcbench_files.LOAD_LATENCY.get(pattern, ((), ""))
        lines = ipcbench_files.load_lines(named, pattern)
        if lines:
            out.append((pattern, what, latency, lines))
    return out


def number(v, places=1):
    return "" if v is None else f"{v:,.{places}f}"


def page(sides, rows, messages, images, loads=()):
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>ipcbench: {e(' against '.join(os.path.basename(s.split(',')[0]) for s in sides))}</title>",
           "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
           "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
           "td.name,th.name{text-align:left}tr.better td.verdict{color:#1a7f37;font-weight:bold}"
           "tr.worse td.verdict{color:#b42318;font-weight:bold}tr.saturated td{color:#b42318}img{max-width:100%;border:1px solid #eee;margin:8px 0}"
           "pre{background:#f6f8fa;padding:8px;font-size:12px;white-space:pre-wrap}</style></head><body>",
           "<h1>ipcbench comparison</h1>", "<ul>"]
    for name, side in zip(side_names(sides), sides):
        out.append(f"<li><b>{name}</b>: {e(side.replace(',', ', '))}</li>")
    out.append("</ul>")
    if messages:
        out.append("<pre>" + e("\n".join(messages)) + "</pre>")
    out.append("<h2>Plots</h2>")
    for name, data in images:
        out.append(f'<figure><img alt="{e(name)}" src="data:image/png;base64,{data}"><figcaption>{e(name)}</figcaption></figure>')
    if loads:
        out.append("<h2>Latency under an offered rate</h2>")
        out.append("<p>A row per rate offered (<code>ipcbench run --rate</code>): the rate achieved (median of the trials), the share "
                   "of messages sent late, and the latency from each message's intended send (corrected for coordinated omission), "
                   "beside its p99.9 from the actual send (uncorrected), µs. Saturated: below "
                   f"{ipcbench_files.KEEPS_UP:.0%} of the rate offered, or the p99 over {ipcbench_files.P99_GROWTH}× "
                   "the line's p99 at its lowest rate.</p>")
    for pattern, what, latency, lines in loads:
        out.append(f"<h3>{e(pattern)}{': ' + e(what) if what else ''}</h3>")
        heads = ["offered/s", "achieved/s", "late share", "pacing overshoot p99"] + (["p50", "p99", "p99.9", "p99.9 uncorrected"] if latency else []) + ["saturated"]
        out.append(f'<table class="load" id="load-{e(pattern)}"><thead><tr><th class="name">line</th>'
                   + "".join(f"<th>{h}</th>" for h in heads) + "</tr></thead><tbody>")
        for label, points in lines:
            for offered, f, saturated in points:
                cells = [number(offered, 0), number(f["achieved_msgs_per_s_median"], 0), number(f["late_share"], 4),
                         number(f["pacing_overshoot_us_p99"], 2)] + [number(f[c]) for c in latency] + ["yes" if saturated else ""]
                out.append(f'<tr class="{"saturated" if saturated else "kept-up"}"><td class="name">{e(label)}</td>'
                           + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</tbody></table>")
    out.append("<h2>Changes</h2>")
    out.append('<table id="changes"><thead><tr><th class="name">case</th><th class="name">metric</th><th>base</th><th>new</th>'
               "<th>change</th><th>95% interval</th><th>MDE</th><th>q</th><th>verdict</th></tr></thead><tbody>")
    for r in rows:
        # The verdict as compare's table writes it: better, worse, ~, within-run or no interval.
        style = r["verdict"] if r["verdict"] in ("better", "worse") else "plain"
        low, high = r["change_ci95_low_pct"], r["change_ci95_high_pct"]
        interval = e(f"[{percent(low)}, {percent(high)}]") if low is not None and high is not None else e(r["note"] or "")
        q = "" if r["q_value"] is None else f"{r['q_value']:.3g}"
        mde = "" if r["mde_pct"] is None else f"{r['mde_pct']:.1f}%"
        out.append(f'<tr class="{r["kind"]} {style}"><td class="name">{e(r["case"])}</td><td class="name">{e(r["metric"])}</td>'
                   f"<td>{figure(r['base'])}</td><td>{figure(r['new'])}</td><td>{percent(r['change_pct'])}</td><td>{interval}</td>"
                   f"<td>{mde}</td><td>{q}</td>"
                   f'<td class="verdict">{e(r["verdict"])}</td></tr>')
    out.append("</tbody></table>")
    out.append("<p>change: new/base − 1; 95% interval of the change; MDE: the change found 80% of the time; q: Benjamini-Hochberg "
               "adjusted p-value; better or worse where q &lt; 0.05. One run a side gives within-run intervals and no verdict.</p>")
    # What the page's own load says (how many images decoded, any script error): tests read it back
    # from a headless browser's DOM.
    out.append("<script>let errors = 0; window.addEventListener('error', () => { errors++; document.body.dataset.errors = errors; });"
               "window.addEventListener('load', () => { const images = [...document.images];"
               " document.body.dataset.images = images.length;"
               " document.body.dataset.loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;"
               " document.body.dataset.errors = errors; });</script>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sides", nargs="+", help="results files; several runs of a side joined with commas")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare and plot.py (for example placement)")
    parser.add_argument("-o", "--output", help="the HTML file (default <base stem>-report.html beside the first file)")
    args = parser.parse_args()
    if len(args.sides) < 2:
        fail("give a base side and at least one new side")
    first = args.sides[0].split(",")[0]
    output = args.output or (first[:-4] if first.endswith(".csv") else first) + "-report.html"
    if os.path.lexists(output):
        fail(f"{output} already exists; choose another -o (nothing is overwritten)")
    check(list(dict.fromkeys(f for side in args.sides for f in side.split(","))))
    rows, messages = compare(args.sides, args.ignore)
    with tempfile.TemporaryDirectory() as folder:
        images = []
        for name in plots(args.sides, args.ignore, folder):
            with open(os.path.join(folder, name), "rb") as f:
                images.append((name, base64.b64encode(f.read()).decode("ascii")))
    write_new([(output, page(args.sides, rows, messages, images, under_load(args.sides)).encode("utf-8"))])
    print(output)


if __name__ == "__main__":
    main()
