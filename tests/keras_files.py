"""Keras weight files written as the tests and benchmarks need them (no Keras API for it)."""


def write_legacy_h5(model, path):
    """Save `model`'s weights in Keras 2's HDF5 layout, the layout of Keras' ImageNet files."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, value in zip(names, layer.get_weights(), strict=True):
                group.create_dataset(name.decode(), data=value)


def write_legacy_top_h5(convs, path, *, hidden=64, seed=0):
    """A VGG16 file with the classifier, in the layout of Keras' ImageNet top file: the layers
    of `convs` (a VGG16 without the top) then flatten, fc1, fc2 and predictions at their full
    shapes (528 MB of float32 when read), cheap to write and serve: each dense layer is zero
    but for `hidden` units of random weights, and HDF5 stores none of the zero chunks."""
    import h5py
    import numpy as np

    rng = np.random.default_rng(seed)
    dense = {"fc1": (7 * 7 * 512, 4096), "fc2": (4096, 4096), "predictions": (4096, 1000)}
    with h5py.File(path, "w") as f:
        names = [layer.name for layer in convs.layers] + ["flatten", *dense]
        f.attrs["layer_names"] = [name.encode() for name in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        for layer in convs.layers:
            group = f.create_group(layer.name)
            weight_names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = weight_names
            for name, value in zip(weight_names, layer.get_weights(), strict=True):
                group.create_dataset(name.decode(), data=value)
        f.create_group("flatten").attrs["weight_names"] = []
        for name, (rows, cols) in dense.items():
            group = f.create_group(name)
            group.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            kernel = group.create_dataset(f"{name}/kernel:0", (rows, cols), np.float32,
                                          chunks=(min(rows, 1024), hidden), fillvalue=0)
            live = rows if name == "fc1" else hidden  # the units the layer before lets through
            kernel[:live, :hidden] = rng.normal(0, (2 / live) ** 0.5, (live, hidden))
            group.create_dataset(f"{name}/bias:0", data=np.zeros(cols, np.float32))
