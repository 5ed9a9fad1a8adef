"""Benchmark helpers: BD-rate, published anchors, classical baselines, plots.

Kept separate from the codec so that the codec never depends on the optional ``bench`` extra
(imagecodecs, matplotlib, pytorch-msssim). Nothing heavy is imported here: import the submodule
you need (``basic_codec.bench.bdrate``, ``.anchors``, ``.baselines``, ``.metrics``, ``.plots``).
"""
