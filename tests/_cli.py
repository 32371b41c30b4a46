"""Helpers of the command-line tests: exit codes and the one-line error contract."""

from __future__ import annotations


def exit_code(main, argv) -> int:
    """``main(argv)``'s return value, or the code of the ``SystemExit`` it raised."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def one_line_error(capsys) -> str:
    """The captured stderr, asserted to be one line with no traceback and no stdout."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    assert "Traceback" not in captured.err
    return captured.err
