import os
from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    rasa_bin = os.environ.get("ATELIER_TEST_RASA_BIN")
    model = os.environ.get("ATELIER_TEST_RASA_MODEL")
    if not rasa_bin or not model or not os.path.exists(model):
        pytest.fail("ATELIER_TEST_RASA_BIN / ATELIER_TEST_RASA_MODEL must name the Rasa "
                    "executable and a trained model: run the suite with 'make test'.",
                    pytrace=False)
    stack = Stack(workdir=tmp_path_factory.mktemp("stack"), rasa_bin=rasa_bin, model=model)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
