#!/usr/bin/env python3
"""Real-time 3-D hand tracking on depth cameras. Run with --help for the options (app/cli.py)."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
