"""Benchmark jresgen's train step against the PyTorch reference, family by family.

    python -m benchmarks.run [--family NAME ...] [--batch N] [--dtype float32|bfloat16]
        [--steps N] [--device cpu|gpu] [--parallelism pmap|jit ...]
        [--xla-setting default|tuned ...] [--torch-mode eager|compile ...] [--breakdown]
        [--threads N] [--out benchmarks/results/NAME.json]

Every measurement runs in its own worker process (benchmarks/worker.py); this process only
plans, sets each worker's environment, and merges the results into JSON, Markdown and PNG.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import machine, report
from benchmarks.families import FAMILIES
from benchmarks.load import wait_until_quiet
from jresgen._malloc_defaults import tunables_to_set

ROOT = Path(__file__).resolve().parents[1]
YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
# The matmul that measures the device's dense-math ceiling: big enough to saturate it.
MATMUL_N = {"cpu": 2048, "gpu": 8192}


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--family", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    p.add_argument("--batch", type=int, help="global batch for every family "
                   "(default: each family's own for the device, see benchmarks/families.py)")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    p.add_argument("--steps", type=int, default=20, help="timed steps (>= 20 for results)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--parallelism", nargs="+", choices=("pmap", "jit"), default=["pmap", "jit"],
                   help="strategies timed under the tuned XLA setting; the default setting "
                        "uses the first one only")
    p.add_argument("--xla-setting", nargs="+", choices=("default", "tuned"),
                   default=["default", "tuned"],
                   help="default: XLA as shipped (JRESGEN_NO_XLA_DEFAULTS=1); tuned: "
                        "jresgen's CPU flags (benchmarks/README.md)")
    p.add_argument("--torch-mode", nargs="+", choices=("eager", "compile"),
                   default=["eager", "compile"])
    p.add_argument("--breakdown", action="store_true",
                   help="also time forward, forward+backward and one conv's three passes")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="CPU threads for both sides (default: every CPU this process may use)")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat every measurement in this many fresh processes (the order "
                        "reversed every other round) and pool the timed steps")
    p.add_argument("--timeout", type=int, default=900, help="seconds per worker")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="before each worker, wait up to this long for other processes to "
                        "leave the CPUs alone")
    p.add_argument("--retries", type=int, default=0,
                   help="re-run a measurement this many times while other processes loaded "
                        "the CPUs during its timed steps")
    p.add_argument("--out", type=Path,
                   help="results JSON (Markdown and PNG beside it); default "
                        "runs/benchmarks/DEVICE_DTYPE.json, so a casual run never overwrites "
                        "the committed benchmarks/results/")
    p.add_argument("--render", type=Path, metavar="RESULTS.json",
                   help="only rewrite the Markdown and PNG next to an existing results file")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = ROOT / "runs" / "benchmarks" / f"{args.device}_{args.dtype}.json"
    return args


def worker_env(xla_setting: str | None, threads: int, device: str) -> dict:
    """The environment of one worker: XLA flags for the setting, equal thread counts."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if device == "cpu":
        # PyTorch's OpenMP pool and the C++ kernels torch.compile generates read these;
        # XLA sizes its pool from the CPU affinity the worker sets.
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    flags = [f for f in env.get("XLA_FLAGS", "").split() if not f.startswith(YNN_FLAG)]
    if xla_setting == "default":
        env["JRESGEN_NO_XLA_DEFAULTS"] = "1"
        env["XLA_FLAGS"] = " ".join(flags)
    elif xla_setting == "tuned":
        env.pop("JRESGEN_NO_XLA_DEFAULTS", None)
        env["XLA_FLAGS"] = " ".join(flags)  # jresgen adds its own flag on import
        # and the `jresgen` command restarts with glibc's huge-page tunable: a worker is not
        # that command, so it gets the tunable here (jresgen/_malloc_defaults.py)
        tunables = tunables_to_set(env)
        if tunables:
            env["GLIBC_TUNABLES"] = tunables
    return env


