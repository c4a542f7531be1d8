"""``python -m knowledge check``: one line per problem, and the exit code says if any."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.check import main


def test_a_broken_directory_lists_each_problem_and_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    (tmp_path / "a.md").write_text("## Ship?\nYes.\n\n## Returns?\n\n## ship\nAgain.\n",
                                   encoding="utf-8")
    (tmp_path / "b.md").write_text("## Gift wrap?\nAlso asked: wrapping? |  | boxes?\nYes.\n",
                                   encoding="utf-8")
    (tmp_path / "c.md").write_bytes("## Délai ?\nDeux jours.\n".encode("cp1252"))
    (tmp_path / "d.md").write_text("# Notes only\n", encoding="utf-8")
    (tmp_path / "e.md").write_text("## Gift wrap\nAlso.\n## Fine?\nFine.\n", encoding="utf-8")
    # when
    code = main([str(tmp_path)])
    # then
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines() == [
        "a.md:4: empty answer: write the answer under the question 'Returns?'",
        "a.md:6: duplicate question 'ship': already asked at line 1 as 'Ship?'",
        "b.md:2: 'Also asked:' phrasing 2 of 3 is empty; separate phrasings with a single '|'",
        "c.md:1: not valid UTF-8 (byte 0xE9 at column 5); save the file as UTF-8",
        "d.md:1: no entry: an entry starts with a line '## <question>'",
        "e.md:1: duplicate question 'Gift wrap': already answered by b.md:1; "
        "this entry would be left out",
    ]
    assert f"{tmp_path}: 2 entries in 5 file(s), 6 problem(s)" in captured.err


def test_a_good_directory_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.md").write_text("## Ship?\nYes.\n", encoding="utf-8")
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path}: 1 entries in 1 file(s), 0 problem(s)\n"


def test_a_missing_directory_is_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().out == f"{tmp_path / 'nope'}: no such directory\n"


def test_the_directory_defaults_to_the_faq_dir_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from knowledge.config import get_settings

    (tmp_path / "a.md").write_text("## Ship?\n", encoding="utf-8")
    monkeypatch.setenv("ATELIER_FAQ_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main([]) == 1
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().out.startswith("a.md:1: empty answer")
