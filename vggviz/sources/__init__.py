"""What comes in: images (decode, validate, fit), weights (ImageNet registry, file readers,
which weights a view gets, notices), downloads, the built-in data set and training runs.
"""
