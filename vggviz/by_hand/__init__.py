"""The stem and one worked output in numpy, without TensorFlow: the first view of a
dashboard needs no more, and a reader can follow every multiplication.
"""
