"""``python -m stackgen run``: every step the registry marks as part of a run, in order, in one
process, timed; per-step times and peak memory go to results/run.json."""

from __future__ import annotations

import resource
import time

from stackgen import registry
from stackgen.config import Config
from stackgen.step_io import Printer
from stackgen.trust.atomic import write_json


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_all(cfg: Config, upto: int = max(registry.BY_NUMBER)) -> dict:
    """Steps up to ``upto``, in order, in this process."""
    out, results, timings = Printer(cfg), {}, []
    start = time.perf_counter()
    # Import Keras (and its backend) up front so that step 2's time is its own work.
    import keras  # noqa: F401

    import_seconds = time.perf_counter() - start
    for step in registry.in_run(upto):
        out.info(f"\n== step {step.number}: {step.title}")
        began = time.perf_counter()
        results[step.name] = step.module().run(cfg)
        timings.append(
            {
                "step": step.name,
                "number": step.number,
                "seconds": time.perf_counter() - began,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    total = time.perf_counter() - start
    out.info("")
    out.wrote(
        write_json(
            out.paths.result("run.json"),
            {
                "config": cfg.as_dict(),
                "import_seconds": import_seconds,
                "steps": timings,
                "total_seconds": total,
            },
        )
    )
    per_step = " + ".join(f"{t['seconds']:.1f}" for t in timings)
    out.info(
        f"{len(timings)} steps finished in {total:.1f} s (Keras import "
        f"{import_seconds:.1f} s; steps {per_step} s), peak memory {peak_rss_mib():.0f} MiB"
    )
    results["timings"] = timings
    return results
