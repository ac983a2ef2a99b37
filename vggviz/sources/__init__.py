"""What comes in: images (decode, validate, fit), weights (ImageNet registry, file readers,
which weights a view gets, notices) and downloads.
"""
