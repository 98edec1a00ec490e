"""The release version shipped with the app: the contents of app/VERSION."""

from pathlib import Path

VERSION_FILE = Path(__file__).with_name("VERSION")


def read_version_file() -> str:
    """Return the first line of app/VERSION, or "0.0.0" when the file is missing or empty."""
    try:
        lines = VERSION_FILE.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return "0.0.0"
    return lines[0] if lines else "0.0.0"
