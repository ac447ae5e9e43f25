"""The summary as markdown tables (rows: workloads, columns: systems, then each peer's time over graphc's, so
> 1 means graphc is faster) and as a PNG with one panel per workload."""
from __future__ import annotations

from pathlib import Path

from bench.workloads import ELEMWISE_BYTES, MLP, MLP_BATCH, N, ROWS, ROWWISE_BYTES

GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (f"Elementwise, fused, {N:,} float32 per input", [
        ("transcendental", "exp(-x*x)*sin(y) + 0.5*z*tanh(x)"),
        ("arithmetic", "((x+y)*z - x/(y+2))*0.5 + z")]),
    (f"Row-wise over a {ROWS}x{ROWS} float32 matrix", [
        ("softmax", "softmax(a, axis=-1)"),
        ("logsumexp", "logsumexp(a, axis=-1)")]),
    ("SGD training step (forward, gradients, updates in one compiled call)", [
        ("mlp_step", f"MLP {'-'.join(map(str, MLP))}, batch {MLP_BATCH}"),
        ("digits_step", "digits MLP 64-128-10, batch 32")]),
    (f"Compile time: MLP {'-'.join(map(str, MLP))} training step, building it through its first call", [
        ("cold", "cold: empty cache, new process"),
        ("warm", "warm: new process, same cache")]),
    ("Call overhead: x + y on 1-element float32 vectors", [
        ("call_checked", "a call (inputs checked)"),
        ("call_trusted", "a call with trust_input = True")]),
    ("Start-up", [("import", "import (minus bare interpreter start)")]),
]
MACHINE_ROWS = [("triad_1t", "STREAM triad, 1 thread"), ("triad_2t", "STREAM triad, 2 threads"),
                ("triad_nt_1t", "triad, non-temporal stores, 1 thread"),
                ("triad_nt_2t", "triad, non-temporal stores, 2 threads"),
                ("sgemm", "sgemm 2048x2048 (numpy matmul)"),
                ("mlp_gemms", f"MLP {'-'.join(map(str, MLP))} step: its 5 GEMMs alone (numpy matmul)"),
                ("mlp_gemms_1t", "the same 5 GEMMs on 1 BLAS thread")]
BASE = "graphc"


def seconds(value: float) -> str:
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def _cell(info: dict, name: str) -> str:
    if "not_installed" in info:
        return "not installed"
    result = info["results"].get(name)
    if result is None:
        return "error" if name in info["errors"] else "—"
    text = seconds(result["median"]) if result["unit"] == "s" else f"{result['median']:.3g} {result['unit']}"
    return f"WRONG ({text})" if result["wrong"] else text


def _median(info: dict, name: str) -> float | None:
    result = info.get("results", {}).get(name)
    return None if result is None or result["wrong"] else result["median"]


def triad_bandwidth(systems: dict) -> float | None:
    """The best bandwidth any triad variant reached (GB/s): the bar for memory-bound workloads."""
    values = [v for k, _ in MACHINE_ROWS if k.startswith("triad") and (v := _median(systems["machine"], k))]
    return max(values) if values else None


def bounds(systems: dict) -> dict[str, float]:
    """Each workload's floor from the machine's limits: the bytes it must move at triad bandwidth, or the GEMMs
    alone of the training step."""
    out = {}
    bandwidth = triad_bandwidth(systems)
    if bandwidth:
        for name in ("transcendental", "arithmetic"):
            out[name] = ELEMWISE_BYTES * N / bandwidth / 1e9
        for name, per_element in ROWWISE_BYTES.items():
            out[name] = per_element * ROWS * ROWS / bandwidth / 1e9
    gemms = [t for k in ("mlp_gemms", "mlp_gemms_1t") if (t := _median(systems["machine"], k))]
    if gemms:
        out["mlp_step"] = min(gemms)
    return out


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows]


