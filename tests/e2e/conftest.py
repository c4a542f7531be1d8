from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack, trained_rasa


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    rasa_bin, model = trained_rasa()
    stack = Stack(workdir=tmp_path_factory.mktemp("stack"), rasa_bin=rasa_bin, model=model)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
