"""Derived figures (images/s, speedups, utilisation) and the Markdown table and PNG plot of a
benchmark run. Speedup is always PyTorch time / jresgen time: above 1, jresgen is faster."""
from pathlib import Path


def _ok(entry) -> bool:
    return bool(entry) and "median_s" in entry and "error" not in entry


def device_peak(out) -> float | None:
    """The device's measured dense-math ceiling: the faster of the two libraries' matmuls."""
    peaks = [p["flops_per_s"] for p in out["peak"].values() if "flops_per_s" in p]
    return max(peaks) if peaks else None


def finish(out: dict) -> None:
    peak = device_peak(out)
    out["device_matmul_peak_flops_per_s"] = peak
    for fam in out["families"].values():
        jax_runs = [r for r in fam["jax"].values() if "flops_analytic" in r]
        flops = jax_runs[0]["flops_analytic"] if jax_runs else None
        fam["flops_per_step"] = {
            "analytic": flops,
            "xla_cost_analysis": next((r.get("flops_xla") for r in jax_runs), None),
            "torch_flop_counter": fam["torch"].get("eager", {}).get("flops_torch")}
        fam["params"] = {"jresgen": jax_runs[0]["params"] if jax_runs else None,
                         "torch": next((r["params"] for r in fam["torch"].values()
                                        if "params" in r), None)}
        fam["forward_rel_error"] = next((r.get("forward_rel_error_vs_jresgen")
                                         for r in fam["torch"].values()
                                         if r.get("forward_rel_error_vs_jresgen") is not None),
                                        None)
        for entry in [*fam["jax"].values(), *fam["torch"].values()]:
            if not _ok(entry):
                continue
            entry["images_per_s"] = fam["batch"] / entry["median_s"]
            if flops:
                entry["achieved_flops_per_s"] = flops / entry["median_s"]
                if peak:
                    entry["fraction_of_peak"] = entry["achieved_flops_per_s"] / peak
        fam["speedup"] = {}
        for key, entry in fam["jax"].items():
            for mode, t in fam["torch"].items():
                if _ok(entry) and _ok(t):
                    fam["speedup"][f"{key} vs torch {mode}"] = t["median_s"] / entry["median_s"]


def spare_cpus(out) -> int:
    """CPUs the benchmark leaves to other processes (usable CPUs minus its threads; on a GPU
    the host needs one CPU to launch the step's work)."""
    used = 1 if out["settings"]["device"] == "gpu" else out["settings"]["threads"]
    return max(0, out["machine"]["usable_cpus"] - used)


def contention_threshold(out) -> float:
    """Other processes' load above which they must have shared the benchmark's CPUs."""
    return spare_cpus(out) + 0.3


def _flags_in_force(out) -> dict:
    """XLA_FLAGS as each setting's JAX workers saw them after importing jresgen."""
    flags = {}
    for fam in out["families"].values():
        for key, r in fam["jax"].items():
            if "xla_flags" in r:
                flags.setdefault(key.split("/")[0], r["xla_flags"])
    return flags or out["settings"]["xla_settings"]


def _ms(entry) -> str:
    if not entry:
        return "—"
    if not _ok(entry):
        return "failed"
    return (f"{entry['median_s'] * 1e3:.1f} ({entry['p10_s'] * 1e3:.1f}–"
            f"{entry['p90_s'] * 1e3:.1f})")


def _g(x) -> str:
    return "—" if x is None else f"{x / 1e9:.2f}"


def _jax(fam, setting):
    """The setting's pmap run if there is one, else its first run."""
    runs = {k: v for k, v in fam["jax"].items() if k.startswith(setting + "/")}
    return runs.get(f"{setting}/pmap") or next(iter(runs.values()), None)


