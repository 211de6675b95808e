"""A frozen copy of the engine as it was before issue 12 (sim/engine.py, agents.py, routing.py,
streams.py and arrivals.py at commit 4fabae4), kept only as the reference that
tests/test_engine_equivalence.py compares today's engine against, record by record.

Do not edit these files: their worth is that they do not change.
"""
