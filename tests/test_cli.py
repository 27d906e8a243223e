"""The command line, through the installed entry point."""

from pathlib import Path

import pytest

from .conftest import run_cli


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("datasets", "lab", "attacks", "defenses"):
        assert command in proc.stdout


def test_datasets_list_and_show():
    listed = run_cli("datasets", "list")
    assert listed.returncode == 0 and "openml:<name or id>" in listed.stdout
    shown = run_cli("datasets", "show", "digits")
    assert shown.returncode == 0
    assert "1797 x 64" in shown.stdout and "source: scikit-learn" in shown.stdout


def test_datasets_show_file_with_label(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,x\n3,4,z\n5,6,z\n")
    proc = run_cli("datasets", "show", f"file:{path}", "--label", "y")
    assert proc.returncode == 0, proc.stderr
    assert "3 x 2" in proc.stdout


def test_user_errors_are_one_line_exit_2(tmp_path):
    cases = [
        (["datasets", "show", "nope"], "poisonlab: error: unknown dataset 'nope'; known: mnist"),
        (
            ["datasets", "show", f"file:{tmp_path / 'missing.csv'}", "--label", "y"],
            "poisonlab: error: dataset file",
        ),
        (["attacks", "show", "nope"], "poisonlab: error: unknown attack 'nope'; known:"),
        (["lab", "ml106", "--train-size", "many"], "poisonlab: error: --train-size: "),
        (["lab", "nolab"], "poisonlab: error: No such command 'nolab'"),
    ]
    for args, start in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith(start), (args, proc.stderr)
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_attacks_list_and_show():
    listed = run_cli("attacks", "list")
    assert listed.returncode == 0 and "label_flip" in listed.stdout
    shown = run_cli("attacks", "show", "label_flip")
    assert shown.returncode == 0
    assert "budget" in shown.stdout and "kind: label" in shown.stdout
    assert "Source:" in shown.stdout


def test_main_does_not_hide_a_type_error_as_a_user_error(monkeypatch, tmp_path, capsys):
    # A TypeError is a bug, not a user's mistake: status 3 (not 2, not audit's 1), one line that
    # says so and where the whole traceback was written.
    from poisonlab import cli

    def broken(**kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("platformdirs.user_log_dir", lambda name: str(tmp_path / "log"))
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a bug in poisonlab" in err and "TypeError: a bug" in err
    written = Path(err.rsplit(" ", 1)[1].strip())
    assert written.parent == tmp_path / "log"
    assert "Traceback" in written.read_text() and "raise TypeError" in written.read_text()


def test_library_parameter_names_become_option_names(tmp_path):
    (tmp_path / "file").write_text("x")
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'name = "t"\n[dataset]\nname = "digits"\n'
        "split = { train = [0, 100], test = [100, 200] }\n"
        '[[models]]\nname = "svc"\n[[attacks]]\nname = "none"\n'
    )
    proc = run_cli("run", str(spec), "-o", str(tmp_path / "file"), "--no-report")
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"poisonlab: error: --out: {str(tmp_path / 'file')!r} exists and is not a directory.\n"
    )
