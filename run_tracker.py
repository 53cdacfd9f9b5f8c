#!/usr/bin/env python3
"""Real-time 3-D hand tracking on depth cameras. Run with --help for the options (app/cli.py)."""
import sys

if __name__ == "__main__":
    try:
        from app.cli import main
    except KeyboardInterrupt:      # Ctrl-C while the libraries load: exit quietly, like later on
        sys.exit(130)
    sys.exit(main())
