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
