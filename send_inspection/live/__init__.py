"""The live product: the engine wired to Prefect (suspend and resume, deployments, the worker) and the system clock."""
