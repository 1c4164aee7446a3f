"""Benchmarks: each ``bench_*.py`` module has ``run(**sizes) -> list[dict]`` and ``main()``.

``python -m benchmarks`` runs them all and prints one table. Every figure that
matters is a ratio against a baseline measured side by side in the same run.
"""