def run_worker(spec: dict, env: dict, args, scratch: Path) -> dict:
    """Runs one measurement; on a busy machine waits first and retries a loaded result,
    keeping the least loaded attempt."""
    best = None
    for attempt in range(args.retries + 1):
        waited = wait_until_quiet(args.wait_quiet) if args.wait_quiet else 0.0
        result = _run_worker_once(spec, env, args.timeout, scratch)
        result["waited_for_quiet_s"], result["attempts"] = waited, attempt + 1
        if best is None or _max_load(result) < _max_load(best):
            best = result
        # Work on CPUs the benchmark leaves free (fewer threads than CPUs) does not contend.
        if _max_load(result) <= LOADED + max(0, len(os.sched_getaffinity(0)) - args.threads):
            break
        print(f"    other processes used {_max_load(result):.2f} CPUs: "
              f"{'retrying' if attempt < args.retries else 'least loaded attempt kept, flagged'}",
              flush=True)
    best["attempts"] = attempt + 1
    return best


LOADED = 0.3  # CPUs' worth of other work above which a measurement is flagged


def _max_load(result: dict) -> float:
    loads = [result.get("other_cpu_load", 0.0)]
    loads += [v.get("other_cpu_load", 0.0) for v in result.values()
              if isinstance(v, dict) and "times_s" in v]
    return max(loads)


def _run_worker_once(spec: dict, env: dict, timeout: int, scratch: Path) -> dict:
    label = " ".join(f"{k}={v}" for k, v in spec.items()
                     if k in ("kind", "family", "parallelism", "xla_setting", "mode"))
    print(f"[{time.strftime('%H:%M:%S')}] {label}", flush=True)
    spec_path = scratch / f"spec_{time.monotonic_ns()}.json"
    out_path = spec_path.with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec))
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.worker", str(spec_path),
                               str(out_path)], env=env, cwd=ROOT, timeout=timeout,
                              capture_output=True, text=True)
        if out_path.exists():
            result = json.loads(out_path.read_text())
        else:
            result = {"error": f"worker exited {proc.returncode}: {proc.stderr[-2000:]}"}
    except subprocess.TimeoutExpired:
        result = {"error": f"worker timed out after {timeout} s"}
    result["worker_wall_s"] = time.perf_counter() - start
    result.setdefault("spec", spec)
    if "error" in result:
        print(f"    failed: {result['error'].splitlines()[0][:300]}", flush=True)
    elif "median_s" in result:
        print(f"    median {result['median_s'] * 1e3:.1f} ms/step; meanwhile other processes "
              f"used {result.get('other_cpu_load', 0):.2f} CPUs, the hypervisor stole "
              f"{result.get('steal_cpu', 0):.2f}", flush=True)
    return result


def family_batch(args, name: str) -> int:
    """The global batch a family is measured at: --batch, else its own for the device."""
    return args.batch or FAMILIES[name].default_batch(args.device)


def plan(args, exchange_dir: str) -> list[tuple[tuple, dict, str | None]]:
    """Every worker of one round as (where its result goes, spec, XLA setting)."""
    base = dict(device=args.device, dtype=args.dtype, threads=args.threads)
    jobs = [(("peak", lib), {"kind": f"peak_{lib}", "matmul_n": MATMUL_N[args.device], **base},
             "tuned" if lib == "jax" else None) for lib in ("jax", "torch")]
    # The first JAX worker exports the initial weights the PyTorch workers load and check.
    settings = sorted(args.xla_setting, key=lambda s: s != "tuned")
    for name in args.family:
        batch = family_batch(args, name)
        common = dict(family=name, batch=batch, steps=args.steps, warmup=args.warmup, **base)
        first = True
        for setting in settings:
            # pmap and jit compile the same step; comparing them once (tuned) shows whether
            # they differ, and the other setting is timed under the first strategy only.
            for par in args.parallelism if setting == settings[0] else args.parallelism[:1]:
                spec = {"kind": "train_jax", "parallelism": par, "xla_setting": setting, **common}
                if first:
                    spec["exchange_dir"], first = exchange_dir, False
                jobs.append((("families", name, "jax", f"{setting}/{par}"), spec, setting))
        for mode in args.torch_mode:
            spec = {"kind": "train_torch", "mode": mode, "exchange_dir": exchange_dir, **common}
            jobs.append((("families", name, "torch", mode), spec, None))
        if args.breakdown and FAMILIES[name].adapter.breakdown:
            for setting in settings:
                jobs.append((("families", name, "breakdown", f"jax_{setting}"),
                             {"kind": "breakdown_jax", "xla_setting": setting, **common}, setting))
            jobs.append((("families", name, "breakdown", "torch_eager"),
                         {"kind": "breakdown_torch", **common}, None))
    return jobs


