"""The command-line shell: parse, call the Client, format. No logic of its own."""
