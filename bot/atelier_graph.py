"""Rasa 3.6 runs its model's graph (the NLU pipeline for a message, the policies for each
next action: five or more runs a turn) through ``dask.get``, whose scheduler orders the
graph, queues every node and threads callbacks for a graph of a dozen nodes that it runs
one after the other anyway: a twelfth of Rasa's CPU per turn went to dask itself.

:func:`install` makes ``DaskGraphRunner.run`` evaluate the same graph in the same process,
each node once, after the nodes it needs, with the same inputs and the same results;
dask is no longer asked for it.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner, logger


def run(self: DaskGraphRunner, inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None) -> dict[str, Any]:
    """``DaskGraphRunner.run`` of Rasa 3.6.21 without dask: a node is a task
    ``(GraphNode, *names of the nodes and inputs it needs)``, an input a literal ``(name,
    value)``; each node returns ``(its name, its output)``."""
    run_targets = targets if targets else self._graph_schema.target_names
    minimal_schema = self._graph_schema.minimal_graph_schema(run_targets)
    run_graph = self._build_dask_graph(minimal_schema)
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    logger.debug("Running graph with inputs: %s, targets: %s and %s.", inputs, targets,
                 self._execution_context)
    done: dict[str, Any] = {}

    def result(key: str) -> Any:
        if key not in done:
            task = run_graph[key]
            if isinstance(task, tuple) and task and callable(task[0]):
                done[key] = task[0](*(result(need) if need in run_graph else need
                                      for need in task[1:]))
            else:
                done[key] = task
        return done[key]

    try:
        return dict(result(target) for target in run_targets)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def install() -> None:
    DaskGraphRunner.run = run  # type: ignore[method-assign]
