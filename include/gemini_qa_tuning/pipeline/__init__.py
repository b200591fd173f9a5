"""The application layer: the bodies of the pipeline DAG's tasks, typed, knowing no task ids.

Each step takes typed records (the run's :class:`~gemini_qa_tuning.pipeline.params.PipelineParams` and what
upstream steps returned) and returns one; the DAG file only wires them. A domain error that no retry can
fix becomes ``AirflowFailException`` here, so Airflow does not retry it.
"""
