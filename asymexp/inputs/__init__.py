"""Inputs: problem files (small data sets for theory and validation) and the MNIST-family data sets."""
