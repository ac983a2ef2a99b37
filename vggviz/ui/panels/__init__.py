"""The panels dashboards are made of, each the one owner of its state: the classifier's answer,
the patterns, the worked convolution, the receptive field, costs and measurements, downloads."""
