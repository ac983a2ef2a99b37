"""The few most recent feature extractors of a dashboard, so switching back costs no rebuild."""

from __future__ import annotations

import threading
from collections import OrderedDict


class ExtractorPool:
    """The few most recent FeatureExtractors, so switching back costs no rebuild.

    Trained weights that cannot be had here and now (not in Keras' cache, damaged file) fall
    back to random ones with the reason in words (`vggviz.sources.weights.with_fallback`), so a view
    always opens and never waits on a download; nothing is remembered, so asking again tries
    again. Safe to share between threads (a background download switches views).
    """

    def __init__(self, keep: int = 2):
        self.keep, self._pool = keep, OrderedDict()
        self._lock = threading.RLock()

    def get(self, variant: str, weights: str, stem: str, seed: int) -> tuple[object, str | None]:
        """An extractor for these options with its stem built, and why its weights are random
        when trained ones were asked for (None otherwise). A training run (`weights` its folder)
        brings its own variant, stem and input size."""
        from vggviz.network.features import FeatureExtractor
        from vggviz.sources.imagenet import WeightsUnavailable, imagenet_cached, imagenet_supported
        from vggviz.sources.runs import RunDamaged, find_run
        from vggviz.sources.weight_files import WeightsMismatch
        from vggviz.sources.weights import with_fallback

        if weights == "imagenet" and not imagenet_supported(variant, stem):
            weights = "random"
        try:
            run = find_run(weights) if weights not in ("imagenet", "random") else None
        except RunDamaged:
            run = None  # load() says so and falls back to random
        if run is not None:  # a run is its own variant and stem
            variant, stem = run.settings["variant"], run.settings["stem"]
        with self._lock:
            if (variant, weights, stem, seed) in self._pool:
                key, reason = (variant, weights, stem, seed), None
            else:
                def load(choice: str) -> object:
                    if choice == "imagenet" and not imagenet_cached(variant):
                        raise WeightsUnavailable("ImageNet weights are not downloaded yet")
                    try:
                        fx = FeatureExtractor(variant, weights=choice, stem=stem, seed=seed)
                    except RunDamaged as exc:
                        raise WeightsMismatch(str(exc)) from None
                    fx.stem_weights()  # read now, so unusable weights show up here
                    return fx

                fx, reason = with_fallback(load, weights)
                key = (variant, weights if fx.run is not None else fx.weights, stem, seed)
                self._pool.setdefault(key, fx)
                while len(self._pool) > self.keep:
                    self._pool.popitem(last=False)
            self._pool.move_to_end(key)
            return self._pool[key], reason
