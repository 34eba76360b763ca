"""Model families, each one short file that records a Plan from `staticml.runtime.ops`.

A model never knows which backend runs it: weights come from a `ModelWeights` (models/weights.py)
made on the backend, and the plan it records is compiled by that backend.
"""
