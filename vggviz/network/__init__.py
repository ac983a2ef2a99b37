"""Keras models and what they compute: the builders (stem, group, learner, classifier),
activations per stage, effective receptive fields, measured costs and training. Imports
TensorFlow.
"""
