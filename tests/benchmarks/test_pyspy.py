"""py-spy's raw samples read into the self-time and inclusive views of a profile."""

from __future__ import annotations

import pytest

from benchmarks.pyspy import failure, summarise

RAW = [
    # 6 samples waiting in the event loop's selector: not busy, left out
    'process 7:"python -m rasa_sdk";<module> (rasa_sdk/__main__.py);'
    "BaseEventLoop.run_forever (asyncio/base_events.py:600);"
    "select (selectors.py:468) 6",
    # 3 samples in the search action's HTTP call, at two lines of the same function
    'process 7:"python -m rasa_sdk";<module> (rasa_sdk/__main__.py);'
    "BaseEventLoop._run_once (asyncio/base_events.py:1922);"
    "SearchProducts.run (actions/discovery.py:40);send (httpx/_client.py:900) 2",
    'process 7:"python -m rasa_sdk";<module> (rasa_sdk/__main__.py);'
    "BaseEventLoop._run_once (asyncio/base_events.py:1922);"
    "SearchProducts.run (actions/discovery.py:41);send (httpx/_client.py:912) 1",
    # 1 sample of a recursive function inside the action, in a worker process whose
    # command line holds a ";", under Sanic's and a native frame
    'process 7:"python -m rasa_sdk";process 8:"python -c from multiprocessing.spawn import '
    'spawn_main; spawn_main(tracker_fd=6)";<module> (<string>);'
    "_serve_http_1 (sanic/server/runners.py:200);connection_task (connection_task);"
    "SearchProducts.run (actions/discovery.py:44);walk (actions/tree.py:3);"
    "walk (actions/tree.py:5) 1",
]


def test_self_time_is_the_running_function_of_busy_samples_with_its_lines_together():
    profile = summarise(RAW)

    assert profile.samples == 4
    assert profile.self_time == [("send (httpx/_client.py)", 0.75),
                                 ("walk (actions/tree.py)", 0.25)]


def test_inclusive_time_counts_each_function_of_ours_once_per_sample():
    profile = summarise(RAW)

    assert profile.inclusive == [("SearchProducts.run (actions/discovery.py)", 1.0),
                                 ("walk (actions/tree.py)", 0.25)]


def test_only_the_top_functions_are_kept():
    profile = summarise(RAW, top=1)

    assert len(profile.self_time) == len(profile.inclusive) == 1


@pytest.mark.parametrize(("stderr", "expected"), [
    ("Error: Permission Denied (os error 13)\n", "needs ptrace"),
    ("Error: Failed to find python version from target process\n",
     "py-spy recorded nothing: Error: Failed to find python version"),
    ("", "exited with status 1 and said nothing"),
])
def test_a_sampler_that_recorded_nothing_says_why(stderr, expected):
    assert expected in failure(stderr, 1)