def render(info: dict, systems: dict) -> str:
    keys = [k for k in systems if k != "machine"]
    peers = [k for k in keys if k != BASE]
    cpu = info["machine"]
    versions = ", ".join(f"{systems[k]['label']} {systems[k].get('version') or '(not installed)'}" for k in keys)
    settings = info["settings"]
    out = [f"**graphc benchmarks, {info['mode']} mode, {info['date']}**", "",
           f"- Machine: {cpu['model']}, {cpu['cores']} cores, Python {cpu['python']}, {cpu['platform']}",
           f"- Systems: {versions}",
           f"- Load average (1 min) at start and end: {info['load'][0]:.1f}, {info['load'][1]:.1f} on "
           f"{cpu['cores']} cores (work outside the benchmark slows multi-threaded calls and adds noise)",
           f"- Each figure: the median over {settings['processes']} fresh processes (compile times: "
           f"{settings['compile_processes']}) of each process's best timed repetition (at least "
           f"{settings['repeat']}, more while {settings['min_seconds']} s last) after a warm-up; ratios are peer "
           f"time / graphc time (> 1: graphc is faster). float32 throughout.", ""]
    machine = systems["machine"]
    out += ["### Machine limits (measured in this run)", ""]
    out += _table(["measure", "value"], [[label, _cell(machine, key)] for key, label in MACHINE_ROWS]) + [""]
    floor = bounds(systems)
    bandwidth = triad_bandwidth(systems)
    notes: list[str] = []
    for title, rows in GROUPS:
        with_bound = any(name in floor for name, _ in rows)
        header = ["workload"] + [systems[k]["label"] for k in keys] + [f"{systems[k]['label']} / graphc" for k in peers]
        header += ["machine floor"] if with_bound else []
        body = []
        for name, label in rows:
            base = _median(systems.get(BASE, {}), name)
            ratios = []
            for k in peers:
                peer = _median(systems[k], name)
                ratios.append(f"{peer / base:.2f}x" if peer and base else "—")
            row = [label] + [_cell(systems[k], name) for k in keys] + ratios
            body.append(row + ([seconds(floor[name]) if name in floor else "—"] if with_bound else []))
            if name == "arithmetic" and bandwidth:
                cells = []
                for k in keys:
                    t = _median(systems[k], name)
                    gbs = ELEMWISE_BYTES * N / t / 1e9 if t else None
                    cells.append(f"{gbs:.1f} GB/s ({gbs / bandwidth:.0%})" if gbs else "—")
                body.append(["  effective bandwidth (% of triad)"] + cells + [""] * len(peers)
                            + ([f"{bandwidth:.1f} GB/s"] if with_bound else []))
            for k in keys:
                result = systems[k]["results"].get(name)
                if result and result["wrong"]:
                    notes.append(f"- WRONG: {systems[k]['label']}, {label}: {result['wrong']}")
        out += [f"### {title}", ""] + _table(header, body) + [""]
    for k in ["machine"] + keys:
        for name, error in systems[k]["errors"].items():
            notes.append(f"- error: {systems[k]['label']}, {name}: {error}")
        if "not_installed" in systems[k]:
            notes.append(f"- not installed: {systems[k]['label']}: {systems[k]['not_installed']}")
    out += ["machine floor: the bytes a workload must move (inputs read once, output written once) at the best "
            "triad bandwidth above; for the training step, its GEMMs alone (1 or 2 BLAS threads, whichever was "
            "faster). '—': not applicable (numpy compiles nothing; JAX and torch.compile have no unchecked call)."]
    if notes:
        out += ["", "Notes:"] + notes
    return "\n".join(out)


def plot(systems: dict, path: Path) -> None:
    """One panel per workload: each system's time over graphc's on a log axis, with the time on the bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    keys = [k for k in systems if k != "machine"]
    panels = [(name, label) for _, rows in GROUPS for name, label in rows]
    cols = 3
    fig, axes = plt.subplots((len(panels) + cols - 1) // cols, cols, figsize=(16, 3.1 * ((len(panels) + 2) // 3)))
    for ax, (name, label) in zip(axes.flat, panels):
        base = _median(systems.get(BASE, {}), name)
        shown = [(k, t) for k in keys if (t := _median(systems[k], name))]
        ax.set_title(label, fontsize=10)
        if not base or not shown:
            ax.text(0.5, 0.5, "no graphc time" if not base else "no data", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_axis_off()
            continue
        ratios = [t / base for _, t in shown]
        # bars grow from graphc's line at 1: right (green) where graphc is faster, left (orange) where slower
        ax.barh([systems[k]["label"] for k, _ in shown], [r - 1 for r in ratios], left=1.0,
                color=["#2ca02c" if r > 1 else "#ff7f0e" for r in ratios], height=0.6)
        ax.set_xscale("log")
        span = 4 * max([2.0] + [max(r, 1 / r) for r in ratios])
        ax.set_xlim(1 / span, 3 * span)  # room on the right for the labels
        ax.axvline(1.0, color="#d62728", linewidth=2)
        fine = span < 100
        ax.xaxis.set_major_locator(FixedLocator([0.1, 0.25, 0.5, 1, 2, 4, 10, 100] if fine
                                                else [10.0 ** e for e in range(-6, 7)]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.invert_yaxis()
        for i, ((k, t), r) in enumerate(zip(shown, ratios)):
            ratio = "" if k == BASE else f"  ({r:.0f}x)" if r >= 100 else f"  ({r:.2g}x)"
            ax.text(max(r, 1.0) * 1.1, i, seconds(t) + ratio, va="center", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_axis_off()
    fig.suptitle("Each system's time over graphc's (red line: graphc; green bar: graphc is faster by that factor, "
                 "orange: slower; log scale)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