def merge_rounds(results: list[dict]) -> dict:
    """One result from the same measurement repeated in several processes: step times pooled
    (median and spread over all of them), per-round medians kept to show the spread between
    processes, peaks and loads maxed."""
    if len(results) == 1:
        return results[0]
    good = [r for r in results if "error" not in r]
    if not good:
        return results[0]
    merged = dict(good[0])
    for key, value in good[0].items():
        if isinstance(value, dict) and "times_s" in value:  # a breakdown cut
            merged[key] = merge_rounds([r[key] for r in good])
    if "times_s" in merged:
        from benchmarks.timing import summarize
        pooled = [t for r in good for t in r["times_s"]]
        merged.update(summarize(pooled))
        merged["round_medians_s"] = [r["median_s"] for r in good]
        for key in ("first_call_s", "compile_s"):
            if key in merged:
                merged[key] = sorted(r[key] for r in good)[len(good) // 2]
    if "memory" in merged:
        merged["memory"] = {k: max(r["memory"][k] for r in good) for k in merged["memory"]}
    for key in ("other_cpu_load", "steal_cpu"):
        if key in merged:
            merged[key] = max(r.get(key, 0.0) for r in results)
    merged["rounds"] = len(results)
    merged["failed_rounds"] = len(results) - len(good)
    return merged


def assemble(out: dict, collected: dict, args, started: float) -> None:
    """Merges the measurements so far into `out` and writes it to args.out (JSON only)."""
    out["families"], out["peak"] = {}, {}
    for where, results in collected.items():
        node = out
        for key in where[:-1]:
            node = node.setdefault(key, {})
        node[where[-1]] = merge_rounds(results)
    for name, fam in out["families"].items():
        fam["batch"] = family_batch(args, name)
        fam.setdefault("jax", {}), fam.setdefault("torch", {}), fam.setdefault("breakdown", {})
    out["total_wall_s"] = time.time() - started
    report.finish(out)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


def write_reports(out: dict, path: Path) -> None:
    md = report.markdown(out)
    path.with_suffix(".md").write_text(md)
    png = report.plot(out, path.with_suffix(".png"))
    print(md)
    print(f"wrote {path}, {path.with_suffix('.md')}" + (f", {png}" if png else ""))


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.render:
        write_reports(json.loads(args.render.read_text()), args.render)
        return
    started = time.time()
    out = {"machine": machine.info(), "command": " ".join(["python -m benchmarks.run",
                                                             *(argv or sys.argv[1:])]),
           "settings": {"dtype": args.dtype, "device": args.device, "steps": args.steps,
                        "warmup": args.warmup, "threads": args.threads, "rounds": args.rounds,
                        "xla_settings": {s: worker_env(s, args.threads, args.device)["XLA_FLAGS"]
                                         for s in args.xla_setting}},
           "peak": {}, "families": {}, "complete": False}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jresgen_bench_") as tmp:
        scratch = Path(tmp)
        jobs = plan(args, str(scratch / "exchange"))
        collected = {}
        for r in range(args.rounds):
            # Later rounds run in reverse order, so slow drift of the machine (thermal, noisy
            # neighbours) does not always favour the same side.
            order = jobs if r % 2 == 0 else jobs[::-1]
            for where, spec, setting in order:
                env = worker_env(setting, args.threads, args.device)
                collected.setdefault(where, []).append(run_worker(spec, env, args, scratch))
                # Written after every measurement: a run cut short (a lease's time limit, a
                # killed job) keeps what it measured; --render makes the tables from it.
                assemble(out, collected, args, started)
    out["complete"] = True
    assemble(out, collected, args, started)
    write_reports(out, args.out)


if __name__ == "__main__":
    main()
