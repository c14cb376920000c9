"""``python -m stackgen run``: every step the registry marks as part of a run, in order, in one
process, timed; per-step times and peak memory go to results/run.json."""

from __future__ import annotations

import resource
import sys
import time

from stackgen import registry, stack_predictions
from stackgen.config import Config
from stackgen.step_io import Printer, step_progress
from stackgen.trust import skops_files
from stackgen.trust.atomic import write_json

# Roughly what one training step costs here (2 cores): enough to tell minutes from days.
SECONDS_PER_STEP = 0.0005


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_all(cfg: Config, upto: int = max(registry.BY_NUMBER)) -> dict:
    """Steps up to ``upto``, in order, in this process; with ``--predictions``, the stacking of
    the file's predictions instead (``stack_predictions.py``)."""
    if cfg.predictions_file is not None:
        return {"predictions": stack_predictions.run(cfg)}
    out, results, timings = Printer(cfg), {}, []
    start = time.perf_counter()
    planned = registry.in_run(upto)
    if any(p.endswith(".skops") for s in planned for p in (*s.writes, *s.may_write)):
        skops_files.sio()  # before TensorFlow, where its import is seconds cheaper
    # Import Keras (and its backend) up front so that step 2's time is its own work.
    import keras  # noqa: F401

    import_seconds = time.perf_counter() - start
    for step in planned:
        if step.trains and not any(s.trains for s in registry.in_run(step.number - 1)):
            warn_if_long(cfg)  # once, after step 1 has checked the settings against the data
        out.info(f"\n== step {step.number}: {step.title}")
        began = time.perf_counter()
        with step_progress(cfg, step.number):
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
        f"{len(timings)} steps finished in {total:.1f} s (imports "
        f"{import_seconds:.1f} s; steps {per_step} s), peak memory {peak_rss_mib():.0f} MiB"
    )
    results["timings"] = timings
    return results


def warn_if_long(cfg: Config) -> None:
    """A run that would take hours gets a warning with an estimate before it starts."""
    steps_per_epoch = -(-cfg.n_train // cfg.batch_size)
    member_runs = 2 + cfg.folds  # the single MLP, the members, the fold models (side by side)
    head_steps = 3 * cfg.meta_epochs * -(-(cfg.n_samples - cfg.n_train) // cfg.batch_size)
    estimate = SECONDS_PER_STEP * (member_runs * cfg.epochs * steps_per_epoch + head_steps)
    if estimate > 3600:
        print(
            f"warning: --epochs {cfg.epochs} and --meta-epochs {cfg.meta_epochs} mean about "
            f"{estimate / 3600:,.0f} hours of training on a machine like the one this was "
            "measured on (2 cores); press Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
