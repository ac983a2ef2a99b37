"""Training here: what the recording callback costs against plain `model.fit`, the default run's
figures (held-out accuracy, wall time, the stem kernels' structure), and a snapshot's replay.

Run: `.venv/bin/python benchmarks/bench_training.py [--runs N] [--epochs N] [--default-run]`.
Recording: one model per mode, the default run's settings and data (the built-in set at 32 px),
`fit` traced once per mode before timing; then timed fits of --epochs epochs each, the modes
alternating run by run so both see the same load; validation on the held-out set in both. The
recorder snapshots 32 times over each timed fit (denser than in a real run, so its cost is not
understated). Besides wall time, the process's CPU time and the recorder's own time are
reported: on a loaded machine they say more than the wall-time ratio. With --default-run, the
default `vggviz train` run end to end, once per run. Reports, asserts nothing: the median and
min–max over the runs.
"""

import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from timing import parser, print_header, spread  # noqa: E402


def recording_overhead(runs: int, epochs: int) -> None:
    """Images per second of plain fit and of fit with the recorder, alternating."""
    from vggviz.network.recording import RunRecorder
    from vggviz.network.training import caffe, compiled, pipeline, training_data
    from vggviz.plan.architecture import stem_layers
    from vggviz.plan.training import TrainSettings

    settings = TrainSettings(epochs=epochs).check()
    train_set, test_set = training_data(settings)
    data = pipeline(train_set.images, train_set.labels, settings.batch, shuffle_seed=0)
    held_out = pipeline(test_set.images, test_set.labels, 256)
    models = {mode: compiled(settings, 10) for mode in ("plain", "recorded")}
    specs = stem_layers(settings.variant, settings.stem)
    probe = test_set.images[0]

    own = []  # the recorder's own seconds as a share of its fit's
    cpu_seconds = {mode: [] for mode in models}  # the process's CPU time (all its threads)

    def fit(mode: str, epochs: int) -> float:
        callbacks = []
        if mode == "recorded":
            callbacks = [RunRecorder(probe, caffe(probe[None]).numpy(),
                                     kernel_layer=specs[0].name, maps_layer=specs[-1].name,
                                     total_steps=epochs * settings.steps_per_epoch)]
        t, cpu = time.perf_counter(), time.process_time()
        models[mode].fit(data, validation_data=held_out, epochs=epochs, verbose=0,
                         shuffle=False, callbacks=callbacks)
        seconds = time.perf_counter() - t
        cpu_seconds[mode].append(time.process_time() - cpu)
        if callbacks:
            own.append(100 * callbacks[0].recording_seconds / seconds)
        return seconds

    for mode in models:
        fit(mode, 1)  # traces the train and test functions (and, recorded, the stem model)
    rates = {mode: [] for mode in models}
    for i in range(runs):
        for mode in (("plain", "recorded") if i % 2 == 0 else ("recorded", "plain")):
            rates[mode].append(epochs * settings.train_images / fit(mode, epochs))
    print(f"training, {epochs} epochs of {settings.train_images} images at {settings.size} px, "
          f"{settings.variant} widths {settings.widths}, batch {settings.batch}, "
          f"validation on {settings.test_images} images each epoch:")
    for mode, values in rates.items():
        print(f"  {mode:9s} {spread(values, 'images/s', 0)}")
    ratios = [r / p for p, r in zip(rates["plain"], rates["recorded"], strict=True)]
    print(f"  recorded / plain, paired run by run: {spread(ratios, '', 3)}; overhead "
          f"{(1 - statistics.median(ratios)):.1%} (median)")
    cpu = [r / p for p, r in zip(cpu_seconds["plain"][1:], cpu_seconds["recorded"][1:],
                                 strict=True)]
    print(f"  the process's CPU seconds (all threads; less swayed by other processes' load), "
          f"recorded / plain, paired: {spread(cpu, '', 3)}")
    print(f"  time inside the recorder (snapshots, per-step bookkeeping) as a share of its fit: "
          f"{spread(own[1:], '%', 2)}")


def default_run(runs: int) -> None:
    """The default run end to end (data, model, fit with the recorder, the run written), its
    held-out accuracy and the stem kernels' structure; then a snapshot's replay, drawn."""
    import numpy as np

    from vggviz.by_hand.kernel_structure import kernel_structure
    from vggviz.network.training import train
    from vggviz.render import render_grid, render_kernels
    from vggviz.sources.runs import read_run

    with tempfile.TemporaryDirectory() as cache:
        os.environ["VGGVIZ_CACHE"] = cache
        seconds, accuracy, smooth, edge = [], [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            trained = train()
            seconds.append(time.perf_counter() - t)
            accuracy.append(100 * trained.run.held_out_accuracy())
            start, end = (kernel_structure(trained.run.snapshot(i).kernels) for i in (0, -1))
            smooth.append((np.mean(start.smooth), np.mean(end.smooth)))
            edge.append((np.mean(start.edge), np.mean(end.edge)))
        print("the default run (vggviz train), end to end:")
        print(f"  wall time {spread(seconds, 's', 1)}")
        print(f"  held-out accuracy {spread(accuracy, '%', 1)}")
        print(f"  stem kernels, plane's share of energy (random: {start.smooth_chance:.3f}): "
              f"start {spread([s for s, _ in smooth], '', 3)}, end "
              f"{spread([e for _, e in smooth], '', 3)}")
        print(f"  stem kernels, ramps' (edge) share (random: {start.edge_chance:.3f}): start "
              f"{spread([s for s, _ in edge], '', 3)}, end {spread([e for _, e in edge], '', 3)}")
        run = read_run(trained.run.path)
        draws = []
        for i in range(len(run)):
            t = time.perf_counter()
            snapshot = run.snapshot(i)
            render_kernels(snapshot.kernels)
            render_grid(snapshot.probe_maps.astype(np.float32))
            draws.append((time.perf_counter() - t) * 1e3)
        print(f"  replaying a snapshot (kernels and the probe's {snapshot.probe_maps.shape[-1]} "
              f"maps drawn as PNGs, no TensorFlow needed): {spread(draws)}")


if __name__ == "__main__":
    p = parser(__doc__, runs=4)
    p.add_argument("--epochs", type=int, default=2, metavar="N",
                   help="epochs per timed fit (2)")
    p.add_argument("--default-run", action="store_true",
                   help="also the default run end to end, --runs times (about a minute each)")
    args = p.parse_args()
    print_header("training: the recording's cost, the default run")
    recording_overhead(args.runs, args.epochs)
    if args.default_run:
        default_run(args.runs)
