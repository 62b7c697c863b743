"""SerialBoardTarget's "copy" delivery without a board: `BoardDirectory` writes a run's files into the
board's filesystem only when their content changed, checked against a fake mpremote transport that
keeps the board's files in a dict."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mpssl_hil.board import serial as board_target
from mpssl_hil.board.directory import RUN_DIRECTORY, S_IFDIR, BoardDirectory
from mpssl_hil.board.serial import Delivery, SerialBoardTarget


class Entry(NamedTuple):
    name: str
    st_mode: int


class FakeBoard:
    """The board side of mpremote's fs_* calls: `files` maps a board path to its content."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.directories: set[str] = {"/"}
        self.writes: list[str] = []
        self.hashed: list[str] = []
        self.chunk_sizes: set[int] = set()
        self.fail_writes_to: str | None = None

    def fs_listdir(self, src: str = "") -> Sequence[Entry]:
        if src not in self.directories:
            raise FileNotFoundError(2, src)
        prefix = src.rstrip("/") + "/"
        names = {path[len(prefix):].split("/")[0] for path in (*self.files, *self.directories)
                 if path.startswith(prefix) and path != prefix}
        return [Entry(name, S_IFDIR if prefix + name in self.directories else 0x8000) for name in sorted(names)]

    def fs_mkdir(self, path: str) -> None:
        if path in self.directories or path in self.files:
            raise FileExistsError(17, path)
        self.directories.add(path)

    def fs_writefile(self, dest: str, data: bytes, chunk_size: int = 256) -> None:
        if dest.rsplit("/", 1)[0] not in self.directories:
            raise FileNotFoundError(2, dest)
        self.chunk_sizes.add(chunk_size)
        self.writes.append(dest)
        if dest == self.fail_writes_to:
            self.files[dest] = data[: len(data) // 2]  # the link broke half-way through
            raise OSError(5, dest)
        self.files[dest] = bytes(data)

    def fs_hashfile(self, path: str, algo: str, chunk_size: int = 256) -> bytes:
        self.hashed.append(path)
        return hashlib.new(algo, self.files[path]).digest()


def run_files(tmp_path: Path, contents: dict[str, str]) -> Path:
    """A host working directory as prepare_workdir leaves it, holding `contents` (name: text)."""
    workdir = tmp_path / "run"
    workdir.mkdir(exist_ok=True)
    for name, text in contents.items():
        (workdir / name).write_text(text)
    return workdir


def at(name: str) -> str:
    return f"{RUN_DIRECTORY}/{name}"


def test_first_sync_creates_the_directory_and_writes_everything(tmp_path: Path) -> None:
    board = FakeBoard()
    workdir = run_files(tmp_path, {"script.py": "print(1)", "test_args.py": "ARGS = {}"})
    written = BoardDirectory(board).sync(workdir)
    assert RUN_DIRECTORY in board.directories
    assert sorted(written) == [at("script.py"), at("test_args.py")]
    assert board.files == {at("script.py"): b"print(1)", at("test_args.py"): b"ARGS = {}"}


def test_unchanged_files_are_not_written_again(tmp_path: Path) -> None:
    board = FakeBoard()
    directory = BoardDirectory(board)
    workdir = run_files(tmp_path, {"script.py": "print(1)", "ca.pem": "CA"})
    directory.sync(workdir)
    board.writes.clear()
    assert directory.sync(workdir) == []
    assert board.writes == []


def test_only_changed_and_new_files_are_written(tmp_path: Path) -> None:
    board = FakeBoard()
    directory = BoardDirectory(board)
    directory.sync(run_files(tmp_path, {"script.py": "print(1)", "ca.pem": "CA"}))
    board.writes.clear()
    written = directory.sync(run_files(tmp_path, {"script.py": "print(2)", "key.pem": "KEY"}))
    assert sorted(written) == [at("key.pem"), at("script.py")]
    assert board.writes == written
    assert board.files[at("script.py")] == b"print(2)" and board.files[at("ca.pem")] == b"CA"


def test_a_run_dir_subdirectory_is_not_written(tmp_path: Path) -> None:
    board = FakeBoard()
    workdir = run_files(tmp_path, {"script.py": "x"})
    (workdir / "__pycache__").mkdir()
    assert BoardDirectory(board).sync(workdir) == [at("script.py")]


def test_files_already_on_the_board_are_hashed_there_once_not_rewritten(tmp_path: Path) -> None:
    """A real board keeps its filesystem between sessions: a new target object checks what is there."""
    board = FakeBoard()
    board.directories.add(RUN_DIRECTORY)
    board.directories.add(at("lib"))
    board.files.update({at("script.py"): b"print(1)", at("ca.pem"): b"an old CA"})
    directory = BoardDirectory(board)
    workdir = run_files(tmp_path, {"script.py": "print(1)", "ca.pem": "CA"})
    assert directory.sync(workdir) == [at("ca.pem")]
    assert sorted(board.hashed) == [at("ca.pem"), at("script.py")]  # not the subdirectory
    board.hashed.clear()
    assert directory.sync(workdir) == []
    assert board.hashed == []  # the board is read once per directory object
    assert directory.known == {at("script.py"): hashlib.sha256(b"print(1)").hexdigest(),
                               at("ca.pem"): hashlib.sha256(b"CA").hexdigest()}


def test_a_fresh_directory_object_does_not_trust_an_earlier_ones_knowledge(tmp_path: Path) -> None:
    board = FakeBoard()
    workdir = run_files(tmp_path, {"script.py": "print(1)"})
    BoardDirectory(board).sync(workdir)
    board.files[at("script.py")] = b"changed behind our back"
    assert BoardDirectory(board).sync(workdir) == [at("script.py")]
    assert board.files[at("script.py")] == b"print(1)"


def test_a_failed_write_leaves_the_file_unknown_so_it_is_written_again(tmp_path: Path) -> None:
    board = FakeBoard()
    directory = BoardDirectory(board)
    workdir = run_files(tmp_path, {"script.py": "print(1)"})
    directory.sync(workdir)
    (workdir / "script.py").write_text("print(2)")
    board.fail_writes_to = at("script.py")
    with pytest.raises(OSError):
        directory.sync(workdir)
    assert board.files[at("script.py")] == b"prin"
    board.fail_writes_to = None
    (workdir / "script.py").write_text("print(1)")  # what the board held before the failed write
    assert directory.sync(workdir) == [at("script.py")]
    assert board.files[at("script.py")] == b"print(1)"


def test_reverting_to_earlier_content_is_written(tmp_path: Path) -> None:
    board = FakeBoard()
    directory = BoardDirectory(board)
    workdir = run_files(tmp_path, {"script.py": "A"})
    directory.sync(workdir)
    (workdir / "script.py").write_text("B")
    directory.sync(workdir)
    (workdir / "script.py").write_text("A")
    assert directory.sync(workdir) == [at("script.py")]
    assert board.files[at("script.py")] == b"A"


def test_files_are_written_in_the_configured_chunks(tmp_path: Path) -> None:
    board = FakeBoard()
    BoardDirectory(board, chunk_size=512).sync(run_files(tmp_path, {"script.py": "x"}))
    assert board.chunk_sizes == {512}


def test_enter_source_makes_the_directory_cwd_and_importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chdir code is MicroPython, but plain enough that CPython runs it the same way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != ""])
    (tmp_path / "board").mkdir()
    exec(BoardDirectory(FakeBoard(), path=str(tmp_path / "board")).enter_source(), {})
    assert Path(os.getcwd()) == tmp_path / "board"
    assert sys.path[0] == ""


