"""Failure risk and remaining useful life.

Owns training, leak-free validation, the model registry, scoring with explanations, drift and
the C-MAPSS evaluation.
"""
