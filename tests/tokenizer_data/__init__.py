"""Deterministic tokenizer test data: the corpus generator and the scripts that build tokenizer.json files."""
