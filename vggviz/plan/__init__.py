"""The plan: VGG configurations and stem designs as data, and arithmetic on them.

Parameters, MACs, activation memory and receptive fields, instant for every variant and input
size. Imports neither TensorFlow nor numpy, so a summary of every variant answers at once.
"""