def markdown(out: dict) -> str:
    m, s = out["machine"], out["settings"]
    v = m["versions"]
    lines = [
        f"# jresgen vs PyTorch: {s['device']}, {s['dtype']}", "",
        f"- Machine: {m['cpu']}, {m['usable_cpus']} usable CPUs"
        + (f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU") + f", {m['memory_gb']} GB",
        f"- Versions: jax {v['jax']}, jaxlib {v['jaxlib']}, flax {v['flax']}, "
        f"optax {v['optax']}, torch {v['torch']}, python {v['python']}",
        f"- Threads per side: {s['threads']}; timed steps: {s['steps']} after {s['warmup']} "
        f"warm-up; times are median (p10–p90) ms per train step",
        *[f"- XLA setting `{k}`: XLA_FLAGS=`{val.strip() or '(empty)'}`"
          for k, val in _flags_in_force(out).items()],
        f"- Matmul peak ({out['peak'].get('jax', {}).get('n', '?')}², {s['dtype']}): "
        f"JAX {_g(out['peak'].get('jax', {}).get('flops_per_s'))} GFLOP/s, "
        f"PyTorch {_g(out['peak'].get('torch', {}).get('flops_per_s'))} GFLOP/s",
        f"- Command: `{out['command']}` ({out['total_wall_s'] / 60:.1f} min)"
        + ("" if out.get("complete", True) else "; **cut short**: only what it measured "
           "before it was stopped is below"), "",
        "## Train step (forward, backward, optimizer update)", "",
        "| family | params | batch | GFLOP/step analytic / XLA / torch | jresgen XLA default "
        "| jresgen XLA tuned | torch eager | torch.compile | speedup vs eager (default, tuned) "
        "| speedup vs compile (tuned) |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for name, fam in out["families"].items():
        f = fam["flops_per_step"]
        d, t = _jax(fam, "default"), _jax(fam, "tuned")
        te, tc = fam["torch"].get("eager"), fam["torch"].get("compile")

        def sp(j, tt):
            return f"{tt['median_s'] / j['median_s']:.2f}" if _ok(j) and _ok(tt) else "—"
        params = fam["params"]["jresgen"] or fam["params"]["torch"]
        lines.append(
            f"| {name} | {'—' if params is None else f'{params:,}'} | {fam['batch']} | {_g(f['analytic'])} / "
            f"{_g(f['xla_cost_analysis'])} / {_g(f['torch_flop_counter'])} | {_ms(d)} | {_ms(t)} "
            f"| {_ms(te)} | {_ms(tc)} | {sp(d, te)}, {sp(t, te)} | {sp(t, tc)} |")
    lines += ["", "Speedup = PyTorch time / jresgen time (above 1: jresgen faster).", "",
              "## Throughput, utilisation, compile time, memory", "",
              "| family | side | images/s | GFLOP/s (analytic) | % of matmul peak | "
              "compile s | process peak RSS MB | loss first → last | other load / steal |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, fam in out["families"].items():
        rows = [(f"jresgen {k}", r) for k, r in fam["jax"].items()]
        rows += [(f"torch {k}", r) for k, r in fam["torch"].items()]
        for label, r in rows:
            if not _ok(r):
                lines.append(f"| {name} | {label} | failed: {r.get('error', '?')[:120]} "
                             f"| | | | | | |")
                continue
            frac = r.get("fraction_of_peak")
            mem = r.get("memory", {})
            lines.append(
                f"| {name} | {label} | {r['images_per_s']:.1f} | "
                f"{_g(r.get('achieved_flops_per_s'))} | "
                f"{'—' if frac is None else f'{100 * frac:.0f}%'} | {r['compile_s']:.1f} | "
                f"{mem.get('process_peak_rss_mb', 0):.0f} | "
                f"{r['loss_first']:.4f} → {r['loss_last']:.4f} | "
                f"{r.get('other_cpu_load', float('nan')):.2f} / "
                f"{r.get('steal_cpu', float('nan')):.2f} |")
    lines += ["", "Compile s = first call (trace + compile + one step) minus the median step. "
              "Peak RSS is the whole worker process (libraries, compiler, data included): "
              "compare sides, not absolute values. Other load = CPUs' worth of work other "
              "processes did while the worker ran (0 = quiet machine); steal = CPUs' worth the "
              "hypervisor took.", ""]
    loaded = max((r.get("other_cpu_load", 0.0) for fam in out["families"].values()
                  for r in [*fam["jax"].values(), *fam["torch"].values()]), default=0.0)
    if loaded > contention_threshold(out):
        lines.insert(lines.index("## Train step (forward, backward, optimizer update)"),
                     f"**Warning: other processes used up to {loaded:.2f} CPUs during some "
                     f"measurements, more than the {spare_cpus(out)} CPUs this run left "
                     f"free; those rows are unreliable.**\n")
    checks = [f"{n}: params jresgen {f['params']['jresgen']:,} / torch {f['params']['torch']:,}"
              + (f", forward max rel. error {f['forward_rel_error']:.1e}"
                 if f["forward_rel_error"] is not None else "")
              for n, f in out["families"].items()
              if None not in (f["params"]["torch"], f["params"]["jresgen"])]
    if checks:
        lines += ["## Same model on both sides", "", *[f"- {c}" for c in checks], ""]
    lines += _breakdown_md(out)
    return "\n".join(lines) + "\n"


def _breakdown_md(out) -> list[str]:
    cuts = ("forward", "forward_backward", "step", "conv_forward", "conv_input_grad",
            "conv_weight_grad")
    fams = {n: f["breakdown"] for n, f in out["families"].items() if f.get("breakdown")}
    if not fams:
        return []
    lines = ["## Where the time goes (median ms, each row measured in one process)", "",
             "| family | side | forward | forward+backward | whole step | "
             "one 3x3 conv: forward | input grad | weight grad | other load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, bd in fams.items():
        for side, r in bd.items():
            if "error" in r:
                lines.append(f"| {name} | {side} | failed: {r['error'][:100]} | | | | | | |")
                continue
            cells = [f"{r[c]['median_s'] * 1e3:.1f}" if c in r else "—" for c in cuts]
            load = max(r[c].get("other_cpu_load", 0.0) for c in cuts if c in r)
            lines.append(f"| {name} | {side} | {' | '.join(cells)} | {load:.2f} |")
        shape = next((r.get("conv_shape") for r in bd.values() if "conv_shape" in r), None)
        if shape:
            b, h, w, cin, cout, k = shape
            lines.append(f"| | conv probe: {k}x{k}, {cin}->{cout} channels, batch {b}, "
                         f"{h}x{w} | | | | | | | |")
    return lines + ["", "forward: the training-mode forward (PyTorch records the autograd "
                    "graph); forward+backward: loss and gradients, no optimizer; whole step: "
                    "plus the optimizer update. jax rows: `jax.jit` of jresgen's train_step in the same process "
                    "(not the pmap strategy).", ""]


def plot(out: dict, path: Path):
    """Bar chart of the speedups per family; None when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = list(out["families"])
    series = {}
    for setting in ("default", "tuned"):
        for mode in ("eager", "compile"):
            vals = []
            for n in names:
                fam = out["families"][n]
                j, t = _jax(fam, setting), fam["torch"].get(mode)
                vals.append(t["median_s"] / j["median_s"] if _ok(j) and _ok(t) else 0.0)
            if any(vals):
                series[f"jresgen XLA {setting} vs torch {mode}"] = vals
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * len(names)), 4))
    width = 0.8 / max(len(series), 1)
    for i, (label, vals) in enumerate(series.items()):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(names))]
        ax.bar(xs, vals, width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("speedup = PyTorch time / jresgen time")
    s = out["settings"]
    ax.set_title(f"Train step, {s['device']} {s['dtype']}, {s['threads']} thread(s) per side "
                 f"({out['machine']['cpu']})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