class FakeTransport(FakeBoard):
    """Enough of mpremote's SerialTransport for one BoardRun: importing the script "prints" the board's
    copies of the script and test_args.py, so a test sees exactly what the board would run."""

    instances: list[FakeTransport] = []

    def __init__(self, device: str, baudrate: int = 115200) -> None:
        super().__init__()
        self.cwd = "/"
        self.commands: list[str] = []
        self.serial = None
        self.broken_link: Exception | None = None
        FakeTransport.instances.append(self)

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        self.commands.append("soft reset" if soft_reset else "raw repl")
        self.cwd = "/"

    def exec(self, command: str) -> bytes:
        self.commands.append(command)
        if "os.chdir" in command:
            self.cwd = RUN_DIRECTORY
        return b""

    def exec_raw(self, command: str, timeout: float | None = 10, data_consumer: Any = None) -> tuple[bytes, bytes]:
        self.commands.append(command)
        if self.broken_link is not None:
            raise self.broken_link
        module = command.removeprefix("import ")
        if f"{self.cwd}/{module}.py" not in self.files:
            return b"", f"ImportError: no module named '{module}'\r\n".encode()
        data_consumer(self.files[f"{self.cwd}/{module}.py"] + b"\n" + self.files[f"{self.cwd}/test_args.py"])
        return b"", b""

    def mount_local(self, path: str) -> None:
        raise AssertionError("copy mode mounted the host directory")


