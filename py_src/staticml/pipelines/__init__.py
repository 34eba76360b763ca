"""`pipeline(task, model)`: look the task up in one table; each task is one short module.

    extractor = await pipeline("feature-extraction", model)
    vectors = await extractor.encode(["a sentence", "another"])   # list of L2-normalised float lists

`model` is a `LoadedModel` (pipelines/loading.py), or natively a path to a Hugging Face or converted
model folder. The API is async on both sides, because in the browser loading and running talk to the GPU.
"""
import importlib

TASKS = {
    "feature-extraction": "staticml.pipelines.feature_extraction:FeatureExtraction",
    "sentence-similarity": "staticml.pipelines.feature_extraction:FeatureExtraction",
}


async def pipeline(task: str, model, **options):
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; staticml has {sorted(TASKS)}")
    module, cls = TASKS[task].split(":")
    return await getattr(importlib.import_module(module), cls).create(model, **options)


__all__ = ["pipeline", "TASKS"]
