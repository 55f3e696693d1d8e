"""The in-container runner: exactly the files the sandbox image ships.

Stdlib only, and it imports nothing of the host's code but its own modules:
the image copies this folder to /opt/scriptbox/sandbox/runner/ and starts it
as ``python3 -E -s -m sandbox.runner``. The host imports ``protocol`` (the
wire format both sides speak) and ``identity`` (the script's uid) from here.
"""