@pytest.fixture
def fake_transport(monkeypatch: pytest.MonkeyPatch) -> type[FakeTransport]:
    FakeTransport.instances = []
    monkeypatch.setattr(board_target, "open_transport", lambda device, read_timeout=None: FakeTransport(device))
    return FakeTransport


def test_copy_target_runs_the_script_from_the_board_directory(tmp_path: Path,
                                                              fake_transport: type[FakeTransport]) -> None:
    script = tmp_path / "check.py"
    script.write_text("from test_args import ARGS")
    ca = tmp_path / "ca.pem"
    ca.write_text("CA")
    target = SerialBoardTarget("/dev/fake", delivery="copy", workdir_root=tmp_path)
    board = fake_transport.instances[0]
    result = target.run(script, {"n": 1}, files={"ca": ca}).check()
    assert "from test_args import ARGS" in result.stdout
    assert f"'ca': '{RUN_DIRECTORY}/file0_ca.pem'" in result.stdout
    assert board.files[at("file0_ca.pem")] == b"CA"
    assert board.commands[0] == "soft reset" and board.commands[-1] == "import check"
    assert "os.chdir('/mpssl-run')" in board.commands[-2]

    board.writes.clear()
    target.run(script, {"n": 2}, files={"ca": ca}).check()
    assert board.writes == [at("test_args.py")]  # the script and the CA are on the board already


def test_copy_target_reports_a_filesystem_error_as_the_run_failing(tmp_path: Path,
                                                                   fake_transport: type[FakeTransport]) -> None:
    script = tmp_path / "check.py"
    script.write_text("pass")
    target = SerialBoardTarget("/dev/fake", delivery="copy", workdir_root=tmp_path)
    fake_transport.instances[0].fail_writes_to = at("check.py")
    result = target.run(script)
    assert result.returncode == 1
    assert "copying the run's files to /mpssl-run" in result.stderr and "check.py" in result.stderr
    assert not any(command.startswith("import check") for command in fake_transport.instances[0].commands)


@pytest.mark.parametrize("delivery", ["copy", "mount"])
def test_a_link_that_breaks_during_the_run_fails_the_run(tmp_path: Path, fake_transport: type[FakeTransport],
                                                         monkeypatch: pytest.MonkeyPatch, delivery: Delivery) -> None:
    """pyserial raises SerialException (an OSError) when the pty goes away; that is not a clean exit."""
    monkeypatch.setattr(FakeTransport, "mount_local", lambda self, path: None)
    monkeypatch.setattr(FakeTransport, "umount_local", lambda self: None, raising=False)
    script = tmp_path / "check.py"
    script.write_text("pass")
    target = SerialBoardTarget("/dev/fake", delivery=delivery, workdir_root=tmp_path)
    fake_transport.instances[0].broken_link = OSError(5, "write failed: [Errno 5] Input/output error")
    result = target.run(script)
    assert result.returncode == 1
    assert "the run broke off on the host side" in result.stderr and "Input/output error" in result.stderr
    assert "copying" not in result.stderr
