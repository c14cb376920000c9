"""Step 5: the members frozen inside one Keras network whose new head is trained.

Script: scripts/05_stack_integrated.py. One network per protocol, saved as
models/stacked_network*.keras; figures/stacked_model.png draws the last one (with Graphviz).
"""

from __future__ import annotations

from stackgen import plots
from stackgen.config import Config
from stackgen.methods import integrated, training
from stackgen.methods.metalearners import stacked_features
from stackgen.stack_steps import Stacked, stack_each_protocol
from stackgen.step_io import Printer, print_protocol_table, stacking_inputs
from stackgen.trust.atomic import write_json
from stackgen.workdir import member_files

NUMBER = 5


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split, models, _, protocol_rows = member_files.for_stacking(cfg, out)
    task = split.task
    networks = []

    def fit(rows) -> Stacked:
        features = stacked_features(rows.fit_P, rows.fit_raw, cfg.passthrough)
        head = integrated.fit_head(
            features, rows.fit_y, split.n_classes, task, **cfg.head(), sample_weight=rows.fit_w
        )
        network = integrated.assemble(models, head, task, cfg.passthrough, split.test_X)
        networks.append(network)
        path = paths.stacked_network_for(rows.protocol)
        return Stacked(
            training.predict_proba(network, rows.score_raw), member_files.save_model(network, path)
        )

    table, files = stack_each_protocol(out, split, protocol_rows, fit, "stacked_network*.keras")
    written, network = list(files.values()), networks[-1]
    print_protocol_table(out, table, "network", task.metric)
    figure = plots.plot_network(network, paths.figure("stacked_model.png"))
    if figure is None and not plots.graphviz_available():
        out.result(plots.GRAPHVIZ_HINT.format(name=paths.rel(paths.figure("stacked_model.png"))))
    elif figure is None:
        out.result(
            f"note: Graphviz could not lay out this network; "
            f"{paths.rel(paths.figure('stacked_model.png'))} is not drawn"
        )
    result = {
        **split.labels(),
        **(
            {"stacked_score": table[0]["stacked_score"]}
            if protocol_rows[0].protocol == "tutorial"
            else {}
        ),
        "protocols": {row["protocol"]: row for row in table},
        "passthrough": cfg.passthrough,
        "members": len(models),
        "meta_epochs": cfg.meta_epochs,
        "seed": cfg.seed,
        "head_seed": cfg.head_seed,
        "trainable_weights": integrated.trainable_weight_names(network),
    }
    outputs = [
        *([figure] if figure else []),
        *written,
        write_json(paths.result("stack_integrated.json"), result),
    ]
    out.made(NUMBER, outputs, stacking_inputs(paths, len(models), cfg))
    return result
