"""Core of the SEND inspection response engine: pure logic and adapters used by flows/ and tasks/."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
